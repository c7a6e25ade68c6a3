import Foundation

/// The digital side of a training step (docs/cost-model.md#digital-side): rates at which a processor sustains the
/// three kinds of work a step is made of. Every number is a named parameter; presets state where
/// their figures come from.
///
/// - `gemmFLOPS`: matrix–matrix products (forward, backward, factor construction, preconditioning).
/// - `factorizationFLOPS`: Cholesky and triangular inversion (potrf + potri), which run well below
///   the GEMM rate at the sizes K-FAC meets (measured separately on the CPU).
/// - `memoryBandwidth`: bytes/s for element-wise work (Adam's moment updates, EMA of factors).
public struct DigitalHardware: Sendable, Equatable, Codable, CustomStringConvertible {
    public var name: String
    /// Sustained FLOP/s of large Float GEMMs.
    public var gemmFLOPS: Double
    /// Sustained FLOP/s of Cholesky factorisation + inversion at K-FAC factor sizes.
    public var factorizationFLOPS: Double
    /// Sustained bytes/s of streaming element-wise kernels.
    public var memoryBandwidth: Double
    /// Where the numbers come from (printed with every prediction).
    public var source: String

    public init(name: String, gemmFLOPS: Double, factorizationFLOPS: Double, memoryBandwidth: Double,
                source: String) throws(PredictionError) {
        for (label, v) in [("gemmFLOPS", gemmFLOPS), ("factorizationFLOPS", factorizationFLOPS),
                           ("memoryBandwidth", memoryBandwidth)] where !(v > 0 && v.isFinite) {
            throw .invalidParameter(name: label, value: "\(v)", requirement: "must be positive and finite")
        }
        self.name = name
        self.gemmFLOPS = gemmFLOPS
        self.factorizationFLOPS = factorizationFLOPS
        self.memoryBandwidth = memoryBandwidth
        self.source = source
    }

    /// NVIDIA A100 (SXM, 40/80 GB): FP32 19.5 TFLOP/s and 1.555 TB/s (datasheet), of which we assume
    /// 70 % sustained for GEMM and 80 % for streaming; Cholesky + inverse at K-FAC sizes (n ≈ 1–8k)
    /// assumed 2 TFLOP/s (cuSOLVER potrf/potri run far below GEMM peak at these sizes).
    public static let a100 = try! DigitalHardware(
        name: "a100", gemmFLOPS: 0.7 * 19.5e12, factorizationFLOPS: 2e12, memoryBandwidth: 0.8 * 1.555e12,
        source: "A100 datasheet FP32 19.5 TFLOP/s, 1.555 TB/s; assumed 70 % GEMM / 80 % bandwidth efficiency, 2 TFLOP/s factorisation")

    /// NVIDIA H100 (SXM): FP32 67 TFLOP/s and 3.35 TB/s (datasheet), same efficiency assumptions as
    /// the A100; factorisation assumed 5 TFLOP/s.
    public static let h100 = try! DigitalHardware(
        name: "h100", gemmFLOPS: 0.7 * 67e12, factorizationFLOPS: 5e12, memoryBandwidth: 0.8 * 3.35e12,
        source: "H100 SXM datasheet FP32 67 TFLOP/s, 3.35 TB/s; assumed 70 % GEMM / 80 % bandwidth efficiency, 5 TFLOP/s factorisation")

    public var description: String {
        func g(_ x: Double) -> String { formatEngineering(x) }
        return "\(name): GEMM \(g(gemmFLOPS))FLOP/s, factorisation \(g(factorizationFLOPS))FLOP/s, "
            + "bandwidth \(g(memoryBandwidth))B/s (\(source))"
    }
}

/// `1.23 G`-style engineering notation for reports.
public func formatEngineering(_ x: Double) -> String {
    let prefixes: [(Double, String)] = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""),
                                        (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")]
    guard x != 0, x.isFinite else { return "\(x) " }
    let (scale, p) = prefixes.first { abs(x) >= $0.0 } ?? (1e-12, "p")
    return String(format: "%.3g", x / scale) + " " + p
}
