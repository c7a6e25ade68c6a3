import Foundation

/// The machine's load, stated with measured runs: wall times (not accuracies) depend on it on a shared machine.
public enum SystemLoad {
    /// The 1-minute load average as text (first field of `/proc/loadavg`), or "unknown" where that file is absent.
    public static var oneMinute: String { oneMinuteValue.map { String($0) } ?? "unknown" }

    /// The 1-minute load average as a number (JSON reports), nil where `/proc/loadavg` cannot be read.
    public static var oneMinuteValue: Double? {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).flatMap { Double($0.split(separator: " ").first ?? "") }
    }
}
