import Linalg

/// `A⁻¹` (or `e^{-As}`) estimated by the device from sample (lag) covariances.
public struct MatrixEstimate<Scalar: BLASScalar>: Sendable {
    /// The estimate in the caller's units.
    public let estimate: Matrix<Scalar>
    /// Standard error of the estimate in Frobenius norm, from the spread of `errorBarGroups`
    /// independent groups of chains (batch means): statistical only, like `SolveResult.standardError`.
    public let standardErrorFrobenius: Double
    /// `standardErrorFrobenius / ‖estimate‖_F`.
    public let relativeErrorBar: Double
    public let cost: DeviceCost
    public let settings: SamplingSettings
}

extension ThermodynamicDevice {
    /// Inverts `a` on the device (programming cost included); see `inverse(_:samples:sampleInterval:burnIn:)`.
    public mutating func inverse(_ a: Matrix<Scalar>, samples: Int, sampleInterval: Double = 1,
                                 burnIn: Double? = nil) throws(ThermoDeviceError) -> MatrixEstimate<Scalar> {
        let p = try program(a)
        let r = try inverse(p, samples: samples, sampleInterval: sampleInterval, burnIn: burnIn)
        return MatrixEstimate(estimate: r.estimate, standardErrorFrobenius: r.standardErrorFrobenius,
                              relativeErrorBar: r.relativeErrorBar, cost: r.cost + p.programmingCost, settings: r.settings)
    }

    /// `A⁻¹ ≈ α β Ĉov(y)`: inputs `b = 0`, `samples` readouts (split over the chains) taken every
    /// `sampleInterval` τ after burn-in; `Ĉov` is the sample covariance around the sample mean.
    ///
    /// The relative Frobenius error is ≈ `sqrt((n+1)/N_eff)` (docs/device.md#statistical-error); readouts closer than
    /// the relaxation time `1/λ_min` are correlated, so `N_eff < samples` unless `sampleInterval`
    /// is comparable to `programmed.relaxationTime`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func inverse(_ programmed: ProgrammedMatrix<Scalar>, samples: Int, sampleInterval: Double = 1,
                                 burnIn: Double? = nil) throws(ThermoDeviceError) -> MatrixEstimate<Scalar> {
        let (moment, se, cost, settings) = try sampleMoments(programmed, samples: samples, interval: sampleInterval,
                                                             burnIn: burnIn, lagged: false)
        let f = programmed.scale * configuration.beta
        var est = moment
        est.scale(by: f)
        let estimate = convert(est, to: Scalar.self)
        return MatrixEstimate(estimate: estimate, standardErrorFrobenius: se * f,
                              relativeErrorBar: se * f / Swift.max(est.frobeniusNorm, .leastNormalMagnitude),
                              cost: cost, settings: settings)
    }

    /// `e^{-As}` from the lag autocovariance: `β Cov(y_{t+s'}, y_t) = e^{-A's'} A'⁻¹` with the
    /// device lag `s' = s/α` (so that `e^{-A's'} = e^{-As}`), multiplied digitally by the *nominal*
    /// programmed matrix `A' = αA` (a product, not an inverse). `samples` lag pairs are read along
    /// each chain as `(y_0, y_s'), (y_s', y_2s'), …`.
    ///
    /// - Returns: `.estimate ≈ e^{-As}`; `lagCovariance ≈ e^{-As} A⁻¹` (caller's units) is the raw readout.
    public mutating func exponential(_ programmed: ProgrammedMatrix<Scalar>, lag s: Double, samples: Int,
                                     burnIn: Double? = nil) throws(ThermoDeviceError)
        -> (exponential: MatrixEstimate<Scalar>, lagCovariance: Matrix<Scalar>) {
        guard s > 0, s.isFinite else {
            throw .invalidParameter(name: "lag", value: "\(s)", requirement: "the lag s must be positive")
        }
        let deviceLag = s / programmed.scale
        let (moment, se, cost, settings) = try sampleMoments(programmed, samples: samples, interval: deviceLag,
                                                             burnIn: burnIn, lagged: true)
        var lagCov = moment
        lagCov.scale(by: configuration.beta)                 // ≈ e^{-A's'} A'⁻¹ (device units)
        let exp = BLAS.matmul(lagCov, programmed.nominal)    // ≈ e^{-A's'}
        // Error bar propagated through the product: ‖δK A'‖_F ≤ ‖δK‖_F ‖A'‖₂ ≤ ‖δK‖_F · λ_max(A').
        let seExp = se * configuration.beta * programmed.lambdaBound * programmed.scale
        var callerLag = lagCov
        callerLag.scale(by: programmed.scale)                // e^{-As} A⁻¹ = α e^{-A's'} A'⁻¹
        let result = MatrixEstimate(estimate: convert(exp, to: Scalar.self), standardErrorFrobenius: seExp,
                                    relativeErrorBar: seExp / Swift.max(exp.frobeniusNorm, .leastNormalMagnitude),
                                    cost: cost, settings: settings)
        return (result, convert(callerLag, to: Scalar.self))
    }

    /// Runs zero-input chains and accumulates the covariance (or the lag covariance at one interval).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func sampleMoments(_ programmed: ProgrammedMatrix<Scalar>, samples: Int, interval: Double,
                                burnIn: Double?, lagged: Bool) throws(ThermoDeviceError)
        -> (Matrix<Double>, Double, DeviceCost, SamplingSettings) {
        let clock = ContinuousClock(), start = clock.now
        let n = programmed.size
        let groups = configuration.errorBarGroups, c = configuration.chains
        guard samples >= 2 * c, samples <= CovarianceSampling.largestSampleCount else {
            throw .invalidParameter(name: "samples", value: "\(samples)",
                                    requirement: "need at least 2 readouts per chain (≥ \(2 * c) with \(c) chains) and at most "
                                        + "\(CovarianceSampling.largestSampleCount)")
        }
        guard interval > 0, interval.isFinite else {
            throw .invalidParameter(name: "sampleInterval", value: "\(interval)", requirement: "must be positive (τ)")
        }
        if let t = burnIn, !(t >= 0 && t.isFinite) {
            throw .invalidParameter(name: "burnIn", value: "\(t)", requirement: "must be non-negative (τ)")
        }
        let (h, stepsPerSample) = step(for: interval)
        let zero = Matrix<Scalar>(rows: 1, columns: n)
        let chains = try makeChains(programmed, bias: zero, chains: c, step: h)
        let burn = burnIn ?? configuration.burnInRelaxationTimes * programmed.relaxationTime
        let burnSteps = try relax(chains, programmed, bias: zero, time: burn)
        let adc = outputQuantizer(chains)
        let perChain = (samples + c - 1) / c
        // Readouts are collected a block of readout times at a time and accumulated by one syrk (gemm with a
        // lag) per error-bar group (`ReadoutBlocks`). Eigenbasis with an ideal ADC: moments are accumulated in
        // modal coordinates and the result rotated once, `Q M Qᵀ` (the batch-means error bar is a Frobenius
        // norm, unchanged by the rotation); a quantising ADC acts on x, so then each block is rotated first.
        var blocks = ReadoutBlocks(chains: chains, readoutsPerChain: perChain, groups: groups, lagged: lagged, adc: adc,
                                   ditherSeed: ditherSeed)
        if lagged { blocks.captureStart(chains) }
        for _ in 0..<perChain {
            chains.step(stepsPerSample)
            blocks.capture(chains)
        }
        var (moment, se) = blocks.finish()
        if !lagged, let q = adc, q.rounding == .subtractiveDither {
            // A subtractively dithered readout is x + u, u ~ U[−Δ/2, Δ/2) independent of x and of every other
            // readout value: Cov(x + u) = Cov(x) + (Δ²/12) I exactly (docs/device.md#dithered-adc). Lag pairs are
            // unbiased (the dithers of different readouts are independent).
            moment.addDiagonal(-q.step * q.step / 12)
        }
        if blocks.readsStoredState, let modal = chains.eigenbasisTransition { moment = modal.rotateToDevice(moment) }
        let readouts = perChain * c + (lagged ? c : 0)
        var cost = samplingCost(n: n, inputValues: n, burnIn: burn, samplingTime: Double(perChain * c) * interval,
                                readouts: readouts)
        cost.simulatedChainSteps = c * (chains.stepsTaken + burnSteps)
        cost.wallSeconds = Self.seconds(clock.now - start)
        let settings = SamplingSettings(burnIn: burn, sampleInterval: interval, step: h, stepsPerSample: stepsPerSample,
                                        chains: c, readoutsPerChain: perChain)
        return (moment, se, cost, settings)
    }
}
