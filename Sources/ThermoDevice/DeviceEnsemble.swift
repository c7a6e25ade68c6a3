import Linalg

/// Error mitigation by averaging `count` devices of the same design with independent mismatch and
/// rounding draws (docs/device.md#error-mitigation, "Thermies").
///
/// A single device's systematic error `δx ≈ −A⁻¹ E x` (E: quantisation / mismatch error of the
/// couplings) is first order in ε and has zero mean over devices when the draws are unbiased
/// (mismatch, stochastic rounding), so the average over `K` devices shrinks it by `1/sqrt(K)` until
/// the second-order bias `A⁻¹EA⁻¹E x = O(ε²)` remains. Deterministic rounding is the same on every
/// device and does not average out; use `.stochastic` rounding in the DAC for ensembles.
public struct DeviceEnsemble<Scalar: BLASScalar>: Sendable {
    public private(set) var devices: [ThermodynamicDevice<Scalar>]

    /// `count` devices with seeds derived from `configuration.seed` (device `k` gets stream `k`).
    public init(configuration: DeviceConfiguration, count: Int) {
        precondition(count >= 1, "an ensemble needs at least one device")
        devices = (0..<count).map { k in
            var seeds = Xoshiro256StarStar(seed: configuration.seed, stream: UInt64(50 + k))
            return ThermodynamicDevice(configuration: configuration.withSeed(seeds.next()))
        }
    }

    /// Solves on every device (each programs `a` itself) and averages. The standard error is the
    /// device-to-device spread `/ sqrt(K)`: it covers noise *and* the per-device systematic errors.
    /// Also returns the individual device results.
    public mutating func solve(_ a: Matrix<Scalar>, _ b: [Scalar], time: Double, sampleInterval: Double = 1,
                               burnIn: Double? = nil) throws(ThermoDeviceError)
        -> (average: SolveResult<Scalar>, individual: [SolveResult<Scalar>]) {
        var results: [SolveResult<Scalar>] = []
        for k in devices.indices {
            results.append(try devices[k].solve(a, b, time: time, sampleInterval: sampleInterval, burnIn: burnIn))
        }
        let n = b.count, kd = Double(results.count)
        var mean = [Double](repeating: 0, count: n), sq = mean
        for r in results { for j in 0..<n { let v = Double(r.solution[j]); mean[j] += v / kd; sq[j] += v * v } }
        let se: [Scalar] = (0..<n).map { j in
            results.count > 1 ? Scalar((Swift.max(0, (sq[j] - kd * mean[j] * mean[j]) / (kd - 1)) / kd).squareRoot())
                              : results[0].standardError[j]
        }
        let x = mean.map { Scalar($0) }
        let bar = Double(BLAS.norm(se)) / Swift.max(Double(BLAS.norm(x)), .leastNormalMagnitude)
        let avg = SolveResult(solution: x, standardError: se, relativeErrorBar: bar,
                              cost: DeviceCost.parallel(results.map(\.cost)), settings: results[0].settings)
        return (avg, results)
    }

    /// Inverts on every device and averages the estimates; the error bar is the device-to-device
    /// spread `‖SE‖_F` (Frobenius) `/ sqrt(K)`.
    public mutating func inverse(_ a: Matrix<Scalar>, samples: Int, sampleInterval: Double = 1,
                                 burnIn: Double? = nil) throws(ThermoDeviceError)
        -> (average: MatrixEstimate<Scalar>, individual: [MatrixEstimate<Scalar>]) {
        var results: [MatrixEstimate<Scalar>] = []
        for k in devices.indices {
            results.append(try devices[k].inverse(a, samples: samples, sampleInterval: sampleInterval, burnIn: burnIn))
        }
        let kd = Double(results.count)
        var mean = Matrix<Double>(rows: a.rows, columns: a.columns)
        for r in results { mean.axpy(1 / kd, convert(r.estimate, to: Double.self)) }
        var ss = 0.0
        for r in results { let d = (convert(r.estimate, to: Double.self) - mean).frobeniusNorm; ss += d * d }
        let se = results.count > 1 ? (ss / (kd * (kd - 1))).squareRoot() : results[0].standardErrorFrobenius
        let avg = MatrixEstimate(estimate: convert(mean, to: Scalar.self), standardErrorFrobenius: se,
                                 relativeErrorBar: se / Swift.max(mean.frobeniusNorm, .leastNormalMagnitude),
                                 cost: DeviceCost.parallel(results.map(\.cost)), settings: results[0].settings)
        return (avg, results)
    }
}
