import Foundation
import Reporting

/// How many steps each optimiser needed to reach a target, measured by runs on this machine, as ratios to a
/// reference optimiser (Adam) of the same runs: what turns per-iteration predictions into time to target
/// (docs/cost-model.md#time-to-target). Each measurement carries the command that made it, the model and
/// target, and the steps per seed, so that a ratio printed with a prediction can be traced and re-measured.
///
/// A ratio is `median over seeds(steps to target) / median over seeds(reference's steps to target)`, where a
/// run's steps to target is the first evaluated step whose test accuracy reaches the target.
public struct StepRatios: Sendable, Equatable, Codable {
    /// One set of runs with a shared reference: the same model, data order and initial weights per seed.
    public struct Measurement: Sendable, Equatable, Codable {
        /// What was trained (model, data, batch, learning rates).
        public var source: String
        /// The command that made the runs.
        public var command: String
        /// Commit, date and load average when the runs were made.
        public var provenance: String
        /// The runs' CSV in the repository (the columns `StepRatios.stepsToTarget(experimentCSV:target:)` reads).
        public var runs: String
        /// The test accuracy (fraction) a run must reach.
        public var targetAccuracy: Double
        /// Steps the runs lasted (a seed that never reached the target needed more than this).
        public var steps: Int
        /// The reference arm (Adam) by its name in the runs.
        public var reference: String
        /// Steps to target per seed by arm name; nil for a seed that did not reach the target.
        public var stepsToTarget: [String: [Int?]]
        /// Which arm stands for each predicted optimiser (`predict`'s names: adam, kfac, tkfac-m1, …).
        public var optimizers: [String: String]

        public init(source: String, command: String, provenance: String, runs: String, targetAccuracy: Double, steps: Int, reference: String,
                    stepsToTarget: [String: [Int?]], optimizers: [String: String]) {
            self.source = source
            self.command = command
            self.provenance = provenance
            self.runs = runs
            self.targetAccuracy = targetAccuracy
            self.steps = steps
            self.reference = reference
            self.stepsToTarget = stepsToTarget
            self.optimizers = optimizers
        }

        /// `median(steps of the optimiser's arm) / median(steps of the reference)`; nil when not measured here
        /// or when a seed of either did not reach the target.
        public func ratio(for optimizer: String) -> Double? {
            guard let arm = optimizers[optimizer], let a = Self.median(stepsToTarget[arm]),
                  let r = Self.median(stepsToTarget[reference]), r > 0 else { return nil }
            return a / r
        }

        /// The median of `values`; nil when empty or when any is nil (a seed that did not reach the target).
        public static func median(_ values: [Int?]?) -> Double? {
            guard let values, !values.isEmpty, values.allSatisfy({ $0 != nil }) else { return nil }
            let s = values.compactMap { $0 }.sorted()
            return s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    public var measurements: [Measurement]

    public init(measurements: [Measurement]) { self.measurements = measurements }

    /// The first measurement that maps `optimizer`, with its ratio (nil ratio: measured but not reached).
    public func ratio(for optimizer: String) -> (ratio: Double?, measurement: Measurement)? {
        guard let m = measurements.first(where: { $0.optimizers[optimizer] != nil }) else { return nil }
        return (m.ratio(for: optimizer), m)
    }

    /// Steps to target per seed for every arm of an experiment CSV (`arm, seed, step, …, test_accuracy`, as
    /// `thermograd experiment …` writes): the first evaluated step whose test accuracy is at least `target`,
    /// nil for a seed that never got there. Rows without a test accuracy are skipped.
    public static func stepsToTarget(experimentCSV text: String, target: Double) throws(PredictionError) -> [String: [Int?]] {
        let (header, rows, _) = CSVWriter.readAppended(text)
        guard let arm = header.firstIndex(of: "arm"), let seed = header.firstIndex(of: "seed"),
              let step = header.firstIndex(of: "step"), let accuracy = header.firstIndex(of: "test_accuracy") else {
            throw .unreadableFile(path: "experiment CSV", detail: "needs the columns arm, seed, step and test_accuracy; found \(header)")
        }
        var seen: [String: Set<UInt64>] = [:]
        var reached: [String: [UInt64: Int]] = [:]
        for row in rows {
            guard let s = UInt64(row[seed]), let k = Int(row[step]), let acc = Double(row[accuracy]), acc.isFinite else { continue }
            let name = row[arm]
            seen[name, default: []].insert(s)
            if acc >= target { reached[name, default: [:]][s] = min(reached[name]?[s] ?? k, k) }
        }
        return Dictionary(uniqueKeysWithValues: seen.map { name, seeds in (name, seeds.sorted().map { reached[name]?[$0] }) })
    }

    /// Reads a step-ratio file (this type as JSON); the error names the path and the problem.
    public static func load(path: String) throws(PredictionError) -> StepRatios {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableFile(path: path, detail: error.localizedDescription)
        }
        do { return try JSONDecoder().decode(StepRatios.self, from: data) } catch {
            throw .unreadableFile(path: path, detail: "not a step-ratio file: \(error)")
        }
    }

    /// The ratios measured for this repository (`Sources/Predictions/step-ratios.json`, shipped with the module).
    public static func bundled() throws(PredictionError) -> StepRatios {
        guard let url = Bundle.module.url(forResource: "step-ratios", withExtension: "json") else {
            throw .unreadableFile(path: "step-ratios.json", detail: "the module's resource is missing; pass --step-ratios FILE")
        }
        return try load(path: url.path)
    }
}

/// Time to target of each optimiser: its predicted seconds per iteration × the steps it needs, the steps being
/// the reference's (`referenceSteps`) × the ratio measured here (docs/cost-model.md#time-to-target).
public struct TimeToTarget: Sendable, Equatable, Codable {
    public var optimizer: String
    public var secondsPerIteration: Double
    /// Steps relative to the reference; nil when not measured (no time is given then).
    public var stepRatio: Double?
    public var steps: Double?
    public var seconds: Double?
    /// Where the ratio comes from (the measurement's source and command), or why there is none.
    public var basis: String

    /// One row per optimiser of `prediction`.
    public static func table(_ prediction: WorkloadPrediction, ratios: StepRatios, referenceSteps: Double) -> [TimeToTarget] {
        prediction.optimizers.map { o in
            guard let found = ratios.ratio(for: o.optimizer) else {
                return TimeToTarget(optimizer: o.optimizer, secondsPerIteration: o.totalSeconds, basis: "not measured here")
            }
            let m = found.measurement
            guard let r = found.ratio else {
                return TimeToTarget(optimizer: o.optimizer, secondsPerIteration: o.totalSeconds,
                                    basis: "did not reach \(m.targetAccuracy) in \(m.steps) steps on every seed (\(m.runs))")
            }
            let steps = r * referenceSteps
            return TimeToTarget(optimizer: o.optimizer, secondsPerIteration: o.totalSeconds, stepRatio: r, steps: steps,
                                seconds: steps * o.totalSeconds,
                                basis: "\(m.optimizers[o.optimizer]!) vs \(m.reference) to test accuracy \(m.targetAccuracy) (\(m.runs))")
        }
    }
}
