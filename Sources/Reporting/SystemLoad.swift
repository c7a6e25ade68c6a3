import Foundation

/// The machine's load, stated with measured runs: wall times (not accuracies) depend on it on a shared machine.
public enum SystemLoad {
    /// The 1-minute load average as text (first field of `/proc/loadavg`), or "unknown" where that file is absent.
    public static var oneMinute: String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "unknown"
    }
}
