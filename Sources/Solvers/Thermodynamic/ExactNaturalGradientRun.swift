import CBLAS
import Curvature
import Linalg
import NeuralNet
import ThermoDevice

/// One TNGD device run in exact continuous time (docs/tngd.md#exact-simulation): the law of
///
///     dg̃ = −(F g̃ − c) dt + sqrt(2κ0) dW,   g̃(0) = g̃₀,   F = λI + W diag(μ) Wᵀ  (`GaussNewtonEigenbasis`)
///
/// over the analog time `t`, its averaged readouts and the delay `t_d`, sampled without time steps. Each
/// eigen-direction of `F` is a scalar Ornstein–Uhlenbeck mode (`OrnsteinUhlenbeckRun`); every direction of
/// the complement of `range(W)` has rate `λ`. So the run is computed once "as if `F = λI`" on whole
/// `N`-vectors (`x₀`, `c` and white noises `z`) and corrected in `range(W)`:
///
///     out = Σ_v a_v(λ) v + W Σ_v (a_v(λ + μ) − a_v(λ)) ⊙ Wᵀv,    v ∈ {g̃₀, c, z₁, z₂, z₃}
///
/// which is exact in distribution: `Wᵀz ~ N(0, I_r)` is independent of `(I − WWᵀ) z`. The readout average
/// and the state at `t` share `z₁` with the Cholesky coefficients of their joint law, so the average has
/// its exact joint distribution with the state carried on (and with the next run's warm start), not only
/// the right marginal. Cost: one JVP per projected vector, one VJP per lifted one (≤ 5 and 2), plus `N`-vector
/// axpys, whatever `t`.
///
/// A non-ideal ADC quantises each readout, which is not linear: then the `k` readouts are produced one
/// by one with the exact transition over their spacing `h` (one JVP and one VJP per readout, still exact
/// between readouts), each quantised, and averaged.
struct ExactNaturalGradientRun<Scalar: NeuralScalar> {
    let basis: GaussNewtonEigenbasis<Scalar>
    let damping: Double
    let schedule: OrnsteinUhlenbeckRun
    /// ADC resolution in bits, fixed range (nil range: `2 max|x|` at the first readout of the run) and rounding
    /// (`.subtractiveDither` draws each readout value's dither from the run's generator).
    let adc: (bits: Int, range: Double?, rounding: DeviceConfiguration.Converter.Rounding)?

    /// Readout (the average of the `k` readouts, through the ADC) and the state after the delay.
    func run(start x0: [Scalar], input c: [Scalar], rng: inout Xoshiro256StarStar) -> (readout: [Scalar], state: [Scalar]) {
        adc != nil && schedule.readouts > 1 ? sequential(start: x0, input: c, rng: &rng) : joint(start: x0, input: c, rng: &rng)
    }

    private func normals(_ n: Int, _ rng: inout Xoshiro256StarStar) -> [Scalar] {
        var z = [Scalar](repeating: 0, count: n)
        rng.fillNormal(&z)
        return z
    }

    /// `Σ_v a_v v` over `N`-vectors.
    private func combine(_ terms: [(Double, [Scalar])], count n: Int) -> [Scalar] {
        var out = [Scalar](repeating: 0, count: n)
        for (a, v) in terms where a != 0 { Scalar.axpy(Int32(n), Scalar(a), v, 1, &out, 1) }
        return out
    }

    private func lift(_ y: [Double], into x: inout [Scalar]) {
        var scratch = [Scalar](repeating: 0, count: basis.dimension)
        x.withUnsafeMutableBufferPointer { xp in
            scratch.withUnsafeMutableBufferPointer { sp in basis.lift(y, into: xp.baseAddress!, scratch: sp.baseAddress!) }
        }
    }

    private func quantize(_ x: inout [Scalar], _ quantizer: inout UniformQuantizer?, _ rng: inout Xoshiro256StarStar) {
        guard let (bits, range, rounding) = adc else { return }
        if quantizer == nil {
            let r = range ?? Swift.max(2 * x.reduce(0.0) { Swift.max($0, abs(Double($1))) }, .leastNormalMagnitude)
            quantizer = UniformQuantizer(bits: bits, range: r, rounding: rounding)
        }
        x.withUnsafeMutableBufferPointer { quantizer!.quantizeInPlace($0, dither: &rng) }
    }

    /// Average and state from their joint law (no ADC, or one readout).
    private func joint(start x0: [Scalar], input c: [Scalar], rng: inout Xoshiro256StarStar) -> (readout: [Scalar], state: [Scalar]) {
        let n = basis.dimension, s = schedule
        let flat = s.mode(rate: damping)
        let modes = basis.rates.map { s.mode(rate: damping + $0) }
        let z1 = normals(n, &rng)
        let z2 = s.readouts > 1 ? normals(n, &rng) : []
        let z3 = s.delay > 0 ? normals(n, &rng) : []
        let p0 = basis.project(x0), pc = basis.project(c), p1 = basis.project(z1)
        let p2 = z2.isEmpty ? [] : basis.project(z2), p3 = z3.isEmpty ? [] : basis.project(z3)
        let r = basis.rank
        func at(_ p: [Double], _ i: Int) -> Double { p.isEmpty ? 0 : p[i] }

        var readout = combine([(flat.averageFromStart, x0), (flat.averageFromInput, c), (flat.averageNoise, z1)], count: n)
        var correction = [Double](repeating: 0, count: r)
        for (i, m) in modes.enumerated() {
            correction[i] = (m.averageFromStart - flat.averageFromStart) * p0[i] + (m.averageFromInput - flat.averageFromInput) * pc[i]
                + (m.averageNoise - flat.averageNoise) * p1[i]
        }
        lift(correction, into: &readout)

        var state: [Scalar]
        if s.readouts == 1 && s.delay == 0 {
            state = readout
        } else {
            // X = s₀ x₀ + s_c c + σ_XA z₁ + σ_X z₂, then X' = e^{−μ t_d} X + φ c + sqrt(v) z₃, per mode.
            func afterDelay(_ m: OrnsteinUhlenbeckRun.Mode, _ x: Double, _ c: Double, _ z3: Double) -> Double {
                m.delayDecay * x + m.delayInput * c + m.delayNoise * z3
            }
            let xFlat = [flat.stateFromStart, flat.stateFromInput, flat.stateNoiseShared, flat.stateNoiseOwn]
            var terms: [(Double, [Scalar])] = [(flat.delayDecay * xFlat[0], x0), (flat.delayDecay * xFlat[1] + flat.delayInput, c),
                                               (flat.delayDecay * xFlat[2], z1)]
            if !z2.isEmpty { terms.append((flat.delayDecay * xFlat[3], z2)) }
            if !z3.isEmpty { terms.append((flat.delayNoise, z3)) }
            state = combine(terms, count: n)
            for (i, m) in modes.enumerated() {
                let x = m.stateFromStart * p0[i] + m.stateFromInput * pc[i] + m.stateNoiseShared * p1[i] + m.stateNoiseOwn * at(p2, i)
                let xf = flat.stateFromStart * p0[i] + flat.stateFromInput * pc[i] + flat.stateNoiseShared * p1[i]
                    + flat.stateNoiseOwn * at(p2, i)
                correction[i] = afterDelay(m, x, pc[i], at(p3, i)) - afterDelay(flat, xf, pc[i], at(p3, i))
            }
            lift(correction, into: &state)
        }
        var quantizer: UniformQuantizer? = nil
        quantize(&readout, &quantizer, &rng)
        return (readout, state)
    }

    /// The `k` readouts one by one through the ADC (exact transitions between them).
    private func sequential(start x0: [Scalar], input c: [Scalar], rng: inout Xoshiro256StarStar) -> (readout: [Scalar], state: [Scalar]) {
        let n = basis.dimension, s = schedule, kappa = s.noise
        let rates = [damping] + basis.rates.map { damping + $0 }      // index 0: the complement
        let first = rates.map { OrnsteinUhlenbeckRun.transition(rate: $0, time: s.firstReadout, noise: kappa) }
        let step = rates.map { OrnsteinUhlenbeckRun.transition(rate: $0, time: s.readoutSpacing, noise: kappa) }
        let pc = basis.project(c)
        // Full-space "F = λI" vector xf, its projection pf = Wᵀxf, and the true coordinates y = Wᵀx.
        let z0 = normals(n, &rng), p0 = basis.project(x0), pz = basis.project(z0)
        var xf = combine([(first[0].decay, x0), (first[0].input, c), (first[0].deviation, z0)], count: n)
        var pf = pc.indices.map { first[0].decay * p0[$0] + first[0].input * pc[$0] + first[0].deviation * pz[$0] }
        var y = pc.indices.map { first[$0 + 1].decay * p0[$0] + first[$0 + 1].input * pc[$0] + first[$0 + 1].deviation * pz[$0] }
        var sum = [Double](repeating: 0, count: n)
        var quantizer: UniformQuantizer? = nil
        var x = [Scalar]()
        for j in 0..<s.readouts {
            if j > 0 {
                let e = normals(n, &rng), pe = basis.project(e)
                let (a, g, sd) = step[0]
                Scalar.scal(Int32(n), Scalar(a), &xf, 1)
                Scalar.axpy(Int32(n), Scalar(g), c, 1, &xf, 1)
                Scalar.axpy(Int32(n), Scalar(sd), e, 1, &xf, 1)
                for i in pf.indices {
                    pf[i] = a * pf[i] + g * pc[i] + sd * pe[i]
                    y[i] = step[i + 1].decay * y[i] + step[i + 1].input * pc[i] + step[i + 1].deviation * pe[i]
                }
            }
            x = xf
            lift(y.indices.map { y[$0] - pf[$0] }, into: &x)
            var readout = x
            quantize(&readout, &quantizer, &rng)
            for i in 0..<n { sum[i] += Double(readout[i]) }
        }
        let average = sum.map { Scalar($0 / Double(s.readouts)) }
        guard s.delay > 0 else { return (average, x) }
        let after = rates.map { OrnsteinUhlenbeckRun.transition(rate: $0, time: s.delay, noise: kappa) }
        let z3 = normals(n, &rng), p3 = basis.project(z3)
        var state = combine([(after[0].decay, x), (after[0].input, c), (after[0].deviation, z3)], count: n)
        let correction = y.indices.map { i in
            (after[i + 1].decay - after[0].decay) * y[i] + (after[i + 1].input - after[0].input) * pc[i]
                + (after[i + 1].deviation - after[0].deviation) * p3[i]
        }
        lift(correction, into: &state)
        return (average, state)
    }
}
