import Foundation
import Predictions
import Testing

/// The cost model's terms scale as docs/cost-model.md#analog-side states; exponents are checked by fitting two
/// sizes: `log(t₂/t₁) / log(n₂/n₁)`.
@Suite("Step cost model")
struct StepCostModelTests {
    let cpu = try! DigitalHardware(name: "test", gemmFLOPS: 1e11, factorizationFLOPS: 2e10, memoryBandwidth: 2e10, source: "test")

    func exponent(_ t1: Double, _ t2: Double, _ x1: Double, _ x2: Double) -> Double { Foundation.log(t2 / t1) / Foundation.log(x2 / x1) }

    func predict(width: Int, batch: Int = 32, kappa: Double = 100, model: StepCostModel? = nil) throws -> WorkloadPrediction {
        var analog = AnalogHardware()
        analog.conditionNumber = kappa
        let m = try model ?? StepCostModel(digital: cpu, analog: analog)
        return try m.predict(Workload.transformerBlock(width: width, tokens: 64, batch: batch))
    }

    @Test func termsScaleWithWidthAsStated() throws {
        let (n1, n2) = (1024.0, 4096.0)
        let a = try predict(width: Int(n1)), b = try predict(width: Int(n2))
        func fit(_ opt: String, _ term: String) -> Double {
            exponent(a.optimizer(opt)!.seconds(term), b.optimizer(opt)!.seconds(term), n1, n2)
        }
        // Digital inversion O(n³); gradient and factor construction O(m n²); preconditioning O(n³).
        #expect(abs(fit("kfac", "inversion (Cholesky)") - 3) < 0.01)
        #expect(abs(fit("kfac", "gradient (forward + backward)") - 2) < 0.1) // attention adds an O(n) part
        #expect(abs(fit("kfac", "factor construction") - 2) < 0.01)
        #expect(abs(fit("kfac", "preconditioning") - 3) < 0.01)
        // Device: programming and DAC transfer O(n²), equilibration O(1) in n; readouts N ∝ n + 1 for a fixed target
        // error, so sampling is O(n) and the ADC readout of N vectors of n values O(n²).
        #expect(abs(fit("tkfac-m1", "device DAC transfer") - 2) < 0.01)
        #expect(abs(fit("tkfac-m1", "device programming") - 2) < 0.01)
        #expect(abs(fit("tkfac-m1", "device ADC readout") - 2) < 0.01)
        #expect(abs(fit("tkfac-m1", "device sampling") - 1) < 0.01)
        #expect(abs(fit("tkfac-m1", "device equilibration")) < 0.01)
        // A fixed count instead: sampling O(1) and readout O(n).
        var fixed = AnalogHardware()
        fixed.samples = 1000
        let model = try StepCostModel(digital: cpu, analog: fixed)
        let c = try predict(width: Int(n1), model: model), d = try predict(width: Int(n2), model: model)
        let readout = exponent(c.optimizer("tkfac-m1")!.seconds("device ADC readout"), d.optimizer("tkfac-m1")!.seconds("device ADC readout"), n1, n2)
        #expect(abs(readout - 1) < 0.01)
        // Method 2 solves: n right-hand sides of order n each → O(n²) transfer, O(n) analog time
        // (until the RHS outnumber the devices, then O(n) per device group).
        #expect(abs(fit("tkfac-m2", "device ADC readout") - 2) < 0.05)
    }

    @Test func deviceTermsScaleWithConditionNumber() throws {
        let a = try predict(width: 512, kappa: 10), b = try predict(width: 512, kappa: 1000)
        for term in ["device equilibration", "device sampling"] {
            let e = exponent(a.optimizer("tkfac-m1")!.seconds(term), b.optimizer("tkfac-m1")!.seconds(term), 10, 1000)
            #expect(abs(e - 1) < 1e-9, "\(term) ∝ κ")
        }
        #expect(a.optimizer("kfac")!.totalSeconds == b.optimizer("kfac")!.totalSeconds, "digital K-FAC does not see κ")
    }

    @Test func gradientScalesWithBatch() throws {
        let a = try predict(width: 512, batch: 16), b = try predict(width: 512, batch: 64)
        let e = exponent(a.optimizer("adam")!.seconds("gradient (forward + backward)"),
                         b.optimizer("adam")!.seconds("gradient (forward + backward)"), 16, 64)
        #expect(abs(e - 1) < 1e-9)
    }

    @Test func tkfacAdvantageGrowsWithWidth() throws {
        // The papers' claim in this model: TK-FAC's advantage over K-FAC grows with n.
        let widths = [512, 1024, 2048, 4096, 8192]
        let speedups = try widths.map { try predict(width: $0).speedup(of: "tkfac-m1", over: "kfac") }
        #expect(zip(speedups, speedups.dropFirst()).allSatisfy { $0 < $1 }, "\(speedups)")
    }

    @Test func builtinWorkloadsAndPresetsLoad() throws {
        for name in ["mlp", "cnn", "vit-s16", "ogbg-gnn", "transformer-1024"] {
            let w = try Workload.builtin(name)
            try w.validate()
            let p = try StepCostModel(digital: .a100).predict(w)
            #expect(p.optimizers.allSatisfy { $0.totalSeconds > 0 && $0.totalSeconds.isFinite })
        }
        // ViT-S/16 has ≈ 22 M parameters and ≈ 9.2 GFLOPs per forward example (4.6 GMACs).
        #expect(abs(Double(Workload.vitS16.parameterCount) - 22.0e6) / 22.0e6 < 0.05)
        #expect(Workload.mlp.parameterCount == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10)
        // The CNN's parameters as `Models.smallConvolutional` builds them (conv weights 3·3·c_in·c_out + biases).
        #expect(Workload.cnn.parameterCount == (9 * 32 + 32) + (288 * 64 + 64) + (3136 * 128 + 128) + (128 * 10 + 10))
        #expect(DigitalHardware.h100.gemmFLOPS > DigitalHardware.a100.gemmFLOPS)
        #expect(throws: PredictionError.self) { try Workload.builtin("resnet") }
    }

    @Test func badWorkloadFilesGiveClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("thermograd-pred-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.json")
        try #"{"name": "w", "batch": 8, "outputDimension": 10, "layers": [{"name": "fc", "inputs": 0, "outputs": 4}]}"#
            .write(to: bad, atomically: true, encoding: .utf8)
        #expect(throws: PredictionError.invalidWorkload(name: "w", detail: "layer 0 'fc': inputs must be at least 1, got 0")) {
            try Workload.load(path: bad.path)
        }
        let garbage = dir.appendingPathComponent("garbage.json")
        try "not json".write(to: garbage, atomically: true, encoding: .utf8)
        #expect(throws: PredictionError.self) { try Workload.load(path: garbage.path) }
        #expect(throws: PredictionError.self) { try Workload.load(path: dir.appendingPathComponent("missing.json").path) }
        let good = dir.appendingPathComponent("good.json")
        try #"{"name": "g", "batch": 8, "outputDimension": 10, "layers": [{"name": "fc", "inputs": 3, "outputs": 4, "count": 2}]}"#
            .write(to: good, atomically: true, encoding: .utf8)
        let w = try Workload.load(path: good.path)
        #expect(w.parameterCount == 2 * (3 * 4 + 4))
    }

    @Test func invalidHardwareParametersAreRejected() {
        var analog = AnalogHardware()
        analog.samples = 1
        #expect(throws: PredictionError.self) { try StepCostModel(digital: .a100, analog: analog) }
        #expect(throws: PredictionError.self) {
            try DigitalHardware(name: "x", gemmFLOPS: 0, factorizationFLOPS: 1, memoryBandwidth: 1, source: "")
        }
        var small = AnalogHardware()
        small.deviceSize = 100
        #expect(throws: PredictionError.self) { try StepCostModel(digital: .a100, analog: small).predict(.mlp) }
    }
}

@Suite("Shared-weight approximation")
struct SharedWeightApproximationTests {
    @Test func reduceBuildsFactorsFromBatchRowsOnly() throws {
        let cpu = try DigitalHardware(name: "t", gemmFLOPS: 1e11, factorizationFLOPS: 1e10, memoryBandwidth: 1e10, source: "t")
        var expand = KFACSchedule(), reduce = KFACSchedule()
        expand.approximation = .expand
        reduce.approximation = .reduce
        let w = Workload.transformerBlock(width: 256, tokens: 128, batch: 8)
        let e = try StepCostModel(digital: cpu, schedule: expand).predict(w).optimizer("kfac")!.seconds("factor construction")
        let r = try StepCostModel(digital: cpu, schedule: reduce).predict(w).optimizer("kfac")!.seconds("factor construction")
        // Expand: m·n² with m = b·positions; reduce: b·n² + m·n. Ratio ≈ positions for n ≫ positions.
        #expect(e / r > 50 && e / r < 128, "expand/reduce = \(e / r)")
        // Without shared positions the two coincide up to the averaging adds.
        let mlp = Workload.mlp
        let e1 = try StepCostModel(digital: cpu, schedule: expand).predict(mlp).optimizer("kfac")!.seconds("factor construction")
        let r1 = try StepCostModel(digital: cpu, schedule: reduce).predict(mlp).optimizer("kfac")!.seconds("factor construction")
        #expect(abs(r1 / e1 - 1) < 0.01)
    }
}
