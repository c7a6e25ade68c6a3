import Linalg

extension LangevinChains {
    /// `.eigenbasis` with an ideal ADC: the per-chain sums of `readouts` readouts, the first `burnIn + spacing` τ
    /// after the current state and then every `spacing` τ, drawn at once from their exact joint law.
    ///
    /// In modal coordinates every chain is `n` independent scalar OU processes, and the average of a mode's
    /// readouts is Gaussian: `ȳ_k = a₀ y_k(0) + a_c (Qᵀc)_k + σ_A z_k` with the coefficients of
    /// `OrnsteinUhlenbeckRun.mode` (docs/tngd.md#exact-simulation), the same law as stepping the chain readout by
    /// readout and summing (`readouts · spacing` steps of O(n) each), for one normal per mode and chain.
    /// The chains' state is not advanced (a solve needs only the sums). Returns `chains × n` modal sums `Σ_j y_j`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func modalReadoutSums(burnIn: Double, readouts k: Int, spacing h: Double) throws(ThermoDeviceError) -> [Double] {
        guard case let .eigenbasis(t) = scheme else { preconditionFailure("modalReadoutSums needs the eigenbasis scheme") }
        let n = dimension, kd = Double(k)
        let run = try OrnsteinUhlenbeckRun(analogTime: burnIn + kd * h, readouts: k, readoutSpacing: h, noise: 1 / beta)
        let modes = t.eigenvalues.map { run.mode(rate: $0) }
        let fromStart = modes.map { kd * $0.averageFromStart }, fromInput = modes.map { kd * $0.averageFromInput }
        let deviation = modes.map { kd * $0.averageNoise }
        var z = [Float](repeating: 0, count: chains * n)
        z.withUnsafeMutableBufferPointer { fillNoise($0.baseAddress!, threads: ParallelLoop.threads) }
        var sums = [Double](repeating: 0, count: chains * n)
        let (w, per) = (width, chainsPerBiasRow)
        current.withUnsafeBufferPointer { yb in
            t.modalInput.withUnsafeBufferPointer { ub in
                sums.withUnsafeMutableBufferPointer { sb in
                    for r in 0..<chains {
                        let y0 = yb.baseAddress! + r * w, u = ub.baseAddress! + (r / per) * n, s = sb.baseAddress! + r * n
                        for j in 0..<n {
                            s[j] = fromStart[j] * Double(y0[j]) + fromInput[j] * Double(u[j]) + deviation[j] * Double(z[r * n + j])
                        }
                    }
                }
            }
        }
        return sums
    }
}
