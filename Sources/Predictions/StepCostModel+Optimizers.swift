extension StepCostModel {
    /// Predictions for every optimiser on `workload`, plus the per-layer curvature comparison.
    public func predict(_ w: Workload) throws(PredictionError) -> WorkloadPrediction {
        try w.validate()
        if let big = w.layers.first(where: { max($0.inputFactorOrder, $0.outputs) > analog.deviceSize }) {
            throw .invalidParameter(name: "deviceSize", value: "\(analog.deviceSize)",
                                    requirement: "layer '\(big.name)' has a factor of order \(max(big.inputFactorOrder, big.outputs)); "
                                        + "raise --device-size (tiling a factor over several devices is not modelled)")
        }
        let grad = gradientSeconds(w)
        let adamUpdate = adamUpdateSeconds(w)
        let p = Double(w.parameterCount)
        let tCov = Double(schedule.factorInterval), tInv = Double(schedule.inverseInterval)

        var build = 0.0, ema = 0.0, fisher = 0.0, invert = 0.0, precondition = 0.0, factorScalars = 0.0
        var m1 = DeviceTerms(), programAll = DeviceTerms(), m2Solve = DeviceTerms()
        var covarianceFLOPs = 0.0, factorCount = 0, rhsCount = 0
        var layers: [LayerPrediction] = []
        var layerFactors: [(DeviceTerms, DeviceTerms, DeviceTerms, Double, LayerFactorWork, WorkloadLayer)] = []
        for l in w.layers {
            let f = factorWork(l, batch: w.batch)
            let c = Double(l.count)
            let rows = schedule.approximation == .expand ? w.batch * l.positions : w.batch
            build += c * f.buildFLOPs / tCov
            ema += c * f.emaBytes / tCov
            fisher += c * f.trueFisherFLOPs / tCov
            invert += c * f.inversionFLOPs / tInv
            precondition += c * f.preconditionFLOPs
            factorScalars += c * 2 * f.factorOrders.reduce(0.0) { $0 + Double($1) * Double($1) }
            var layerM1 = DeviceTerms(), layerProgram = DeviceTerms()
            var layerCov = 0.0
            for n in f.factorOrders {
                layerM1 = layerM1 + inversionTerms(order: n, rows: rows)
                layerProgram = layerProgram + programTerms(order: n, rows: rows)
                layerCov += Double(analog.samples(order: n)) * Double(n) * Double(n)
            }
            // Method 2: (G + λ_G I) X = ∇W has n_A right-hand sides of order n_G; (A + λ_A I) Uᵀ = Xᵀ has n_G of order n_A.
            let layerSolve = solveTerms(order: l.outputs, rightHandSides: l.inputFactorOrder)
                + solveTerms(order: l.inputFactorOrder, rightHandSides: l.outputs)
            m1 = m1 + layerM1.scaled(c / tInv)
            programAll = programAll + layerProgram.scaled(c)
            m2Solve = m2Solve + layerSolve.scaled(c)
            covarianceFLOPs += c * layerCov / tInv
            factorCount += l.count * 2
            rhsCount += l.count * (l.inputFactorOrder + l.outputs)
            layerFactors.append((layerProgram, layerM1, layerSolve, layerCov, f, l))
        }
        // Method 2 needs every factor resident on a device when its solves run. With at most one factor per device
        // they stay programmed between refreshes; with more factors than devices (ViT-S/16: 100 on 64) the devices
        // are reprogrammed with every factor at every step.
        let reprogramEveryStep = factorCount > analog.devices
        let m2ProgramInterval = reprogramEveryStep ? 1 : tInv
        for (layerProgram, layerM1, layerSolve, layerCov, f, l) in layerFactors {
            let digitalShared = gemmSeconds((f.buildFLOPs + f.trueFisherFLOPs) / tCov) + f.emaBytes / tCov / digital.memoryBandwidth
            layers.append(LayerPrediction(
                layer: l.name, count: l.count,
                kfacSeconds: digitalShared + f.inversionFLOPs / tInv / digital.factorizationFLOPS + gemmSeconds(f.preconditionFLOPs),
                tkfacMethod1Seconds: digitalShared + layerM1.sum / tInv / Double(min(analog.devices, 2))
                    + gemmSeconds(layerCov / tInv + f.preconditionFLOPs),
                tkfacMethod2Seconds: digitalShared + layerProgram.sum / m2ProgramInterval / Double(min(analog.devices, 2))
                    + layerSolve.sum / Double(max(1, min(analog.devices, l.inputFactorOrder + l.outputs)))))
        }
        // Devices work in parallel: Method 1 spreads factors, Method 2 right-hand sides.
        let m1Parallel = Double(min(analog.devices, factorCount))
        let m2Parallel = Double(min(analog.devices, rhsCount))
        let raw = schedule.feed == .raw
        let sharedKFAC: [CostTerm] = [
            CostTerm(name: "gradient (forward + backward)", side: .digital, seconds: grad),
            CostTerm(name: "true-Fisher backward", side: .digital, seconds: gemmSeconds(fisher)),
        ]
        let factorTerms: [CostTerm] = [
            CostTerm(name: "factor construction", side: .digital, seconds: gemmSeconds(build)),
            CostTerm(name: "factor EMA", side: .digital, seconds: ema / digital.memoryBandwidth),
        ]
        let firstOrder = CostTerm(name: "first-order update (Adam)", side: .digital, seconds: adamUpdate)
        let adamMemory = 3 * p * bytesPerScalar

        var out: [OptimizerPrediction] = []
        out.append(OptimizerPrediction(optimizer: "adam", terms: [sharedKFAC[0], firstOrder], memoryBytes: adamMemory))
        out.append(OptimizerPrediction(
            optimizer: "kfac",
            terms: sharedKFAC + factorTerms + [
                CostTerm(name: "inversion (Cholesky)", side: .digital, seconds: invert / digital.factorizationFLOPS),
                CostTerm(name: "preconditioning", side: .digital, seconds: gemmSeconds(precondition)), firstOrder],
            memoryBytes: adamMemory + factorScalars * bytesPerScalar))
        out.append(OptimizerPrediction(
            optimizer: "tkfac-m1",
            terms: sharedKFAC + (raw ? [] : factorTerms)
                + deviceCostTerms(m1.scaled(1 / m1Parallel), prefix: "device")
                + [CostTerm(name: "covariance estimate", side: .digital, seconds: gemmSeconds(covarianceFLOPs)),
                   CostTerm(name: "preconditioning", side: .digital, seconds: gemmSeconds(precondition)), firstOrder],
            memoryBytes: adamMemory + factorScalars * bytesPerScalar,
            notes: ["\(factorCount) factors over \(Int(m1Parallel)) devices, refreshed every \(schedule.inverseInterval) steps; "
                    + "readouts per factor \(analog.samples.map(String.init) ?? "N = ⌈(n+1)/ε²·(1+ρ)/(1−ρ)⌉, ε = \(analog.targetRelativeError)")"]))
        out.append(OptimizerPrediction(
            optimizer: "tkfac-m2",
            terms: sharedKFAC + (raw ? [] : factorTerms)
                + deviceCostTerms(programAll.scaled(1 / m2ProgramInterval / m1Parallel) + m2Solve.scaled(1 / m2Parallel), prefix: "device")
                + [firstOrder],
            memoryBytes: adamMemory + factorScalars / 2 * bytesPerScalar,
            notes: ["\(rhsCount) right-hand sides per step over \(Int(m2Parallel)) devices, "
                    + (reprogramEveryStep
                       ? "\(factorCount) factors on \(analog.devices) devices: every factor reprogrammed every step"
                       : "factors reprogrammed every \(schedule.inverseInterval) steps")]))

        // Whole-model natural gradient (docs/tngd.md#digital-baselines), N = parameters, b·d_z = batch outputs.
        let bdz = Double(w.batch * w.outputDimension)
        // d_z backward passes over the batch, each ≈ 2× the forward FLOPs.
        let jacobian = gemmSeconds(Double(w.outputDimension) * 2 * forwardFLOPs(w))
        out.append(OptimizerPrediction(
            optimizer: "ngd-exact",
            terms: [sharedKFAC[0], CostTerm(name: "Jacobian (d_z backward passes)", side: .digital, seconds: jacobian),
                    CostTerm(name: "GGN JᵀHJ", side: .digital, seconds: gemmSeconds(2 * bdz * p * p)),
                    CostTerm(name: "dense solve", side: .digital, seconds: p * p * p / 3 / digital.factorizationFLOPS)],
            memoryBytes: p * p * bytesPerScalar))
        out.append(OptimizerPrediction(
            optimizer: "ngd-cg",
            terms: [sharedKFAC[0], CostTerm(name: "GGN-vector products", side: .digital,
                                            seconds: gemmSeconds(Double(schedule.cgIterations) * 3 * forwardFLOPs(w)))],
            memoryBytes: 4 * p * bytesPerScalar))
        out.append(OptimizerPrediction(
            optimizer: "ngd-woodbury",
            terms: [sharedKFAC[0], CostTerm(name: "Jacobian (d_z backward passes)", side: .digital, seconds: jacobian),
                    CostTerm(name: "Woodbury products", side: .digital, seconds: gemmSeconds(2 * bdz * bdz * p)),
                    CostTerm(name: "Woodbury solve", side: .digital, seconds: bdz * bdz * bdz / 3 / digital.factorizationFLOPS)],
            memoryBytes: (bdz * p + bdz * bdz) * bytesPerScalar))
        let resistors = bdz * (bdz + 2 * p)
        out.append(OptimizerPrediction(
            optimizer: "tngd",
            terms: [sharedKFAC[0], CostTerm(name: "Jacobian (d_z backward passes)", side: .digital, seconds: jacobian),
                    CostTerm(name: "device DAC transfer", side: .transfer, seconds: resistors * Double(analog.inputBits) / analog.transferRate),
                    CostTerm(name: "device programming", side: .analog,
                             seconds: resistors * analog.programmingTimePerCoupling / Double(analog.parallelRows) / Double(analog.devices)),
                    CostTerm(name: "device analog time", side: .analog, seconds: schedule.tngdAnalogTime * analog.tau),
                    CostTerm(name: "device ADC readout", side: .transfer, seconds: p * Double(analog.outputBits) / analog.transferRate)],
            memoryBytes: (bdz * p + bdz * bdz) * bytesPerScalar,
            notes: ["\(formatEngineering(resistors))resistors (b·d_z·(b·d_z + 2N))"]))
        return WorkloadPrediction(workload: w, digital: digital, analog: analog, schedule: schedule,
                                  optimizers: out, layers: layers)
    }
}

/// Everything predicted for one workload, with the assumptions it rests on.
public struct WorkloadPrediction: Sendable, Codable {
    public var workload: Workload
    public var digital: DigitalHardware
    public var analog: AnalogHardware
    public var schedule: KFACSchedule
    public var optimizers: [OptimizerPrediction]
    public var layers: [LayerPrediction]

    public func optimizer(_ name: String) -> OptimizerPrediction? { optimizers.first { $0.optimizer == name } }

    /// `time(reference) / time(candidate)`: above 1 means the candidate is faster.
    public func speedup(of candidate: String, over reference: String) -> Double {
        guard let c = optimizer(candidate), let r = optimizer(reference), c.totalSeconds > 0 else { return .nan }
        return r.totalSeconds / c.totalSeconds
    }
}
