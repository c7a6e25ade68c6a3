import CBLAS
import Linalg
import NeuralNet

/// Building the tangent rules of a model tree and applying them (see `LinearizedModel`).
extension LinearizedModel {
    /// The rules of `layers` applied in order to `x` (which becomes their output), running each layer's
    /// forward pass (inference mode) so that its caches hold this batch for `vjp`. Containers recurse.
    static func rules(for layers: [any Module<Scalar>], input x: inout Matrix<Scalar>, context: ForwardContext,
                      offsets: [ObjectIdentifier: Int]) throws(CurvatureError) -> [Rule] {
        let b = context.examples
        var rules: [Rule] = []
        for layer in layers {
            switch layer {
            case let s as any SequentialComposition<Scalar>:
                rules += try Self.rules(for: s.stages, input: &x, context: context, offsets: offsets)
                continue
            case let r as Residual<Scalar>:
                var y = x
                let body = try Self.rules(for: [r.body], input: &y, context: context, offsets: offsets)
                y.axpy(1, x)
                rules.append(.residual(body))
                x = y
                continue
            case let a as MultiHeadSelfAttention<Scalar>:
                let y = a.forward(x, context: context)
                let attended = a.attended
                // Projection i's `Linear` rule, plus its LoRA adapter's rules when it has one (ẏ = ẏ_base + ẏ_adapter).
                func projection(_ i: Int, _ l: Linear<Scalar>, _ input: Matrix<Scalar>) throws(CurvatureError) -> Rule {
                    let base = Self.linearRule(l, input: input, offsets: offsets)
                    guard !a.adapters.isEmpty else { return base }
                    var h = input
                    return .adapted(base: base, adapter: try Self.rules(for: [a.adapters[i]], input: &h, context: context, offsets: offsets))
                }
                rules.append(.attention(a, query: try projection(0, a.query, x), key: try projection(1, a.key, x),
                                        value: try projection(2, a.value, x), output: try projection(3, a.output, attended)))
                x = y
                continue
            default:
                break
            }
            let y = layer.forward(x, context: context)
            switch layer {
            case let linear as Linear<Scalar>:
                rules.append(Self.linearRule(linear, input: x, offsets: offsets))
            case let conv as Conv2d<Scalar>:
                rules.append(Self.convolutionRule(conv, input: x, offsets: offsets))
            case is ReLU<Scalar>:
                var m = x
                m.mapInPlace { $0 > 0 ? 1 : 0 }
                rules.append(.mask(m))
            case is Tanh<Scalar>:
                var m = y
                m.mapInPlace { 1 - $0 * $0 }
                rules.append(.mask(m))
            case is GELU<Scalar>:
                // GELU'(x) = Φ(x) + x φ(x)
                var m = x
                let invSqrt2 = 1 / Scalar(2).squareRoot(), invSqrt2Pi = 1 / (2 * Scalar.pi).squareRoot()
                m.mapInPlace { v in Scalar(0.5) * (1 + Scalar.errorFunction(v * invSqrt2)) + v * invSqrt2Pi * Scalar.exponential(-Scalar(0.5) * v * v) }
                rules.append(.mask(m))
            case let norm as LayerNorm<Scalar>:
                rules.append(Self.layerNormRule(norm, input: x, offsets: offsets))
            case let pool as MaxPool2d<Scalar>:
                rules.append(.gather(Self.argmax(pool, x), outputFeatures: pool.outputShape.features))
            case let pool as AvgPool2d<Scalar>:
                rules.append(.linearMap(AvgPool2d<Scalar>(input: pool.inputShape, kernelSize: pool.kernelSize, stride: pool.stride)))
            case is Flatten<Scalar>, is Dropout<Scalar>:
                rules.append(.identity)
            case let p as PatchExtraction<Scalar>:
                rules.append(.linearMap(PatchExtraction<Scalar>(image: p.image, patchSize: p.patchSize)))
            case let p as TokenPooling<Scalar>:
                rules.append(.linearMap(TokenPooling<Scalar>(p.kind)))
            case let e as PositionEmbedding<Scalar>:
                rules.append(.positionEmbedding(weight: offsets[ObjectIdentifier(e.weight)]!, positions: e.positions, dimension: e.dimension))
            case let s as Scale<Scalar>:
                rules.append(.linearMap(Scale<Scalar>(s.factor)))
            case let e as BertEmbeddings<Scalar>:
                // Token ids carry no tangent; with frozen tables the output has none either.
                guard e.localParameters.allSatisfy({ !$0.parameter.isTrainable }) else { throw .unsupportedLayer(summary: e.summary + " with trainable tables") }
                rules.append(.noTangent)
            case let c as ClassToken<Scalar>:
                rules.append(.classToken(token: offsets[ObjectIdentifier(c.token)]!, dimension: c.dimension, positions: x.rows / b))
            default:
                throw .unsupportedLayer(summary: layer.summary)
            }
            x = y
        }
        return rules
    }

    /// The output tangent of `rules` for the input tangent `start` (nil: zero) and the parameter tangent
    /// `v` (rules' layout); nil when it is identically zero.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func apply(_ rules: [Rule], to start: Matrix<Scalar>?, parameters v: UnsafePointer<Scalar>, context: ForwardContext) -> Matrix<Scalar>? {
        let b = context.examples
        var dx = start   // nil: identically zero (the data have no tangent)
        for rule in rules {
            switch rule {
            case let .linear(x, w, bias, layer):
                dx = linearTangent(x, weight: w, bias: bias, layer: layer, inputTangent: dx, parameters: v)
            case let .convolution(p, w, bias, o, k, copy):
                var dy = dx.map { copy.forward($0, context: context) }
                    ?? Matrix<Scalar>(rows: b, columns: p.rows / b * o)
                let rows = p.rows
                dy.withUnsafeMutableBufferPointer { yp in
                    let y = yp.baseAddress!
                    if let bias { for r in 0..<rows { Scalar.axpy(Int32(o), 1, v + bias, 1, y + r * o, 1) } }
                    p.withUnsafeBufferPointer { pp in
                        Scalar.gemm(CblasNoTrans, CblasTrans, Int32(rows), Int32(o), Int32(k), 1, pp.baseAddress!, Int32(k),
                                    v + w, Int32(k), 1, y, Int32(o))
                    }
                }
                dx = dy
            case let .mask(m):
                guard var d = dx else { continue }
                m.withUnsafeBufferPointer { mp in
                    d.withUnsafeMutableBufferPointer { dp in for i in 0..<dp.count { dp[i] *= mp[i] } }
                }
                dx = d
            case let .gather(index, features):
                guard let d = dx else { continue }
                var dy = Matrix<Scalar>(rows: d.rows, columns: features)
                let inF = d.columns
                d.withUnsafeBufferPointer { dp in
                    dy.withUnsafeMutableBufferPointer { yp in
                        for n in 0..<d.rows { for j in 0..<features {
                            yp[n * features + j] = dp[n * inF + Int(index[n * features + j])]
                        } }
                    }
                }
                dx = dy
            case let .layerNorm(xhat, r, gamma, w, bias):
                let (n, f) = (xhat.rows, xhat.columns)
                var dy = Matrix<Scalar>(rows: n, columns: f)
                for i in 0..<n {
                    if let d = dx {
                        // ẋ̂ = r (ẋ − mean(ẋ) − x̂ mean(x̂ ⊙ ẋ))
                        var meanD: Scalar = 0, meanHD: Scalar = 0
                        for j in 0..<f { meanD += d[i, j]; meanHD += xhat[i, j] * d[i, j] }
                        meanD /= Scalar(f)
                        meanHD /= Scalar(f)
                        for j in 0..<f { dy[i, j] = gamma[0, j] * r[i] * (d[i, j] - meanD - xhat[i, j] * meanHD) }
                    }
                    for j in 0..<f { dy[i, j] += v[w + j] * xhat[i, j] + v[bias + j] }
                }
                dx = dy
            case let .linearMap(layer):
                guard let d = dx else { continue }
                dx = layer.forward(d, context: context)
            case .identity:
                continue
            case .noTangent:
                dx = nil
            case let .adapted(base, adapter):
                let y = apply([base], to: dx, parameters: v, context: context)
                dx = Self.sum(y, apply(adapter, to: dx, parameters: v, context: context))
            case let .residual(body):
                dx = Self.sum(dx, apply(body, to: dx, parameters: v, context: context))
            case let .positionEmbedding(w, positions, d):
                var dy = dx ?? Matrix<Scalar>(rows: b * positions, columns: d)
                let block = positions * d
                dy.withUnsafeMutableBufferPointer { yp in
                    for n in 0..<b { Scalar.axpy(Int32(block), 1, v + w, 1, yp.baseAddress! + n * block, 1) }
                }
                dx = dy
            case let .classToken(token, d, t):
                dx = classTokenTangent(dx, token: v + token, dimension: d, positions: t, examples: b)
            case let .attention(layer, query, key, value, output):
                let rows = layer.attended.rows, d = layer.dimension
                let zero = Matrix<Scalar>(rows: rows, columns: d)
                let q = apply([query], to: dx, parameters: v, context: context) ?? zero
                let k = apply([key], to: dx, parameters: v, context: context) ?? zero
                let vv = apply([value], to: dx, parameters: v, context: context) ?? zero
                let o = layer.attentionTangent(query: q, key: k, value: vv)
                dx = apply([output], to: o, parameters: v, context: context)
            }
        }
        return dx
    }

    /// `a + b` where nil means identically zero.
    static func sum(_ a: Matrix<Scalar>?, _ b: Matrix<Scalar>?) -> Matrix<Scalar>? {
        switch (a, b) {
        case (nil, let b): return b
        case (var a?, let b?): a.axpy(1, b); return a
        case (let a?, nil): return a
        }
    }

    /// The rule of `linear` at input `x`; a frozen weight or bias has no slot (its tangent term is skipped).
    static func linearRule(_ linear: Linear<Scalar>, input x: Matrix<Scalar>, offsets: [ObjectIdentifier: Int]) -> Rule {
        .linear(input: x, weight: linear.weight.isTrainable ? offsets[ObjectIdentifier(linear.weight)]! : nil,
                bias: linear.trainableBias.map { offsets[ObjectIdentifier($0)]! }, layer: linear)
    }

    /// `ẏ = ẋ Wᵀ + x Ẇᵀ + 1 ḃᵀ` of a `Linear` at input `x` (terms of frozen parameters omitted); nil when
    /// every term is (no input tangent, nothing trainable).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func linearTangent(_ x: Matrix<Scalar>, weight w: Int?, bias: Int?, layer: Linear<Scalar>, inputTangent dx: Matrix<Scalar>?,
                              parameters v: UnsafePointer<Scalar>) -> Matrix<Scalar>? {
        guard dx != nil || w != nil || bias != nil else { return nil }
        let (out, inF) = (layer.weight.value.rows, layer.weight.value.columns)
        var dy = Matrix<Scalar>(rows: x.rows, columns: out)
        dy.withUnsafeMutableBufferPointer { yp in
            let y = yp.baseAddress!
            if let bias { for r in 0..<x.rows { (y + r * out).update(from: v + bias, count: out) } }
            if let w {
                x.withUnsafeBufferPointer { xp in
                    Scalar.gemm(CblasNoTrans, CblasTrans, Int32(x.rows), Int32(out), Int32(inF), 1, xp.baseAddress!, Int32(inF),
                                v + w, Int32(inF), bias == nil ? 0 : 1, y, Int32(out))
                }
            }
            if let d = dx {
                d.withUnsafeBufferPointer { dp in
                    layer.weight.value.withUnsafeBufferPointer { wp in
                        Scalar.gemm(CblasNoTrans, CblasTrans, Int32(x.rows), Int32(out), Int32(inF), 1, dp.baseAddress!,
                                    Int32(inF), wp.baseAddress!, Int32(inF), 1, y, Int32(out))
                    }
                }
            }
        }
        return dy
    }

    /// `ċ` in front of each example's `T` rows of `ẋ` (zero rows when `ẋ` is nil).
    static func classTokenTangent(_ dx: Matrix<Scalar>?, token: UnsafePointer<Scalar>, dimension d: Int, positions t: Int,
                                  examples b: Int) -> Matrix<Scalar> {
        var dy = Matrix<Scalar>(rows: b * (t + 1), columns: d)
        dy.withUnsafeMutableBufferPointer { yp in
            for n in 0..<b {
                let row = yp.baseAddress! + n * (t + 1) * d
                row.update(from: token, count: d)
                if let dx { dx.withUnsafeBufferPointer { (row + d).update(from: $0.baseAddress! + n * t * d, count: t * d) } }
            }
        }
        return dy
    }
}
