import Linalg
import Reporting

extension DigitalHardware {
    /// This machine's rates, measured now (median of repeated runs, a few seconds in all):
    /// Float GEMM at n = 1024 (the `bench blas` figure), Float Cholesky + inverse (potrf + potri) at
    /// n = 1024 counted as `(4/3) n³` FLOPs as in the model, and streaming bandwidth from a Float
    /// axpy over 16 Mi elements (12 bytes moved per element).
    public static func measuredCPU(seconds: Double = 0.3, seed: UInt64 = 1) -> DigitalHardware {
        var rng = Xoshiro256StarStar(seed: seed)
        let n = 1024
        let a: Matrix<Float> = rng.normalMatrix(rows: n, columns: n)
        let b: Matrix<Float> = rng.normalMatrix(rows: n, columns: n)
        var c = Matrix<Float>(rows: n, columns: n)
        let gemm = BenchmarkTiming.median(BenchmarkTiming.repeatedSeconds(minimumRepeats: 3, minimumSeconds: seconds) {
            BLAS.gemm(a, b, into: &c)
        })
        var spd = BLAS.matmul(a, a, transposeB: true)
        spd.addDiagonal(Float(n))
        let factorization = BenchmarkTiming.median(BenchmarkTiming.repeatedSeconds(minimumRepeats: 3, minimumSeconds: seconds) {
            _ = try? LAPACK.inverseSPD(spd)
        })
        let count = 16 << 20
        let x = [Float](repeating: 1, count: count)
        var y = [Float](repeating: 0, count: count)
        let stream = BenchmarkTiming.median(BenchmarkTiming.repeatedSeconds(minimumRepeats: 3, minimumSeconds: seconds) {
            BLAS.axpy(0.5, x, &y)
        })
        let nd = Double(n)
        return try! DigitalHardware(
            name: "cpu", gemmFLOPS: 2 * nd * nd * nd / gemm, factorizationFLOPS: (4.0 / 3.0) * nd * nd * nd / factorization,
            memoryBandwidth: 12 * Double(count) / stream,
            source: "measured on this machine (\(BLASThreads.current) OpenBLAS threads, \(BLASThreads.coreName))")
    }
}
