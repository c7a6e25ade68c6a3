import Linalg
import Foundation

/// A simulated thermodynamic device (stochastic processing unit): programs a symmetric
/// positive-definite matrix into its couplings and answers linear-algebra questions **only from
/// simulated trajectories** of `dx = -(A x - b) dt + sqrt(2/β) dW` (docs/device.md#dynamics).
///
/// Protocols (each returns the estimate, a statistical error bar and a `DeviceCost`):
/// - `solve(_:_:time:…)`: `A⁻¹b` as the mean of readouts;
/// - `solve(_:rightHandSides:…)`: many right-hand sides (TK-FAC Method 2), with warm starts;
/// - `inverse(_:samples:…)`: `A⁻¹` as `β ×` the sample covariance;
/// - `exponential(_:lag:samples:…)`: `e^{-As}` from the lag autocovariance `β Cov(x_{t+s}, x_t) = e^{-As}A⁻¹`.
///
/// A device is a value: its mismatch pattern and rounding draws follow from `configuration.seed`;
/// every call draws fresh noise (a call counter advances the noise seed), so calls are reproducible
/// in sequence.
public struct ThermodynamicDevice<Scalar: BLASScalar>: Sendable {
    public let configuration: DeviceConfiguration
    /// Number of sampling calls made so far (mixes into the noise seed).
    public private(set) var calls: UInt64 = 0

    /// A device of `configuration` whose noise sequence stands after `calls` sampling calls: 0 for a new
    /// device; a saved `calls` to resume a device from a checkpoint (the next call then draws exactly the
    /// noise it would have drawn without the interruption).
    public init(configuration: DeviceConfiguration, calls: UInt64 = 0) {
        self.configuration = configuration
        self.calls = calls
    }

    // MARK: Programming

    /// Checks, scales, quantises and mismatches `a` and returns the realised couplings with their
    /// programming cost. Throws a `ThermoDeviceError` for a non-square, non-finite, non-symmetric or
    /// too large matrix, for a realised matrix that is not positive definite, and for an
    /// Euler–Maruyama step that the realised spectrum makes unstable.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func program(_ a: Matrix<Scalar>) throws(ThermoDeviceError) -> ProgrammedMatrix<Scalar> {
        let config = configuration
        guard a.isSquare else { throw .notSquare(rows: a.rows, columns: a.columns) }
        let n = a.rows
        guard n >= 1 else { throw .dimensionMismatch(detail: "the matrix is empty") }
        guard n <= config.maximumSize else { throw .tooLarge(size: n, maximumSize: config.maximumSize) }
        guard a.isFinite else { throw .nonFinite(what: "the matrix A") }
        let ad = convert(a, to: Double.self)
        let tolerance = 64 * Double(Scalar.ulpOfOne) * Double(a.maxAbs)
        // The first asymmetric pair in row order, by 64 × 64 tiles (the column reads stay in cache).
        let asymmetry: (row: Int, column: Int, d: Double)? = ad.withUnsafeBufferPointer { p in
            var first: (row: Int, column: Int, d: Double)? = nil
            for i0 in stride(from: 0, to: n, by: 64) {
                for j0 in stride(from: 0, through: i0, by: 64) {
                    for i in i0..<Swift.min(i0 + 64, n) { for j in j0..<Swift.min(j0 + 64, i) {
                        let d = abs(p[i * n + j] - p[j * n + i])
                        if d > tolerance, first.map({ ($0.row, $0.column) > (i, j) }) ?? true { first = (i, j, d) }
                    } }
                }
            }
            return first
        }
        if let a = asymmetry { throw .notSymmetric(row: a.row, column: a.column, asymmetry: a.d, tolerance: tolerance) }

        // Scale into the coupling range with a λ_max bound from products only.
        let gersh = SpectralBoundEstimator.gershgorin(ad)
        let bound: Double
        switch config.spectralBound {
        case .gershgorin: bound = gersh
        case let .powerIteration(k, f): bound = Swift.min(gersh, f * SpectralBoundEstimator.powerIteration(ad, iterations: k))
        }
        guard bound > 0, bound.isFinite else { throw .notPositiveDefinite(smallestEigenvalue: bound, stage: "scaling (λ_max bound ≤ 0)") }
        let alpha = config.couplingRange / bound
        var nominal = ad
        nominal.scale(by: alpha)
        // Exact symmetry (the lower triangle is what the couplings realise).
        nominal.symmetrizeFromLower()

        // DAC quantisation of the couplings.
        var realized = nominal
        var stage = "scaling"
        var dacStatistics: DACStatistics? = nil
        if let bits = config.inputConverter.bits {
            let q = UniformQuantizer(bits: bits, range: config.couplingDACRange(for: nominal),
                                     rounding: config.inputConverter.rounding)
            var rng = Xoshiro256StarStar(seed: config.seed, stream: 2)
            realized = q.quantize(symmetric: nominal, scheme: config.matrixQuantization, rng: &rng)
            dacStatistics = DACStatistics(nominal: nominal, quantized: realized, quantizer: q)
            stage += " and \(bits)-bit \(config.matrixQuantization) quantisation over ±\(q.range)"
        }
        // Component mismatch, drawn once per device: η_ij for the lower triangle in row order, so a
        // smaller problem sees the same cells' errors as a leading block.
        if config.mismatch > 0 {
            var rng = Xoshiro256StarStar(seed: config.seed, stream: 1)
            let eps = config.mismatch
            realized.withUnsafeMutableBufferPointer { r in
                for i in 0..<n { for j in 0...i {
                    let f = 1 + eps * rng.nextNormal()
                    r[i * n + j] *= f
                    if i != j { r[j * n + i] *= f }
                } }
            }
            stage += " and mismatch ε = \(eps)"
        }
        let programmingError = (realized - nominal).frobeniusNorm / Swift.max(nominal.frobeniusNorm, .leastNormalMagnitude)

        // Device-side spectrum of the physical matrix.
        // `.eigenbasis` decomposes the matrix the chains are simulated with (`realized` in the simulation's
        // precision) in that precision: its backward error (≈ n·ε‖A'‖) is of the order of rounding the
        // Double basis to it, far below the statistical resolution of any readout (docs/device.md#integrators),
        // and a Float divide-and-conquer costs about half a Double one.
        let realizedScalar = convert(realized, to: Scalar.self)
        let values: [Double]
        var vectors: Matrix<Double>? = nil
        var modal: Matrix<Scalar>? = nil
        do {
            switch config.integrator {
            case .eigenbasis:
                let e = try LAPACK.symmetricEigen(realizedScalar)
                values = e.values.map { Double($0) }
                modal = e.vectors
            case .exact:
                let e = try LAPACK.symmetricEigen(realized)
                values = e.values
                vectors = e.vectors
            case .eulerMaruyama:
                values = try Self.eigenvalues(realized)
            }
        } catch { throw .linalg(error) }
        let lmin = values.first!, lmax = values.last!
        guard lmin > 0 else { throw .notPositiveDefinite(smallestEigenvalue: lmin, stage: stage) }

        // Step stability (Euler–Maruyama only; the exact transition is stable for every δt).
        if config.integrator == .eulerMaruyama {
            let limit = Self.largestStableStep(lambdaMax: lmax, dynamics: config.dynamics)
            if config.timeStep >= limit {
                throw .unstableTimeStep(timeStep: config.timeStep, largestStable: limit, lambdaMax: lmax,
                                        dynamics: "\(config.dynamics)")
            }
        }

        // Programming cost: n(n+1)/2 couplings through the DAC link, then written into the array.
        let couplings = Double(n * (n + 1) / 2)
        var cost = DeviceCost()
        // An auto-ranged DAC also sends its full-scale value (one 32-bit word per matrix).
        let scaleWordBits = config.inputConverter.bits != nil && config.inputConverter.range == nil ? 32.0 : 0
        let bits = couplings * Double(config.inputConverter.wireBits) + scaleWordBits
        cost.dacTransferSeconds = bits / config.transferRate
        cost.programmingSeconds = couplings * config.costModel.programmingTimePerCoupling / Double(config.costModel.parallelRows)
        cost.energyJoules = bits * config.costModel.energyPerBit

        return ProgrammedMatrix(size: n, scale: alpha, lambdaBound: bound, nominal: nominal,
                                realized: realizedScalar, eigenvalues: values, eigenvectors: vectors, modalBasis: modal,
                                programmingError: programmingError, dacStatistics: dacStatistics,
                                programmingCost: cost)
    }

    /// The supremum of stable Euler–Maruyama steps for the largest eigenvalue `lambdaMax`:
    /// overdamped `2/λ_max`; underdamped (semi-implicit, mode `λ`: trace/determinant (Jury) conditions
    /// `γh/m < 2` and `λh²/m < 4 − 2γh/m`) gives `h* = (−γ + sqrt(γ² + 4λm))/λ`.
    public static func largestStableStep(lambdaMax: Double, dynamics: DeviceConfiguration.Dynamics) -> Double {
        switch dynamics {
        case .overdamped: return 2 / lambdaMax
        case let .underdamped(m, g): return (-g + (g * g + 4 * lambdaMax * m).squareRoot()) / lambdaMax
        }
    }

    /// Eigenvalues only (syevd without vectors), ascending.
    static func eigenvalues(_ a: Matrix<Double>) throws(LinalgError) -> [Double] {
        let n = a.rows
        var work = a
        var w = [Double](repeating: 0, count: n)
        let info = work.withUnsafeMutableBufferPointer { ap in
            w.withUnsafeMutableBufferPointer { wp in
                Double.syevd(CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "U")), Int32(n), ap.baseAddress!, Int32(n), wp.baseAddress!)
            }
        }
        if info < 0 { throw .illegalArgument(routine: "dsyevd", argument: Int(-info)) }
        if info > 0 { throw .noConvergence(routine: "dsyevd", info: Int(info)) }
        return w
    }

    // MARK: Shared machinery of the protocols

    /// A fresh noise seed for the next call.
    mutating func nextNoiseSeed() -> UInt64 {
        calls += 1
        return configuration.seed ^ (calls &* 0xA24B_AED4_963E_E407) ^ 0x0123_4567_89AB_CDEF
    }

    /// The integrator step for a sampling interval: `h = interval / ceil(interval / δt)` ≤ δt, so that
    /// readouts fall exactly on steps. Returns `(h, stepsPerInterval)`.
    /// The exact integrators take the whole interval in one step (they are exact for any step).
    func step(for interval: Double) -> (h: Double, steps: Int) {
        if configuration.integrator.isExact { return (interval, 1) }
        let k = Swift.max(1, Int((interval / configuration.timeStep - 1e-9).rounded(.up)))
        return (interval / Double(k), k)
    }

    /// Builds `chains` chains for `programmed` with constant inputs `bias` (`rows × n`, device units,
    /// i.e. already scaled into the DAC range) and integrator step `h` (τ), using the configured
    /// integrator and dynamics. The protocols use this; it is public for callers that need the
    /// trajectories themselves (relaxation experiments, custom estimators). Starts at `x = 0`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func makeChains(_ programmed: ProgrammedMatrix<Scalar>, bias: Matrix<Scalar>, chains: Int,
                                    step h: Double) throws(ThermoDeviceError) -> LangevinChains<Scalar> {
        let config = configuration
        let n = programmed.size
        guard bias.columns == n, bias.rows >= 1, chains >= 1, chains % bias.rows == 0 else {
            throw .dimensionMismatch(detail: "inputs are \(bias.rows)×\(bias.columns) for n = \(n) and \(chains) chains "
                                     + "(chains must be a multiple of the input rows)")
        }
        guard h > 0, h.isFinite else { throw .invalidParameter(name: "step", value: "\(h)", requirement: "must be positive (τ)") }
        if config.integrator == .eulerMaruyama {
            let limit = Self.largestStableStep(lambdaMax: programmed.lambdaMax, dynamics: config.dynamics)
            if h >= limit {
                throw .unstableTimeStep(timeStep: h, largestStable: limit, lambdaMax: programmed.lambdaMax,
                                        dynamics: "\(config.dynamics)")
            }
        }
        let scheme: LangevinChains<Scalar>.Scheme
        switch (config.integrator, config.dynamics) {
        case (.exact, _):
            // e^{-Λh}, φ(λ) = (1 − e^{-λh})/λ, noise variances β⁻¹(1 − e^{-2λh})/λ in the eigenbasis.
            let q = programmed.eigenvectors!
            let lam = programmed.eigenvalues
            var qe = q, ql = q, qp = q
            for i in 0..<n { for j in 0..<n {
                let l = lam[j], e = Foundation.exp(-l * h)
                qe[i, j] *= e
                qp[i, j] *= -Foundation.expm1(-l * h) / l
                ql[i, j] *= (-Foundation.expm1(-2 * l * h) / (config.beta * l)).squareRoot()
            } }
            let expA = BLAS.matmul(qe, q, transposeB: true)           // e^{-Ah} (symmetric)
            let phi = BLAS.matmul(qp, q, transposeB: true)            // φ(A)
            // Row-vector form: x ← x e^{-Ah} + (φ c)ᵀ + z Lᵀ with L = Q diag(sqrt σ²), so Lᵀ = diag(·) Qᵀ.
            let lt = ql.transposed()
            var k = Matrix<Double>(rows: 2 * n, columns: n)
            for i in 0..<n { for j in 0..<n { k[i, j] = expA[i, j]; k[n + i, j] = lt[i, j] } }
            let offset = BLAS.matmul(convert(bias, to: Double.self), phi) // rows cᵀφ (φ symmetric)
            scheme = .exact(transition: convert(k, to: Scalar.self), offset: convert(offset, to: Scalar.self))
        case (.eigenbasis, _):
            scheme = .eigenbasis(EigenbasisTransition(basis: programmed.modalBasis!, eigenvalues: programmed.eigenvalues,
                                                      beta: config.beta, bias: bias, step: h))
        case (.eulerMaruyama, .overdamped):
            scheme = .eulerMaruyama(drift: DenseDrift(programmed.realized, symmetric: true))
        case let (.eulerMaruyama, .underdamped(m, g)):
            scheme = .underdamped(drift: DenseDrift(programmed.realized, symmetric: true), mass: m, friction: g)
        }
        return LangevinChains(scheme: scheme, dimension: n, chains: chains, bias: bias, timeStep: h,
                              beta: config.beta, noiseStreams: config.noiseStreams, seed: nextNoiseSeed())
    }

    /// Relaxes `chains` for `time` τ from their current state (inputs `bias`). With an exact
    /// integrator this is *one* transition of size `time` (exact in distribution for any step, so
    /// burn-in costs one GEMM (`.exact`) or O(n) per chain (`.eigenbasis`) instead of `time/δt` steps);
    /// otherwise `ceil(time/h)` integrator steps.
    /// Returns the number of integrator steps simulated per chain.
    @discardableResult
    public mutating func relax(_ chains: LangevinChains<Scalar>, _ programmed: ProgrammedMatrix<Scalar>,
                               bias: Matrix<Scalar>, time: Double) throws(ThermoDeviceError) -> Int {
        guard time > 0 else { return 0 }
        if case .eigenbasis = chains.scheme {
            chains.jump(time: time)
            return 1
        }
        if configuration.integrator == .exact {
            let jump = try makeChains(programmed, bias: bias, chains: chains.chains, step: time)
            jump.setState(rows: chains.state)
            jump.step()
            chains.setState(rows: jump.state)
            return 1
        }
        let steps = Int((time / chains.timeStep).rounded(.up))
        chains.step(steps)
        return steps
    }

    /// The ADC for readouts: fixed range, or auto-ranged to `2 max|x|` over the chains' current state.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func outputQuantizer(_ chains: LangevinChains<Scalar>) -> UniformQuantizer? {
        guard let bits = configuration.outputConverter.bits else { return nil }
        let rounding = configuration.outputConverter.rounding
        if let r = configuration.outputConverter.range { return UniformQuantizer(bits: bits, range: r, rounding: rounding) }
        return chains.withState { p, ld in outputQuantizer(state: p, rows: chains.chains, columns: chains.dimension, ld: ld) }
    }

    /// The ADC calibrated on the given states (`rows` rows of `columns` values, `ld` apart, device basis): fixed
    /// range, or `2 max|x|` over them.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func outputQuantizer(state p: UnsafePointer<Scalar>, rows: Int, columns: Int, ld: Int) -> UniformQuantizer? {
        guard let bits = configuration.outputConverter.bits else { return nil }
        let rounding = configuration.outputConverter.rounding
        if let r = configuration.outputConverter.range { return UniformQuantizer(bits: bits, range: r, rounding: rounding) }
        let m = Self.largestMagnitude(p, rows: rows, columns: columns, ld: ld)
        return UniformQuantizer(bits: bits, range: Swift.max(2 * m, .leastNormalMagnitude), rounding: rounding)
    }

    /// `max |x_rj|` over `rows` rows of `columns` values (`ld` apart), in `Scalar` (exact: a maximum does not round)
    /// with eight running maxima so that the loop vectorises; NaN-free input assumed (states are finite).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func largestMagnitude(_ p: UnsafePointer<Scalar>, rows: Int, columns n: Int, ld: Int) -> Double {
        var lanes = (Scalar(0), Scalar(0), Scalar(0), Scalar(0), Scalar(0), Scalar(0), Scalar(0), Scalar(0))
        var tail = Scalar(0)
        for r in 0..<rows {
            let row = p + r * ld
            var j = 0
            while j + 8 <= n {
                let a0 = abs(row[j]), a1 = abs(row[j + 1]), a2 = abs(row[j + 2]), a3 = abs(row[j + 3])
                let a4 = abs(row[j + 4]), a5 = abs(row[j + 5]), a6 = abs(row[j + 6]), a7 = abs(row[j + 7])
                lanes.0 = a0 > lanes.0 ? a0 : lanes.0; lanes.1 = a1 > lanes.1 ? a1 : lanes.1
                lanes.2 = a2 > lanes.2 ? a2 : lanes.2; lanes.3 = a3 > lanes.3 ? a3 : lanes.3
                lanes.4 = a4 > lanes.4 ? a4 : lanes.4; lanes.5 = a5 > lanes.5 ? a5 : lanes.5
                lanes.6 = a6 > lanes.6 ? a6 : lanes.6; lanes.7 = a7 > lanes.7 ? a7 : lanes.7
                j += 8
            }
            while j < n { let a = abs(row[j]); tail = a > tail ? a : tail; j += 1 }
        }
        let all = [lanes.0, lanes.1, lanes.2, lanes.3, lanes.4, lanes.5, lanes.6, lanes.7, tail]
        return Double(all.max()!)
    }

    /// Seed of the ADC dither of the current call (`.subtractiveDither`): known to the digital side, which
    /// subtracts it after conversion (docs/device.md#dithered-adc).
    var ditherSeed: UInt64 { configuration.seed ^ (calls &* 0x9E37_79B9_7F4A_7C15) ^ 0xD17E_D17E }

    /// Scales `b` into the DAC range (γ = range / max|b|) and quantises it. Returns `(b', γ)`.
    /// Inputs are always normalised by their own absmax (the gain γ is sent with them and undone on
    /// readout), so an auto-ranged DAC (`range == nil`) and a fixed range of 1 quantise `b` alike.
    /// Reads the `count` contiguous values of `b` at `source` and writes `b'` contiguously to `target`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func programInput(_ source: UnsafePointer<Scalar>, count: Int, into target: UnsafeMutablePointer<Scalar>) -> Double {
        let range = configuration.inputConverter.range ?? 1
        // max |b_j|, exact in any order (eight running maxima, `largestMagnitude`).
        let m = Self.largestMagnitude(source, rows: 1, columns: count, ld: count)
        let gain = m > 0 ? range / m : 1
        guard let bits = configuration.inputConverter.bits else {
            for j in 0..<count { target[j] = Scalar(Double(source[j]) * gain) }
            return gain
        }
        let q = UniformQuantizer(bits: bits, range: range, rounding: configuration.inputConverter.rounding)
        switch q.rounding {
        case .nearest:
            // The switch-free rule (its rounding without a libm call), so that the loop vectorises.
            for j in 0..<count { target[j] = Scalar(q.quantizeNearest(Double(source[j]) * gain)) }
        case .subtractiveDither:
            // No dither on the input DAC (uniform ½: zero offset); no generator.
            for j in 0..<count { target[j] = Scalar(q.quantize(Double(source[j]) * gain)) }
        case .stochastic:
            var rng = Xoshiro256StarStar(seed: configuration.seed, stream: 3)
            for j in 0..<count { target[j] = Scalar(q.quantize(Double(source[j]) * gain, uniform: rng.nextUniform())) }
        }
        return gain
    }

    /// Device-time cost of sampling: equilibration, sampling time and ADC transfer of `readouts`
    /// vectors of `n` values, plus energy; `tau` converts τ to seconds.
    /// `gainWords` 32-bit input gains γ travel with the inputs (one per right-hand side of a solve).
    func samplingCost(n: Int, inputValues: Int, gainWords: Int = 0, burnIn: Double, samplingTime: Double,
                      readouts: Int) -> DeviceCost {
        let c = configuration
        var cost = DeviceCost()
        let inBits = Double(inputValues * c.inputConverter.wireBits + 32 * gainWords)
        let outBits = Double(readouts * n * c.outputConverter.wireBits)
        cost.dacTransferSeconds = inBits / c.transferRate
        cost.equilibrationSeconds = burnIn * c.tau
        cost.samplingSeconds = samplingTime * c.tau
        cost.adcReadoutSeconds = outBits / c.transferRate
        cost.readouts = readouts
        cost.energyJoules = (inBits + outBits) * c.costModel.energyPerBit
            + c.costModel.powerPerCell * Double(n) * (burnIn + samplingTime) * c.tau
        return cost
    }
}
