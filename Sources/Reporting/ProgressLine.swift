import Foundation

/// A status line on standard error that overwrites itself (`\r`) on a terminal, and prints one line
/// per update otherwise (logs, CI). Updates closer together than `minimumInterval` seconds (on a
/// terminal) or `logInterval` seconds (otherwise, to keep logs short) are dropped, except forced ones,
/// so that a fast loop does not spend its time printing.
public final class ProgressLine {
    public let minimumInterval: Double
    private let isTerminal: Bool
    private var lastPrint: ContinuousClock.Instant?
    private var lastLength = 0
    private let clock = ContinuousClock()

    public init(minimumInterval: Double = 0.5, logInterval: Double = 10) {
        isTerminal = isatty(STDERR_FILENO) != 0
        self.minimumInterval = isTerminal ? minimumInterval : logInterval
    }

    /// Shows `text`; returns whether it was printed.
    @discardableResult
    public func update(_ text: String, force: Bool = false) -> Bool {
        let now = clock.now
        if !force, let last = lastPrint, now - last < .milliseconds(Int(minimumInterval * 1000)) { return false }
        lastPrint = now
        if isTerminal {
            let pad = String(repeating: " ", count: max(0, lastLength - text.count))
            FileHandle.standardError.write(Data(("\r" + text + pad).utf8))
            lastLength = text.count
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
        return true
    }

    /// Ends the line (on a terminal) so that later output starts on a fresh line.
    public func finish() {
        if isTerminal && lastLength > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
        lastLength = 0
    }

    /// A message on its own line (ends the progress line first).
    public func message(_ text: String) {
        finish()
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
