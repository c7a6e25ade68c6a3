import Foundation
import Linalg
import NeuralNet
import Testing

/// The vectorised single-precision kernels against Double libm (docs/vit.md#kernels). Bounds: `e^z` is a
/// degree-7 Taylor polynomial (remainder 5·10⁻⁹) after an exact reduction, so its error is a few Float
/// roundings (ulp 2⁻²³ ≈ 1.2·10⁻⁷ relative): 4·10⁻⁷. GELU: the erfc fit's fractional error is 1.2·10⁻⁷ and
/// the Float rounding of `z²` in `e^{−z²}` adds `z²·6·10⁻⁸`, so `Φ` is within 3·10⁻⁶ relative on
/// `|x| ≤ 5` and `y = xΦ` within a few roundings of `|x|` (≤ 5·10⁻⁷|x|); the derivative `Φ + xφ`
/// is O(1), so within 5·10⁻⁷ absolute.
@Suite struct FloatKernelTests {
    @Test("the Float exponential matches exp to a few ulp on [−87, 88], NaN stays NaN, −∞ gives ~0")
    func exponential() {
        var worst = 0.0
        var z: Float = -87
        while z <= 88 {
            let relative = abs(Double(FloatKernels.exponential(z)) / Foundation.exp(Double(z)) - 1)
            worst = max(worst, relative)
            z += 0.013_7
        }
        #expect(worst < 4e-7, "max relative error \(worst)")
        #expect(FloatKernels.exponential(.nan).isNaN)
        #expect(FloatKernels.exponential(-.infinity) < 1e-37)
        #expect(FloatKernels.exponential(0) == 1)
    }

    @Test("the Float GELU and its derivative match the Double erf form")
    func gelu() {
        let xs: [Float] = stride(from: Float(-12), through: 12, by: 0.001_9).map { $0 } + [0, -0, 13.5, -13.5, 40, -40]
        var y = [Float](repeating: 0, count: xs.count), d = y
        xs.withUnsafeBufferPointer { x in
            Float.gaussianErrorLinearUnits(x.baseAddress!, values: &y, derivatives: &d, count: xs.count)
        }
        for (i, x) in xs.enumerated() {
            let v = Double(x)
            let cdf = 0.5 * (1 + Foundation.erf(v / 2.0.squareRoot()))
            let derivative = cdf + v * Foundation.exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
            #expect(abs(Double(y[i]) - v * cdf) <= 5e-7 * abs(v), "y at \(x): \(y[i]) vs \(v * cdf)")
            #expect(abs(Double(d[i]) - derivative) <= 5e-7, "derivative at \(x): \(d[i]) vs \(derivative)")
            if abs(v) <= 5, abs(v) > 0 {
                #expect(abs(Double(y[i]) / (v * cdf) - 1) <= 3e-6, "Φ at \(x)")
            }
        }
    }

    @Test("the vectorised Float ReLU kernels equal the scalar compare-and-select bit for bit (NaN, ±0, ±∞, tails)")
    func relu() {
        var rng = Xoshiro256StarStar(seed: 17)
        let special: [Float] = [.nan, -.nan, 0, -0, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude]
        for count in [0, 1, 15, 16, 17, 61, 1000] {
            let x = (0..<count).map { i in i % 7 == 3 ? special[(i / 7) % special.count] : Float(rng.nextNormal()) }
            let g = (0..<count).map { i in i % 5 == 1 ? special[(i / 5) % special.count] : Float(rng.nextNormal()) }
            var y = [Float](repeating: 1, count: count), d = y
            Float.rectify(x, &y, count: count)
            Float.maskWherePositive(y, g, &d, count: count)
            for i in 0..<count {
                let yRef: Float = x[i] > 0 ? x[i] : 0
                let dRef: Float = yRef > 0 ? g[i] : 0
                #expect(y[i].bitPattern == yRef.bitPattern, "y[\(i)] of \(count): \(y[i]) vs \(yRef)")
                #expect(d[i].bitPattern == dRef.bitPattern, "d[\(i)] of \(count): \(d[i]) vs \(dRef)")
            }
        }
        // The layer (split over ParallelLoop's threads when there are several) gives the scalar loop's bits.
        let layer = ReLU<Float>()
        let x: Matrix<Float> = rng.normalMatrix(rows: 37, columns: 1_001)
        let g: Matrix<Float> = rng.normalMatrix(rows: 37, columns: 1_001)
        let y = layer.forward(x, context: ForwardContext(isTraining: true, examples: 37))
        let dx = layer.backward(g, options: BackwardOptions(parameterGradients: true, inputGradient: true))
        for i in 0..<x.count {
            let yRef: Float = x.storage[i] > 0 ? x.storage[i] : 0
            #expect(y.storage[i].bitPattern == yRef.bitPattern)
            #expect(dx.storage[i].bitPattern == (yRef > 0 ? g.storage[i] : 0).bitPattern)
        }
    }

    @Test("the Float softmax matches the Double softmax; masked keys get exactly 0")
    func softmax() {
        var rng = Xoshiro256StarStar(seed: 11)
        let columns = 19
        let scores = (0..<(4 * columns)).map { _ in 8 * rng.nextNormal() }
        var single = scores.map { Float($0) }
        let mask = (0..<columns).map { $0 % 5 != 2 }
        single.withUnsafeMutableBufferPointer { MultiHeadSelfAttention<Float>.softmaxRows($0.baseAddress!, rows: 4, columns: columns, isReal: mask) }
        for i in 0..<4 {
            let row = scores[(i * columns)..<((i + 1) * columns)].map { Double(Float($0)) }
            let m = zip(row, mask).filter(\.1).map(\.0).max()!
            let e = zip(row, mask).map { $1 ? Foundation.exp($0 - m) : 0 }
            let sum = e.reduce(0, +)
            for j in 0..<columns {
                let p = Double(single[i * columns + j])
                if mask[j] { #expect(abs(p - e[j] / sum) <= 1e-6, "row \(i) column \(j)") } else { #expect(p == 0) }
            }
        }
    }
}
