import CBLAS
import Curvature
import Linalg
import NeuralNet

/// The realised TNGD matrix in its own eigenbasis (docs/tngd.md#exact-simulation):
///
///     F = λI + Vᵀ Σ V = λI + W diag(μ) Wᵀ,     V = Cᵀ J_f sqrt(s/b)  (r' × N),   W = Vᵀ U S⁻¹ Z  (N × r, orthonormal)
///
/// where `H_L s/b`'s per-example blocks are `H_e = C_e Σ_e C_eᵀ` (eigendecomposition, `Σ = sign`, near-zero
/// eigenvalues dropped), `V Vᵀ = U S² Uᵀ` (one `r' × r'` eigenproblem, `r' ≤ b d_z`) and, only when `H` has
/// negative eigenvalues (a quantised `H̃`), `S Uᵀ Σ U S = Z diag(μ) Zᵀ` (a second one). In the complement of
/// `range(W)` the matrix is `λI` exactly. `W` is never formed: `Wᵀx = Zᵀ S⁻¹ Uᵀ (V x)` costs one JVP (or one
/// GEMV with a dense `V`) and `W y = Vᵀ (U S⁻¹ Z y)` one VJP.
///
/// Directions with `S² ≤ θ max S²`, `θ = 64 ε_Scalar`, are left in the complement (simulated with `μ = 0`):
/// each such mode's propagator is then off by at most `θ max S² · t` (`droppedBound` holds `θ max S²`).
/// Only symmetric realised matrices have this form; `make` returns nil otherwise (mismatched or separately
/// rounded arrays, whose drift is not symmetric), and the device falls back to Euler–Maruyama.
final class GaussNewtonEigenbasis<Scalar: NeuralScalar> {
    /// `N`.
    let dimension: Int
    /// `μ_i`, the eigenvalues of `F − λI` on `range(W)`, ascending.
    let rates: [Double]
    /// The largest eigenvalue of `V Vᵀ` left in the complement (`μ` treated as 0).
    let droppedBound: Double

    private enum Rows {
        /// `V x = C_eᵀ (J x)_e · scale` per example; `factors` is `b·q × d_z` (row `e·q + k` = column `k` of `C_e`).
        case factored(LinearizedModel<Scalar>, factors: Matrix<Scalar>, perExample: Int, scale: Scalar)
        case dense(Matrix<Scalar>)
    }
    private let rows: Rows
    /// `T = (U S⁻¹ Z)ᵀ`, `r × r'`.
    private let transform: Matrix<Scalar>

    private init(dimension: Int, rows: Rows, gram: Matrix<Scalar>, signs: [Scalar]) throws(LinalgError) {
        self.dimension = dimension
        self.rows = rows
        let (values, vectors) = try LAPACK.symmetricEigen(gram)
        let largest = Double(values.last ?? 0)
        let threshold = 64 * Double(Scalar.ulpOfOne) * Swift.max(largest, 0)
        let kept = values.indices.filter { Double(values[$0]) > threshold && largest > 0 }
        droppedBound = values.map { Double($0) }.filter { $0 <= threshold }.max().map { Swift.max($0, 0) } ?? 0
        let n = gram.rows, r = kept.count
        // U S⁻¹ (r' × r) and S.
        var us = Matrix<Scalar>(rows: n, columns: r)
        var s = [Scalar](repeating: 0, count: r)
        for (c, i) in kept.enumerated() {
            s[c] = values[i].squareRoot()
            for j in 0..<n { us[j, c] = vectors[j, i] / s[c] }
        }
        if signs.allSatisfy({ $0 > 0 }) {
            rates = kept.map { Double(values[$0]) }
            transform = us.transposed()
        } else {
            // S Uᵀ Σ U S restricted to the kept directions, then its eigenbasis Z.
            var su = Matrix<Scalar>(rows: n, columns: r)     // Σ U S
            for j in 0..<n { for (c, i) in kept.enumerated() { su[j, c] = signs[j] * vectors[j, i] * s[c] } }
            var us2 = Matrix<Scalar>(rows: n, columns: r)    // U S
            for j in 0..<n { for (c, i) in kept.enumerated() { us2[j, c] = vectors[j, i] * s[c] } }
            let m = BLAS.matmul(us2, transposeA: true, su)
            var symmetric = m
            for i in 0..<r { for j in 0..<r { symmetric[i, j] = (m[i, j] + m[j, i]) / 2 } }
            let (mu, z) = try LAPACK.symmetricEigen(symmetric)
            rates = mu.map { Double($0) }
            transform = BLAS.matmul(us, z).transposed()
        }
    }

    /// `r`, the dimension of `range(W)`.
    var rank: Int { rates.count }

    /// The eigenbasis of the ideal `F = J_fᵀ H_L J_f s/b + λI` of `f` (matrix-free `J_f`): `V Vᵀ` from the
    /// layer Gram rules (`LinearizedModel.jacobianGram`), or, for a layer without one, `V` itself, one example at a
    /// time (`LinearizedModel.jacobianRows`).
    static func make(_ f: GaussNewtonOperator<Scalar>) throws(LinalgError) -> GaussNewtonEigenbasis {
        let lin = f.linearization
        let (b, d) = (lin.examples, lin.outputDimension)
        var blocks: [(values: [Double], vectors: Matrix<Double>)] = []
        var largest = 0.0
        for e in 0..<b {
            let h = f.curvature.hessian(example: e).converted(to: Double.self)
            let eig = try LAPACK.symmetricEigen(h)
            blocks.append(eig)
            largest = Swift.max(largest, eig.values.map(abs).max() ?? 0)
        }
        // H_e is positive semi-definite: its (rounded) zero eigenvalues carry no curvature.
        let threshold = 64 * Double(Scalar.ulpOfOne) * largest
        let q = Swift.max(1, blocks.map { $0.values.filter { $0 > threshold }.count }.max() ?? 1)
        var factors = Matrix<Scalar>(rows: b * q, columns: d)
        for (e, block) in blocks.enumerated() {
            for (k, i) in block.values.indices.filter({ block.values[$0] > threshold }).enumerated() {
                let root = block.values[i].squareRoot()
                for c in 0..<d { factors[e * q + k, c] = Scalar(block.vectors[c, i] * root) }
            }
        }
        let scale = (f.dataScale / Scalar(b)).squareRoot()
        let signs = [Scalar](repeating: 1, count: b * q)
        if var gram = lin.jacobianGram(seeds: factors, perExample: q) {
            gram.scale(by: scale * scale)
            return try GaussNewtonEigenbasis(dimension: f.dimension, rows: .factored(lin, factors: factors, perExample: q, scale: scale),
                                             gram: gram, signs: signs)
        }
        // A layer without a Gram rule: V explicitly, one example at a time (`jacobianRows`).
        let v = lin.jacobianRows(seeds: factors, perExample: q, scale: scale)
        return try dense(v, signs: signs)
    }

    /// The eigenbasis of a programmed `F̃ = J̃_bᵀ H̃ J̃_a + λI`, or nil when it is not symmetric (`J̃_a ≠ J̃_b`:
    /// mismatch or separate stochastic rounding; `H̃` not symmetric or not block diagonal per example).
    static func make(_ p: ProgrammedGaussNewton<Scalar>, examples b: Int) throws(LinalgError) -> GaussNewtonEigenbasis? {
        guard p.forwardJacobian.storage == p.transposeJacobian.storage else { return nil }
        let h = p.outputHessian, m = p.rows
        guard b > 0, m % b == 0 else { return nil }
        let d = m / b
        for i in 0..<m { for j in 0..<m where h[i, j] != h[j, i] || (i / d != j / d && h[i, j] != 0) { return nil } }
        var rowsV: [[Scalar]] = []
        var signs: [Scalar] = []
        var blocks: [(values: [Double], vectors: Matrix<Double>)] = []
        var largest = 0.0
        for e in 0..<b {
            var block = Matrix<Double>(rows: d, columns: d)
            for i in 0..<d { for j in 0..<d { block[i, j] = Double(h[e * d + i, e * d + j]) } }
            let eig = try LAPACK.symmetricEigen(block)
            blocks.append(eig)
            largest = Swift.max(largest, eig.values.map(abs).max() ?? 0)
        }
        let threshold = 64 * Double(Scalar.ulpOfOne) * largest
        let n = p.dimension
        p.forwardJacobian.withUnsafeBufferPointer { jp in
            for (e, block) in blocks.enumerated() {
                for i in block.values.indices where abs(block.values[i]) > threshold {
                    let root = abs(block.values[i]).squareRoot()
                    var row = [Scalar](repeating: 0, count: n)
                    for c in 0..<d {
                        Scalar.axpy(Int32(n), Scalar(block.vectors[c, i] * root), jp.baseAddress! + (e * d + c) * n, 1, &row, 1)
                    }
                    rowsV.append(row)
                    signs.append(block.values[i] > 0 ? 1 : -1)
                }
            }
        }
        let v = Matrix<Scalar>(rows: rowsV.count, columns: n, storage: rowsV.flatMap { $0 })
        return try dense(v, signs: signs)
    }

    private static func dense(_ v: Matrix<Scalar>, signs: [Scalar]) throws(LinalgError) -> GaussNewtonEigenbasis {
        var gram = Matrix<Scalar>(rows: v.rows, columns: v.rows)
        BLAS.syrk(v, into: &gram)
        return try GaussNewtonEigenbasis(dimension: v.columns, rows: .dense(v), gram: gram, signs: signs)
    }

    /// `V x` (`r'` values).
    private func applyRows(_ x: UnsafePointer<Scalar>) -> [Scalar] {
        switch rows {
        case let .factored(lin, factors, q, scale):
            let jx = lin.jvp(x)
            let d = lin.outputDimension
            var out = [Scalar](repeating: 0, count: factors.rows)
            for r in 0..<factors.rows {
                let e = r / q
                var sum: Scalar = 0
                for c in 0..<d { sum += factors[r, c] * jx[e, c] }
                out[r] = sum * scale
            }
            return out
        case let .dense(v):
            var out = [Scalar](repeating: 0, count: v.rows)
            v.withUnsafeBufferPointer { vp in
                Scalar.gemv(CblasNoTrans, Int32(v.rows), Int32(v.columns), 1, vp.baseAddress!, Int32(v.columns), x, 1, 0, &out, 1)
            }
            return out
        }
    }

    /// `result += Vᵀ u` (`N` values; `scratch` holds `N`).
    private func addTransposedRows(_ u: [Scalar], into result: UnsafeMutablePointer<Scalar>, scratch: UnsafeMutablePointer<Scalar>) {
        switch rows {
        case let .factored(lin, factors, q, scale):
            let d = lin.outputDimension
            var cotangent = Matrix<Scalar>(rows: lin.examples, columns: d)
            for r in 0..<factors.rows {
                let e = r / q
                for c in 0..<d { cotangent[e, c] += factors[r, c] * u[r] * scale }
            }
            lin.vjp(cotangent, into: scratch)
            Scalar.axpy(Int32(dimension), 1, scratch, 1, result, 1)
        case let .dense(v):
            v.withUnsafeBufferPointer { vp in
                Scalar.gemv(CblasTrans, Int32(v.rows), Int32(v.columns), 1, vp.baseAddress!, Int32(v.columns), u, 1, 1, result, 1)
            }
        }
    }

    /// `Wᵀ x` (`r` values) for `x` (`N` values).
    func project(_ x: [Scalar]) -> [Double] {
        let u = x.withUnsafeBufferPointer { applyRows($0.baseAddress!) }
        var y = [Scalar](repeating: 0, count: rank)
        guard rank > 0 else { return [] }
        transform.withUnsafeBufferPointer { t in
            Scalar.gemv(CblasNoTrans, Int32(rank), Int32(u.count), 1, t.baseAddress!, Int32(u.count), u, 1, 0, &y, 1)
        }
        return y.map { Double($0) }
    }

    /// `result += W y` for `y` (`r` values); `scratch` holds `N` values.
    func lift(_ y: [Double], into result: UnsafeMutablePointer<Scalar>, scratch: UnsafeMutablePointer<Scalar>) {
        guard rank > 0 else { return }
        let ys = y.map { Scalar($0) }
        var u = [Scalar](repeating: 0, count: transform.columns)
        transform.withUnsafeBufferPointer { t in
            Scalar.gemv(CblasTrans, Int32(rank), Int32(transform.columns), 1, t.baseAddress!, Int32(transform.columns), ys, 1, 0, &u, 1)
        }
        addTransposedRows(u, into: result, scratch: scratch)
    }
}
