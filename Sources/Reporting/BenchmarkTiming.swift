import Foundation

/// Timing for benchmarks: repeated runs, median and spread. The machines are noisy, so every
/// figure Thermograd reports is a median over repeats, never a single run.
public enum BenchmarkTiming {
    /// Seconds taken by `body`, measured with the monotonic clock.
    @inlinable
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        let d = clock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Runs `body` once to warm up, then at least `minimumRepeats` times and until `minimumSeconds`
    /// of measured time have passed (at most `maximumRepeats`). Returns the per-run times.
    public static func repeatedSeconds(minimumRepeats: Int = 5, maximumRepeats: Int = 1000,
                                       minimumSeconds: Double = 0.5,
                                       _ body: () throws -> Void) rethrows -> [Double] {
        try body()
        var times: [Double] = []
        var total = 0.0
        while times.count < minimumRepeats || (total < minimumSeconds && times.count < maximumRepeats) {
            let t = try seconds(body)
            times.append(t)
            total += t
        }
        return times
    }

    /// The median (the mean of the two middle values for an even count); 0 for no values.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : 0.5 * (s[m - 1] + s[m])
    }

    /// Median absolute deviation from the median, a spread measure robust to outliers.
    public static func medianAbsoluteDeviation(_ values: [Double]) -> Double {
        let m = median(values)
        return median(values.map { abs($0 - m) })
    }
}

/// Writes an `Encodable` benchmark report as pretty, key-sorted JSON on standard output.
public enum JSONReport {
    public static func string<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf",
                                                                      negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func print<T: Encodable>(_ value: T) throws {
        Swift.print(try string(value))
    }
}
