import CVectorMath
import Linalg

/// The settings a sampling call actually used (printed with its result).
public struct SamplingSettings: Sendable, Equatable, Codable {
    /// Burn-in before the first readout, in τ.
    public var burnIn: Double
    /// Analog time between readouts, in τ.
    public var sampleInterval: Double
    /// Integrator step actually used, in τ (`sampleInterval / stepsPerSample`, at most δt).
    public var step: Double
    /// Integrator steps per readout.
    public var stepsPerSample: Int
    /// Chains per right-hand side (independent trajectory segments).
    public var chains: Int
    /// Readouts per chain.
    public var readoutsPerChain: Int
}

/// When an auto-ranged ADC (`outputConverter.range == nil`) of a solve sets its full scale `2·max|x|`
/// (docs/device.md#adc-calibration). Both see the state of every chain of the call; they differ in which state.
public enum ADCCalibration: String, Sendable, Equatable, Codable, CaseIterable {
    /// An extra conversion of the state at the end of burn-in sets the range (not used for the mean and not
    /// charged as a readout). The protocol of every solve before `firstReadout` existed.
    case endOfBurnIn = "burn-in"
    /// The first readout sets the range before it is converted (a peak detector ahead of the ADC): no extra
    /// conversion, so a simulated eigenbasis solve rotates `R` readouts per chain instead of `R + 1`.
    case firstReadout = "first-readout"
}

/// `A⁻¹b` estimated by the device: the mean of ADC readouts of the state after burn-in.
public struct SolveResult<Scalar: BLASScalar>: Sendable {
    /// The estimate `x̂ ≈ A⁻¹b` (unscaled to the caller's units).
    public let solution: [Scalar]
    /// One standard error per coordinate, from the spread of the independent chains' means
    /// (`sd / sqrt(chains)`); it includes noise and ADC effects but not the systematic error of
    /// quantisation or mismatch (that is what ensembles of devices are for).
    public let standardError: [Scalar]
    /// `‖standardError‖ / ‖x̂‖`: the relative statistical error bar.
    public let relativeErrorBar: Double
    /// Modelled device time and energy, and simulator wall time.
    public let cost: DeviceCost
    public let settings: SamplingSettings
}

/// Many `A⁻¹b_k` (the columns of `B`) from one programmed matrix: TK-FAC Method 2's column-by-column solves.
/// From `solve(_:rightHandSides:…)` the matrices are `n × m` (column `k` for `b_k`); from
/// `solve(_:rightHandSideRows:…)` they are `m × n` (row `k`).
public struct BatchedSolveResult<Scalar: BLASScalar>: Sendable {
    /// Estimates: column (or row) `k` ≈ `A⁻¹ b_k`.
    public let solutions: Matrix<Scalar>
    /// Standard errors in the same layout (see `SolveResult.standardError`).
    public let standardErrors: Matrix<Scalar>
    /// `‖standardErrors‖_F / ‖solutions‖_F`.
    public let relativeErrorBar: Double
    /// Cost of solving the `m` systems one after the other on one device (programming excluded).
    public let cost: DeviceCost
    public let settings: SamplingSettings
}

extension ThermodynamicDevice {
    /// Solves `A x = b` on the device: programs `a` (cost included) and calls
    /// `solve(_:_:time:sampleInterval:burnIn:warmStart:)`.
    public mutating func solve(_ a: Matrix<Scalar>, _ b: [Scalar], time: Double, sampleInterval: Double = 1,
                               burnIn: Double? = nil, warmStart: [Scalar]? = nil) throws(ThermoDeviceError) -> SolveResult<Scalar> {
        let p = try program(a)
        let r = try solve(p, b, time: time, sampleInterval: sampleInterval, burnIn: burnIn, warmStart: warmStart)
        return SolveResult(solution: r.solution, standardError: r.standardError, relativeErrorBar: r.relativeErrorBar,
                           cost: r.cost + p.programmingCost, settings: r.settings)
    }

    /// `A⁻¹b` from the mean of readouts of the programmed device.
    ///
    /// The input is scaled into the DAC range (`b' = γ b`) and quantised; the state starts at the warm
    /// start (or 0), relaxes for `burnIn` τ (default `burnInRelaxationTimes / λ_min`), then is read
    /// every `sampleInterval` τ for an analog sampling time `time` τ in total, split over the chains.
    /// The mean of readouts `ȳ → (αA)⁻¹ γ b` is unscaled as `x̂ = (α/γ) ȳ`.
    ///
    /// Statistical error of the time average: `Var(x̄_T) ≈ (2/(βT)) A'⁻²` (device units, docs/device.md#statistical-error).
    public mutating func solve(_ programmed: ProgrammedMatrix<Scalar>, _ b: [Scalar], time: Double,
                               sampleInterval: Double = 1, burnIn: Double? = nil,
                               warmStart: [Scalar]? = nil) throws(ThermoDeviceError) -> SolveResult<Scalar> {
        let n = programmed.size
        guard b.count == n else { throw .dimensionMismatch(detail: "b has \(b.count) entries, A is \(n)×\(n)") }
        let r = try solve(programmed, rightHandSides: Matrix(column: b), time: time, sampleInterval: sampleInterval,
                          burnIn: burnIn, warmStart: warmStart.map { Matrix(column: $0) },
                          chainsPerRightHandSide: configuration.chains)
        return SolveResult(solution: r.solutions.storage, standardError: r.standardErrors.storage,
                           relativeErrorBar: r.relativeErrorBar, cost: r.cost, settings: r.settings)
    }

    /// Solves `A X = B` column by column on one programmed device (all columns simulated together
    /// as one batch of chains; the cost is that of `m` sequential device solves).
    ///
    /// - Parameters:
    ///   - rightHandSides: `B`, `n × m`.
    ///   - time: analog sampling time per right-hand side, in τ.
    ///   - burnIn: per right-hand side, in τ; with a good warm start a short burn-in suffices (the
    ///     time-average bias from the start is `A'⁻¹(I − e^{-A'T})(x₀ − x*)/T`).
    ///   - warmStart: `n × m` starting points (for example the previous optimiser step's solution).
    ///   - chainsPerRightHandSide: default `max(min(4, chains), chains / m)`.
    ///   - adcCalibration: when an auto-ranged ADC sets its range (ignored for an ideal or fixed-range ADC).
    public mutating func solve(_ programmed: ProgrammedMatrix<Scalar>, rightHandSides bMatrix: Matrix<Scalar>,
                               time: Double, sampleInterval: Double = 1, burnIn: Double? = nil,
                               warmStart: Matrix<Scalar>? = nil, chainsPerRightHandSide: Int? = nil,
                               adcCalibration: ADCCalibration = .endOfBurnIn) throws(ThermoDeviceError) -> BatchedSolveResult<Scalar> {
        let n = programmed.size, m = bMatrix.columns
        guard bMatrix.rows == n, m >= 1 else {
            throw .dimensionMismatch(detail: "B is \(bMatrix.rows)×\(bMatrix.columns), A is \(n)×\(n)")
        }
        if let w = warmStart, w.rows != n || w.columns != m {
            throw .dimensionMismatch(detail: "warm start is \(w.rows)×\(w.columns), expected \(n)×\(m)")
        }
        let r = try solve(programmed, rightHandSideRows: bMatrix.transposed(), time: time, sampleInterval: sampleInterval,
                          burnIn: burnIn, warmStartRows: warmStart?.transposed(), chainsPerRightHandSide: chainsPerRightHandSide,
                          adcCalibration: adcCalibration)
        return BatchedSolveResult(solutions: r.solutions.transposed(), standardErrors: r.standardErrors.transposed(),
                                  relativeErrorBar: r.relativeErrorBar, cost: r.cost, settings: r.settings)
    }

    /// The same solves with the right-hand sides as the rows of `bRows` (`m × n`, row `k` = `b_kᵀ`), the warm
    /// starts as rows (`m × n`) and the results as rows: `solutions` and `standardErrors` are `m × n`, row `k`
    /// ≈ `(A⁻¹ b_k)ᵀ`. The same numbers as `solve(_:rightHandSides:…)` without its transposes: each right-hand
    /// side is read, converted and returned contiguously (TK-FAC Method 2 keeps its solves in this layout).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func solve(_ programmed: ProgrammedMatrix<Scalar>, rightHandSideRows bMatrix: Matrix<Scalar>,
                               time: Double, sampleInterval: Double = 1, burnIn: Double? = nil,
                               warmStartRows warmStart: Matrix<Scalar>? = nil, chainsPerRightHandSide: Int? = nil,
                               adcCalibration: ADCCalibration = .endOfBurnIn) throws(ThermoDeviceError) -> BatchedSolveResult<Scalar> {
        let clock = ContinuousClock(), start = clock.now
        let n = programmed.size, m = bMatrix.rows
        guard bMatrix.columns == n, m >= 1 else {
            throw .dimensionMismatch(detail: "B has \(bMatrix.rows) right-hand-side rows of \(bMatrix.columns), A is \(n)×\(n)")
        }
        guard bMatrix.isFinite else { throw .nonFinite(what: "the right-hand side b") }
        if let w = warmStart {
            guard w.rows == m, w.columns == n else {
                throw .dimensionMismatch(detail: "warm start rows are \(w.rows)×\(w.columns), expected \(m)×\(n)")
            }
            guard w.isFinite else { throw .nonFinite(what: "the warm start") }
        }
        guard time > 0, time.isFinite else {
            throw .invalidParameter(name: "time", value: "\(time)", requirement: "the sampling time must be positive (τ)")
        }
        guard sampleInterval > 0, sampleInterval.isFinite else {
            throw .invalidParameter(name: "sampleInterval", value: "\(sampleInterval)", requirement: "must be positive (τ)")
        }
        if let t = burnIn, !(t >= 0 && t.isFinite) {
            throw .invalidParameter(name: "burnIn", value: "\(t)", requirement: "must be non-negative (τ)")
        }
        let perRHS = chainsPerRightHandSide ?? Swift.max(Swift.min(4, configuration.chains), configuration.chains / m)
        guard perRHS >= 2 else {
            throw .invalidParameter(name: "chainsPerRightHandSide", value: "\(perRHS)", requirement: "at least 2 for an error bar")
        }
        let alpha = programmed.scale

        // DAC: each right-hand side scaled into range and quantised.
        var bias = Matrix<Scalar>(rows: m, columns: n)
        var gains = [Double](repeating: 1, count: m)
        bMatrix.withUnsafeBufferPointer { bp in
            bias.withUnsafeMutableBufferPointer { dp in
                for k in 0..<m { gains[k] = programInput(bp.baseAddress! + k * n, count: n, into: dp.baseAddress! + k * n) }
            }
        }
        let (h, stepsPerSample) = step(for: sampleInterval)
        let chainsTotal = m * perRHS
        let chains = try makeChains(programmed, bias: bias, chains: chainsTotal, step: h)
        if let w = warmStart {
            // Row k: the warm start of right-hand side k in device units, shared by its chains.
            var x0 = Matrix<Scalar>(rows: m, columns: n)
            w.withUnsafeBufferPointer { wp in
                x0.withUnsafeMutableBufferPointer { xp in
                    for k in 0..<m {
                        let g = gains[k] / alpha, src = wp.baseAddress! + k * n, dst = xp.baseAddress! + k * n
                        for j in 0..<n { dst[j] = Scalar(Double(src[j]) * g) }
                    }
                }
            }
            chains.setState(rows: x0, chainsPerRow: perRHS)
        }

        let burn = burnIn ?? configuration.burnInRelaxationTimes * programmed.relaxationTime
        let readoutCount = (time / (Double(perRHS) * sampleInterval)).rounded(.up)
        guard readoutCount <= Double(CovarianceSampling.largestSampleCount) else {
            throw .invalidParameter(name: "time", value: "\(time)",
                                    requirement: "time / sampleInterval (\(sampleInterval)) asks for more than "
                                        + "\(CovarianceSampling.largestSampleCount) readouts per chain")
        }
        let readoutsPerChain = Swift.max(1, Int(readoutCount))
        // Zeroed by `initialize(repeating:)` (a memset; `Array(repeating:count:)` filled Double by Double here).
        var sums = [Double](unsafeUninitializedCapacity: chainsTotal * n) { buffer, count in
            buffer.baseAddress!.initialize(repeating: 0, count: chainsTotal * n)
            count = chainsTotal * n
        }
        // Eigenbasis with an ideal ADC: the mean is linear, so the readouts are summed in modal coordinates
        // and the per-chain sums rotated back once at the end; the sums themselves are drawn from their exact
        // joint law (burn-in and readouts in one Gaussian draw per mode and chain, `modalReadoutSums`). A
        // quantising ADC acts on x, so then the chain is stepped and every readout rotated to the device basis
        // first (`withState`).
        let modalSums = configuration.outputConverter.bits == nil && chains.eigenbasisTransition != nil
        var burnSteps = 0
        if modalSums {
            sums = try chains.modalReadoutSums(burnIn: burn, readouts: readoutsPerChain, spacing: sampleInterval)
            burnSteps = 1
        } else {
            let output = configuration.outputConverter
            let onFirstReadout = adcCalibration == .firstReadout && output.bits != nil && output.range == nil
            // Nothing reads the state at the end of burn-in unless an auto-ranged ADC calibrates there: eigenbasis
            // chains then take burn-in and the first readout interval as one exact jump (the OU transitions over
            // `burn` and `h` compose to the transition over `burn + h`, the same law), drawing one set of normals.
            let calibratesAtBurnIn = output.bits != nil && output.range == nil && !onFirstReadout
            let merged = chains.eigenbasisTransition != nil && !calibratesAtBurnIn && burn > 0
            if merged {
                chains.jump(time: burn + h)
                burnSteps = 1
            } else {
                burnSteps = try relax(chains, programmed, bias: bias, time: burn)
            }
            var adc = onFirstReadout ? nil : outputQuantizer(chains)
            var dither = Xoshiro256StarStar(seed: ditherSeed, stream: 0xD1)
            // One pass per readout: copy, round and add (nearest rounding or an ideal ADC); a dithered ADC draws
            // its dither in the same row order through `quantizeInPlace`.
            var converted = [Scalar](repeating: 0, count: output.rounding == .subtractiveDither ? chainsTotal * n : 0)
            for readout in 0..<readoutsPerChain {
                if !(merged && readout == 0) { chains.step(stepsPerSample) }
                chains.withState { (p: UnsafePointer<Scalar>, ld: Int) in
                    if onFirstReadout && readout == 0 { adc = outputQuantizer(state: p, rows: chainsTotal, columns: n, ld: ld) }
                    sums.withUnsafeMutableBufferPointer { sb in
                        let s = sb.baseAddress!
                        guard let q = adc, q.rounding == .subtractiveDither else {
                            for r in 0..<chainsTotal {
                                if let q = adc { q.accumulateQuantized(p + r * ld, count: n, into: s + r * n) }
                                else { for j in 0..<n { s[r * n + j] += Double(p[r * ld + j]) } }
                            }
                            return
                        }
                        converted.withUnsafeMutableBufferPointer { rb in
                            for r in 0..<chainsTotal { for j in 0..<n { rb[r * n + j] = p[r * ld + j] } }
                            q.quantizeInPlace(rb, dither: &dither)
                            for i in 0..<(chainsTotal * n) { s[i] += Double(rb[i]) }
                        }
                    }
                }
            }
        }
        if modalSums, let t = chains.eigenbasisTransition {
            // Rows of sums are Σ yᵀ; Σ xᵀ = (Σ yᵀ) Qᵀ.
            sums = BLAS.matmul(Matrix(rows: chainsTotal, columns: n, storage: sums), convert(t.basis, to: Double.self),
                               transposeB: true).storage
        }

        // Per right-hand side: mean over chains and standard error from the chain-to-chain spread, formed row by
        // row (right-hand side k, contiguous in j).
        var xRows = [Scalar](repeating: 0, count: m * n), seRows = xRows
        var s1 = [Double](repeating: 0, count: n), s2 = s1
        let perChain = Double(readoutsPerChain), chainsPerRHS = Double(perRHS)
        sums.withUnsafeBufferPointer { sb in
            xRows.withUnsafeMutableBufferPointer { xb in
                seRows.withUnsafeMutableBufferPointer { eb in
                    s1.withUnsafeMutableBufferPointer { a in
                        s2.withUnsafeMutableBufferPointer { b in
                            // Base pointers hoisted per row: the inner loops carry no index arithmetic (with its
                            // overflow checks) and vectorise; the operations and their order are unchanged.
                            let a = a.baseAddress!, b = b.baseAddress!
                            let dof = Double(perRHS - 1)
                            // Dividing by a power of two is multiplying by its exact reciprocal (both round the same
                            // real number): the usual counts (one readout per chain, two chains, one degree of
                            // freedom) then take no division, the slowest instruction of these loops.
                            let exact = chainsPerRHS.significandBitPattern == 0 && dof.significandBitPattern == 0
                            let perChainDivides = perChain != 1
                            for k in 0..<m {
                                let unscale = alpha / gains[k]
                                let xk = xb.baseAddress! + k * n, ek = eb.baseAddress! + k * n
                                a.initialize(repeating: 0, count: n)
                                b.initialize(repeating: 0, count: n)
                                for c in 0..<perRHS {
                                    let row = sb.baseAddress! + ((k * perRHS) + c) * n
                                    if perChainDivides {
                                        for j in 0..<n { let v = row[j] / perChain; a[j] += v; b[j] += v * v }
                                    } else {
                                        for j in 0..<n { let v = row[j]; a[j] += v; b[j] += v * v }
                                    }
                                }
                                if exact {
                                    let inverseChains = 1 / chainsPerRHS, inverseDOF = 1 / dof
                                    for j in 0..<n {
                                        let mean = a[j] * inverseChains
                                        let variance = (b[j] - chainsPerRHS * mean * mean) * inverseDOF
                                        xk[j] = Scalar(mean * unscale)
                                        b[j] = variance > 0 ? variance * inverseChains : 0
                                    }
                                } else {
                                    for j in 0..<n {
                                        let mean = a[j] / chainsPerRHS
                                        let variance = (b[j] - chainsPerRHS * mean * mean) / dof
                                        xk[j] = Scalar(mean * unscale)
                                        b[j] = variance > 0 ? variance / chainsPerRHS : 0
                                    }
                                }
                                // The square roots in a loop of their own, which vectorises: `tg_sqrt` is the square-root
                                // instruction (the same correctly rounded values as libm's `sqrt`, which blocks vectorising).
                                for j in 0..<n { ek[j] = Scalar(tg_sqrt(b[j]) * unscale) }
                            }
                        }
                    }
                }
            }
        }
        let x = Matrix(rows: m, columns: n, storage: xRows)
        let se = Matrix(rows: m, columns: n, storage: seRows)

        let samplingTime = Double(readoutsPerChain * perRHS) * sampleInterval
        let one = samplingCost(n: n, inputValues: n, gainWords: 1, burnIn: burn, samplingTime: samplingTime,
                               readouts: readoutsPerChain * perRHS)
        var cost = DeviceCost()
        for _ in 0..<m { cost = cost + one }
        // The closed-form draws (the modal sums, the merged burn-in jump) count as the steps they replace.
        cost.simulatedChainSteps = chainsTotal * (chains.eigenbasisTransition != nil ? burnSteps + readoutsPerChain
                                                                                   : chains.stepsTaken + burnSteps)
        cost.wallSeconds = Self.seconds(clock.now - start)
        let settings = SamplingSettings(burnIn: burn, sampleInterval: sampleInterval, step: h, stepsPerSample: stepsPerSample,
                                        chains: perRHS, readoutsPerChain: readoutsPerChain)
        let bar = Double(se.frobeniusNorm) / Swift.max(Double(x.frobeniusNorm), .leastNormalMagnitude)
        return BatchedSolveResult(solutions: x, standardErrors: se, relativeErrorBar: bar, cost: cost, settings: settings)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
