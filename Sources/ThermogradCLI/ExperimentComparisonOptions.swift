import ArgumentParser
import Curvature
import Datasets
import Experiments
import Foundation
import Linalg
import Optimizers
import Reporting
import Solvers
import Training

/// The comparison's defaults for the molecule GIN (printed in the help next to the image defaults).
private let gnnDefaults = KFACComparisonSettings(model: TrainingConfiguration.ModelKind(rawValue: "gnn")!)

/// Model, schedule, baselines and output of the Adam / K-FAC / TK-FAC comparisons.
struct ComparisonCommandOptions: ParsableArguments {
    @Option(help: "Model: mlp, cnn (its 3137-wide dense factor makes TK-FAC slow to simulate), tiny-cnn (factors ≤ 785 wide), vit (--vit-*; digital K-FAC runs as expand and reduce) or gnn (GIN on the ogbg-molhiv scaffold split; scored by ROC-AUC).")
    var model: TrainingConfiguration.ModelKind = .mlp
    @OptionGroup var shapes: ModelShapeOptions
    @Option(parsing: .upToNextOption, help: "Hidden widths of the MLP.")
    var hidden: [Int] = [128]
    @Option(help: "Mini-batch size.")
    var batch: Int = 128
    @OptionGroup var run: ScheduleOptions<ComparisonSchedule>
    // The comparison's defaults live in `KFACComparisonSettings`; an option the user did not pass keeps them.
    @Option(name: .customLong("adam-lr"), help: "Adam learning rate (default \(KFACComparisonSettings().adamLearningRate)).")
    var adamLR: Double?
    @Option(name: .customLong("kfac-inner"), help: "First-order optimiser inside K-FAC and TK-FAC (default \(KFACComparisonSettings().kfacInner.rawValue); gnn: \(gnnDefaults.kfacInner.rawValue)).")
    var kfacInner: InnerOptimizerArgument?
    @Option(name: .customLong("kfac-lr"), help: "Learning rate of the optimiser inside (T)K-FAC (default \(KFACComparisonSettings().kfacLearningRate); gnn: \(gnnDefaults.kfacLearningRate)).")
    var kfacLR: Double?
    @Option(name: .customLong("kfac-damping"), help: "K-FAC damping λ, π-corrected split (default \(KFACComparisonSettings().kfac.damping); gnn: \(gnnDefaults.kfac.damping)).")
    var kfacDamping: Double?
    @Option(name: .customLong("kfac-inv-interval"), help: "T_inv: steps between inversions / device programmings (default \(KFACComparisonSettings().kfac.inverseUpdateInterval)).")
    var kfacInverseInterval: Int?
    @Option(name: .customLong("kfac-ema"), help: "EMA decay of the factors (default \(KFACComparisonSettings().kfac.factorDecay)).")
    var kfacEMA: Double?
    @Option(name: .customLong("kfac-approximation"),
            help: "Weight sharing over positions or nodes (vit, gnn): expand or reduce, for the TK-FAC arms and the GIN's digital K-FAC; the ViT's digital K-FAC runs both (default \(KFACComparisonSettings().kfac.approximation)).")
    var kfacApproximation: WeightSharingApproximation?
    @Option(help: "Output folder.")
    var out: String?
    @OptionGroup var data: DataDirectoryOption
    /// The data set's display name, for titles.
    var dataName: String { model.builder.input == .images ? data.name : "ogbg-molhiv" }
    @OptionGroup var threading: ThreadsOption<OpenBLASChoosesThreads>

    func comparison() -> KFACComparisonSettings {
        var c = KFACComparisonSettings(model: model)
        c.hidden = hidden
        shapes.apply(vit: &c.vit, gnn: &c.gnn)
        c.batchSize = batch
        if let adamLR { c.adamLearningRate = adamLR }
        if let kfacInner { c.kfacInner = kfacInner.kind }
        if let kfacLR { c.kfacLearningRate = kfacLR }
        if let kfacDamping { c.kfac.damping = kfacDamping }
        if let kfacInverseInterval { c.kfac.inverseUpdateInterval = kfacInverseInterval }
        if let kfacEMA { c.kfac.factorDecay = kfacEMA }
        if let kfacApproximation { c.kfac.approximation = kfacApproximation }
        return c
    }

    func schedule() throws -> ExperimentSchedule { try run.schedule() }

    func validate() throws {
        try shapes.check(model: model)
        _ = try schedule()
        do { try comparison().validate() } catch { throw ValidationError(error.description) }
    }

    /// Loads the data, runs `arms`, writes CSV / SVG / table into the output folder and prints the table.
    /// Returns the results and the caption header every figure carries (command, `header`, threads and load).
    func run(name: String, title: String, header: String, arms: [ExperimentArm],
             columns: [ExperimentColumn]) throws -> (results: ExperimentResults, caption: [String]) {
        threading.apply()
        let folder = out ?? "runs/experiment-\(name)"
        let schedule = try schedule()
        let caption = ["thermograd experiment \(name) · \(dataName)", header,
                       "BLAS threads \(BLASThreads.current), load average \(SystemLoad.oneMinute) at the start"]
        print("thermograd experiment \(name)\n\(header)\nschedule: \(schedule)\nBLAS threads \(BLASThreads.current)\n")
        for arm in arms { print("  \(arm.name): \(arm.settings)") }
        print("")
        var c = TrainingConfiguration()
        c.model = model
        c.gnn = comparison().gnn
        c.dataDirectory = data.directory
        let trainingData: TrainingData
        do { trainingData = try Trainer.loadTrainingData(c) { print($0) } } catch { throw ExperimentError.data(error.description) }
        let runner = ExperimentRunner(data: trainingData, schedule: schedule)
        // Results are rewritten after every finished run, so an interrupted sweep keeps what it finished.
        let results = try runner.run(arms, log: { print($0) }, progress: ProgressLine()) { (partial) throws(ExperimentError) in
            try partial.write(to: folder, name: name, title: title, extraColumns: columns, header: caption)
        }
        let table = try results.write(to: folder, name: name, title: title, extraColumns: columns, header: caption)
        print("\n" + table)
        let files = ["\(name).csv", "\(name).svg"] + results.groupPlotFiles(name: name).map(\.file) + ["\(name)-table.txt"]
        print("wrote \(folder)/" + files.joined(separator: ", "))
        return (results, caption)
    }
}
