import Linalg
import NeuralNet
import ThermoDevice

/// TK-FAC's raw feed (docs/tkfac.md#feeds, "What is sent"): instead of the `n × n` EMA factor, the device
/// receives the batch arrays — activations `ā` (`m × n_A`, `m = b·R` rows, bias column included) and output
/// gradients `g` (`m × n_G`) — through the DAC, and its resistor arrays realise the outer products.
///
/// The realised factors are `A = (1/m) Q(ā)ᵀ Q(ā)` and `G = b Q(g)ᵀ Q(g)` (K-FAC-expand scaling, as in
/// `KroneckerFactorComputation`), with `Q` the DAC applied per array: scale to `range / max|x|`, round to
/// the grid, unscale. A Gram matrix of quantised rows is PSD whatever the rounding, so the raw feed never
/// needs the conservative correction; the damping `λ I` is added as a diagonal bias. There is no EMA:
/// the factor is the current batch's.
///
/// Cost per factor: `m · n` values over the link (`bits` each) and `m · n` resistor writes, against
/// `n(n+1)/2` of each for the factor feed — cheaper when `m < (n+1)/2`.
enum RawFactorFeed {
    /// `Q(x)` per the DAC `converter` (identity for an ideal converter); `rng` drives stochastic rounding.
    static func quantize<S: BLASScalar>(_ x: Matrix<S>, converter: DeviceConfiguration.Converter,
                                        rng: inout Xoshiro256StarStar) -> Matrix<S> {
        guard let bits = converter.bits else { return x }
        let range = converter.range ?? 1
        let m = Double(x.maxAbs)
        guard m > 0 else { return x }
        let gain = range / m
        let q = UniformQuantizer(bits: bits, range: range, rounding: converter.rounding)
        var out = x
        out.withUnsafeMutableBufferPointer { p in
            for i in p.indices {
                let u = converter.rounding == .stochastic ? rng.nextUniform() : 0.5
                p[i] = S(q.quantize(Double(p[i]) * gain, uniform: u) / gain)
            }
        }
        return out
    }

    /// The damped factors the resistor arrays realise from `capture`, and the number of values sent.
    static func dampedFactors<S: BLASScalar>(_ capture: KroneckerCapture<S>, damping: FactorDamping<S>,
                                             converter: DeviceConfiguration.Converter, seed: UInt64)
        -> (activation: Matrix<S>, gradient: Matrix<S>, activationValues: Int, gradientValues: Int) {
        var rng = Xoshiro256StarStar(seed: seed, stream: 0x52_4157)
        let abar = quantize(capture.augmentedActivations(), converter: converter, rng: &rng)
        let g = quantize(capture.outputGradients, converter: converter, rng: &rng)
        let rows = abar.rows
        var a = Matrix<S>(rows: abar.columns, columns: abar.columns)
        BLAS.syrk(abar, transpose: true, alpha: 1 / S(rows), into: &a)
        a.addDiagonal(damping.activation)
        var gg = Matrix<S>(rows: g.columns, columns: g.columns)
        BLAS.syrk(g, transpose: true, alpha: S(capture.examples), into: &gg)
        gg.addDiagonal(damping.gradient)
        return (a, gg, abar.count, g.count)
    }

    /// Transfer and write cost of `values` raw values (plus the `n` diagonal damping values) on `device`.
    static func programmingCost(values: Int, order n: Int, device c: DeviceConfiguration) -> DeviceCost {
        var cost = DeviceCost()
        let sent = Double(values + n)
        let bits = sent * Double(c.inputConverter.wireBits)
        cost.dacTransferSeconds = bits / c.transferRate
        cost.programmingSeconds = sent * c.costModel.programmingTimePerCoupling / Double(c.costModel.parallelRows)
        cost.energyJoules = bits * c.costModel.energyPerBit
        return cost
    }
}

extension ThermodynamicFactorSolver where Scalar: NeuralScalar {
    /// A TK-FAC solver whose raw feed (if configured) reads the captures of `rawSources`, the model's
    /// Kronecker blocks (`model.kroneckerBlocks`; their captures must be on, as `KFAC.init` sets them).
    public convenience init(configuration: ThermodynamicKFACConfiguration,
                            rawSources: [KroneckerBlock<Scalar>]) throws(KFACError) {
        try self.init(configuration: configuration, rawCaptures: Dictionary(rawSources.map { block in
            (block.name, { block.capture })
        }, uniquingKeysWith: { a, _ in a }))
    }
}
