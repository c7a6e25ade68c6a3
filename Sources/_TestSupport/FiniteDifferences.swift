/// Central-difference gradient `∂f/∂xᵢ ≈ (f(x + h eᵢ) − f(x − h eᵢ)) / 2h` of a scalar function of
/// `count` inputs that live wherever the caller keeps them: `perturb(i, δ)` adds `δ` to input `i`,
/// `value()` evaluates `f`. The truncation error is `O(h²)`; in Double with `h = 1e-6` and `f` of order
/// one the rounding error is about `1e-16/h = 1e-10`, so agreement to `1e-6` relative is a strict check.
public func centralDifferenceGradient(count: Int, step h: Double = 1e-6,
                                      perturb: (Int, Double) -> Void, value: () -> Double) -> [Double] {
    (0..<count).map { i in
        perturb(i, h)
        let plus = value()
        perturb(i, -2 * h)
        let minus = value()
        perturb(i, h)
        return (plus - minus) / (2 * h)
    }
}
