import ArgumentParser
import Experiments

/// The schedule defaults of a family of experiments (their one home is the Experiments library).
protocol ScheduleDefaults { static var schedule: ExperimentSchedule { get } }
/// The Adam / K-FAC / TK-FAC comparisons (`KFACComparisonSettings.defaultSchedule`).
enum ComparisonSchedule: ScheduleDefaults { static var schedule: ExperimentSchedule { KFACComparisonSettings.defaultSchedule } }
/// The TNGD experiments (`TNGDExperimentSettings.defaultSchedule`).
enum TNGDSchedule: ScheduleDefaults { static var schedule: ExperimentSchedule { TNGDExperimentSettings.defaultSchedule } }

/// Steps, evaluation cadence, seeds and subsets of an experiment (`ExperimentSchedule`), shared by every
/// experiment command. Every option is optional: one the user did not pass keeps the family's default,
/// shown in `--help`; the ranges are checked by `ExperimentSchedule`.
struct ScheduleOptions<Defaults: ScheduleDefaults>: ParsableArguments {
    @Option(help: defaulted("Training steps per run.", Defaults.schedule.steps ?? 0))
    var steps: Int?
    @Option(name: .customLong("eval-every"), help: defaulted("Evaluate on the test split every N steps.", Defaults.schedule.evaluateEvery))
    var evalEvery: Int?
    @Option(parsing: .upToNextOption, help: defaulted("Seeds (each arm runs once per seed).", Defaults.schedule.seeds.map(String.init).joined(separator: " ")))
    var seeds: [UInt64] = []
    @Option(name: .customLong("train-subset"), help: "Use only N training examples (images: the first N; texts: N spread evenly over the set, every class kept).")
    var trainSubset: Int?
    @Option(name: .customLong("test-subset"), help: defaulted("Use only N test examples, chosen as for --train-subset (0: all).", Defaults.schedule.testSubset ?? 0))
    var testSubset: Int?

    /// The family's schedule with the passed options, validated.
    func schedule() throws -> ExperimentSchedule {
        var s = Defaults.schedule
        if let steps { s.steps = steps }
        if let evalEvery { s.evaluateEvery = evalEvery }
        if !seeds.isEmpty { s.seeds = seeds }
        if let trainSubset { s.trainSubset = trainSubset }
        if let testSubset {
            guard testSubset >= 0 else { throw ValidationError("--test-subset must be 0 (all) or a positive count, got \(testSubset)") }
            s.testSubset = testSubset == 0 ? nil : testSubset
        }
        do { try s.validate() } catch { throw ValidationError(error.description) }
        return s
    }

    func validate() throws { _ = try schedule() }
}
