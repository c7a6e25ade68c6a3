import Foundation
import Predictions
import Solvers
import Testing
import ThermoDevice

/// The cost model's readout count, Method 2's reprogramming and time to target (docs/cost-model.md).
@Suite("Readouts, reprogramming, time to target")
struct HonestCostTests {
    let cpu = try! DigitalHardware(name: "test", gemmFLOPS: 1e11, factorizationFLOPS: 2e10, memoryBandwidth: 2e10, source: "test")

    /// One definition: `predict` and TK-FAC's solver derive the same readouts for every order, at the same
    /// spacing, from the same target error (the simulator's spacing is in relaxation times of each factor).
    @Test func predictAndSimulatorReadTheSameSamplingRule() throws {
        let analog = AnalogHardware()
        let tkfac = try ThermodynamicKFACConfiguration()
        let options = try ThermodynamicKFACOptions().configuration()
        #expect(analog.sampleSpacingRelaxationTimes == CovarianceSampling.standard.spacingRelaxationTimes)
        #expect(tkfac.sampleSpacing == .relaxationTimes(CovarianceSampling.standard.spacingRelaxationTimes))
        for n in [2, 10, 129, 785, 3073] {
            let relaxation = 37.0   // any relaxation time: the spacing is one of them in both
            #expect(analog.samples(order: n) == tkfac.samples(order: n, relaxationTime: relaxation), "n = \(n)")
            #expect(options.samples(order: n, relaxationTime: relaxation) == analog.samples(order: n), "n = \(n)")
        }
        // Narrow factors take fewer readouts than wide ones; a fixed count overrides the rule everywhere.
        #expect(analog.samples(order: 10) < analog.samples(order: 785))
        var fixed = analog
        fixed.samples = 700
        #expect(fixed.samples(order: 10) == 700 && fixed.samples(order: 785) == 700)
    }

    /// One definition of Method 2's protocol: `predict` charges the readouts, averaging window and warm-start
    /// burn-in that TK-FAC's solver runs by default, and `--readouts` moves the ADC term in proportion.
    @Test func predictAndSimulatorReadTheSameMethod2Protocol() throws {
        let analog = AnalogHardware()
        let tkfac = try ThermodynamicKFACConfiguration()
        let options = ThermodynamicKFACOptions()
        #expect(analog.method2 == Method2Protocol.standard)
        #expect(tkfac.readoutsPerRightHandSide == analog.method2.readoutsPerRightHandSide)
        #expect(options.readouts == analog.method2.readoutsPerRightHandSide)
        #expect(tkfac.chainsPerRightHandSide == analog.method2.chainsPerRightHandSide)
        #expect(tkfac.analogTime == .relaxationTimes(analog.method2.analogRelaxationTimes))
        #expect(options.analogTime == analog.method2.analogRelaxationTimes)
        #expect(tkfac.warmStartBurnIn == .relaxationTimes(analog.method2.warmStartBurnInRelaxationTimes))
        #expect(tkfac.burnIn == .relaxationTimes(analog.method2.coldBurnInRelaxationTimes))
        #expect(options.warmStartBurnIn == analog.method2.warmStartBurnInRelaxationTimes)

        let n = 300, rhs = 7
        let two = try StepCostModel(digital: cpu, analog: analog).solveTerms(order: n, rightHandSides: rhs)
        var eight = analog
        eight.method2.readoutsPerRightHandSide = 8
        let terms8 = try StepCostModel(digital: cpu, analog: eight).solveTerms(order: n, rightHandSides: rhs)
        #expect(two.adc == Double(rhs * 2 * n * analog.outputBits) / analog.transferRate)
        #expect(abs(terms8.adc / two.adc - 4) < 1e-12)
        #expect(terms8.sample == two.sample && terms8.equilibrate == two.equilibrate)   // same window, same burn-in
        // An odd count is read as the simulator reads it: rounded up to a multiple of the 2 chains.
        var three = analog
        three.method2.readoutsPerRightHandSide = 3
        #expect(three.method2.convertedReadoutsPerRightHandSide == 4)
        var zero = analog
        zero.method2.readoutsPerRightHandSide = 0
        #expect(throws: PredictionError.self) { try zero.validate() }
    }

    /// Method 2 keeps its factors programmed between refreshes while every factor has a device; with one factor
    /// more than devices every factor is reprogrammed every step: the programming term grows by `T_inv`.
    @Test func method2ReprogramsEveryStepWhenFactorsOutnumberDevices() throws {
        let w = Workload.vitS16   // 1 + 4·12 + 1 = 50 layers, 100 factors
        let factors = w.layers.reduce(0) { $0 + 2 * $1.count }
        #expect(factors == 100)
        func programming(devices: Int) throws -> (seconds: Double, notes: [String]) {
            var analog = AnalogHardware()
            analog.devices = devices
            let m2 = try StepCostModel(digital: cpu, analog: analog).predict(w).optimizer("tkfac-m2")!
            return (m2.seconds("device programming"), m2.notes)
        }
        let resident = try programming(devices: factors), swapped = try programming(devices: factors - 1)
        let tInv = Double(KFACSchedule().inverseInterval)
        // Resident: all factors' programming / (T_inv · 100 devices); swapped: / 99 devices every step.
        let expected = tInv * Double(factors) / Double(factors - 1)
        #expect(abs(swapped.seconds / resident.seconds - expected) < 1e-9 * expected, "\(swapped.seconds / resident.seconds)")
        #expect(swapped.notes.joined().contains("reprogrammed every step"))
        #expect(try programming(devices: 64).notes.joined().contains("100 factors on 64 devices"))
    }

    static let csv = """
    arm,seed,step,wall_seconds,train_loss,train_accuracy,test_loss,test_accuracy
    Adam,1,10,0,0,0,0,0.70
    Adam,1,20,0,0,0,0,0.81
    Adam,1,30,0,0,0,0,0.79
    Adam,2,10,0,0,0,0,0.75
    Adam,2,20,0,0,0,0,0.78
    Adam,2,30,0,0,0,0,0.80
    K-FAC,1,10,0,0,0,0,0.80
    K-FAC,2,10,0,0,0,0,0.78
    K-FAC,2,20,0,0,0,0,0.82
    Slow,1,30,0,0,0,0,0.50
    Slow,2,30,0,0,0,0,0.90

    """

    @Test func stepsToTargetAreFirstCrossingsPerSeed() throws {
        let steps = try StepRatios.stepsToTarget(experimentCSV: Self.csv, target: 0.8)
        #expect(steps["Adam"] == [20, 30])
        #expect(steps["K-FAC"] == [10, 20])
        #expect(steps["Slow"] == [nil, 30])
        let m = StepRatios.Measurement(source: "test", command: "none", provenance: "test", runs: "none", targetAccuracy: 0.8, steps: 30,
                                       reference: "Adam", stepsToTarget: steps,
                                       optimizers: ["adam": "Adam", "kfac": "K-FAC", "tkfac-m1": "Slow"])
        #expect(m.ratio(for: "adam") == 1)
        #expect(m.ratio(for: "kfac") == 15.0 / 25.0)
        #expect(m.ratio(for: "tkfac-m1") == nil, "a seed that never reached the target gives no ratio")
        #expect(m.ratio(for: "tngd") == nil)
        #expect(throws: PredictionError.self) { try StepRatios.stepsToTarget(experimentCSV: "a,b\n1,2\n", target: 0.8) }

        // Time to target = per-iteration × reference steps × ratio; unmeasured optimisers get no time.
        let p = try StepCostModel(digital: cpu).predict(.mlp)
        let rows = TimeToTarget.table(p, ratios: StepRatios(measurements: [m]), referenceSteps: 1000)
        let kfac = rows.first { $0.optimizer == "kfac" }!
        #expect(abs(kfac.seconds! - p.optimizer("kfac")!.totalSeconds * 600) < 1e-12 * kfac.seconds!)
        #expect(rows.first { $0.optimizer == "tngd" }!.seconds == nil)
        #expect(rows.first { $0.optimizer == "tkfac-m1" }!.basis.contains("did not reach"))
    }

    /// The ratios shipped with the repository load, name their source and command, and give Adam 1.
    @Test func bundledRatiosCarryTheirProvenance() throws {
        let ratios = try StepRatios.bundled()
        #expect(!ratios.measurements.isEmpty)
        for m in ratios.measurements {
            #expect(!m.source.isEmpty && m.command.hasPrefix("thermograd ") && !m.provenance.isEmpty)
            #expect(m.stepsToTarget[m.reference] != nil, "the reference \(m.reference) was measured")
            for (optimizer, arm) in m.optimizers { #expect(m.stepsToTarget[arm] != nil, "\(optimizer) → \(arm) has runs") }
        }
        #expect(ratios.ratio(for: "adam")?.ratio == 1)
        #expect(ratios.ratio(for: "kfac")?.ratio != nil)
    }

    /// The shipped steps are what the rule gives on the runs' CSV (kept as a fixture): the data, not a transcription.
    @Test func bundledStepsFollowFromTheirRuns() throws {
        let ratios = try StepRatios.bundled()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var checked = 0
        for m in ratios.measurements {
            let name = m.runs
            let text = try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)
            let steps = try StepRatios.stepsToTarget(experimentCSV: text, target: m.targetAccuracy)
            for (arm, recorded) in m.stepsToTarget { #expect(steps[arm] == recorded, "\(name) \(arm)") }
            checked += 1
        }
        #expect(checked == ratios.measurements.count)
    }
}
