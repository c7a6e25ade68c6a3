import CBLAS
import Linalg

/// The linear part `F` of a drift `-(F x - c)`, applied to a batch of states stored as rows:
/// `Y ← α X Fᵀ + β Y` with `X` of shape `rows × dimension` (leading dimension `ldx`) and `Y` likewise.
///
/// The device's own coupling matrix is a `DenseDrift` (one GEMM per step). Solvers that only have
/// `F` as a product (TNGD's `F = JᵀHJ/b + λI` through Jacobian–vector products, docs/tngd.md#curvature)
/// supply a `MatrixFreeDrift` and run the same Euler–Maruyama integrator (`LangevinChains`).
public protocol DriftOperator<Scalar> {
    associatedtype Scalar: BLASScalar
    /// `n`, the state dimension.
    var dimension: Int { get }
    /// `Y ← α X Fᵀ + β Y` for `rows` states (rows of `X`).
    func apply(_ x: UnsafePointer<Scalar>, rows: Int, ldx: Int, alpha: Scalar, beta: Scalar,
               into y: UnsafeMutablePointer<Scalar>, ldy: Int)
}

/// A drift given by an explicit `n × n` matrix `F` (row-major): one GEMM `Y ← α X Fᵀ + β Y`
/// (for a symmetric `F`, `X F`, which avoids OpenBLAS's transposed-operand path).
public struct DenseDrift<Scalar: BLASScalar>: DriftOperator, Sendable {
    public let matrix: Matrix<Scalar>
    /// Whether `F = Fᵀ` (then the GEMM reads `F` untransposed).
    public let isSymmetric: Bool
    public var dimension: Int { matrix.rows }

    /// `matrix` must be square; `symmetric` says it equals its transpose (checked exactly).
    public init(_ matrix: Matrix<Scalar>, symmetric: Bool = false) {
        precondition(matrix.isSquare, "DenseDrift needs a square matrix, got \(matrix.rows)×\(matrix.columns)")
        precondition(!symmetric || matrix.isSymmetric(), "DenseDrift: matrix declared symmetric is not")
        self.matrix = matrix
        self.isSymmetric = symmetric
    }

    @inlinable
    public func apply(_ x: UnsafePointer<Scalar>, rows: Int, ldx: Int, alpha: Scalar, beta: Scalar,
                      into y: UnsafeMutablePointer<Scalar>, ldy: Int) {
        let n = matrix.rows
        matrix.withUnsafeBufferPointer { f in
            Scalar.gemm(CblasNoTrans, isSymmetric ? CblasNoTrans : CblasTrans, Int32(rows), Int32(n), Int32(n), alpha, x, Int32(ldx),
                        f.baseAddress!, Int32(n), beta, y, Int32(ldy))
        }
    }
}

/// A drift known only through its action on a batch of states (for example Jacobian–vector
/// products). The closure receives `(X, rows, ldx, α, β, Y, ldy)` and must compute `Y ← α X Fᵀ + β Y`.
public struct MatrixFreeDrift<Scalar: BLASScalar>: DriftOperator {
    public typealias Apply = (UnsafePointer<Scalar>, Int, Int, Scalar, Scalar, UnsafeMutablePointer<Scalar>, Int) -> Void
    public let dimension: Int
    public let action: Apply

    public init(dimension: Int, action: @escaping Apply) {
        self.dimension = dimension
        self.action = action
    }

    public func apply(_ x: UnsafePointer<Scalar>, rows: Int, ldx: Int, alpha: Scalar, beta: Scalar,
                      into y: UnsafeMutablePointer<Scalar>, ldy: Int) {
        action(x, rows, ldx, alpha, beta, y, ldy)
    }
}
