import CBLAS
import Linalg
import NeuralNet

extension LinearizedModel {
    /// The Gram matrix `V Vᵀ` of `V = Cᵀ J_f` without forming `J_f` (docs/tngd.md#exact-simulation): `C` is
    /// block diagonal over the examples, example `e`'s block `d_z × q` given as the rows `e·q … e·q+q−1` of
    /// `seeds` (`b·q × d_z`, row `e·q + k` = column `k` of `C_e`). Row `(e, k)` of `V` is `Σ_c C_e[c, k] J_(e,c)`.
    ///
    /// The `b·q` seeds are propagated backwards through the layer rules as cotangents (row `(e, k)` only ever
    /// meets example `e`'s cached data), and every layer with parameters adds its block of `V Vᵀ`:
    /// - `Linear` (`W` and `b`): `(x_e·x_e' + 1) (δ_(e,k)·δ_(e',k'))` — a Hadamard product of the `b × b`
    ///   input Gram and the `bq × bq` cotangent Gram, `O((bq)² out)` instead of `O((bq)² in·out)`;
    /// - `Conv2d`: the rows of the layer's Jacobian `Σ_p δ_(e,k),p ⊗ P_e,p` explicitly (`o·k` columns), then
    ///   their Gram; `LayerNorm`: `[δ ⊙ x̂_e, δ]` explicitly.
    /// Returns nil for a layer without a rule here (average pooling) or when the model has frozen parameters;
    /// the caller then forms `V` row by row.
    /// The result is `bq × bq` in `Scalar`.
    public func jacobianGram(seeds: Matrix<Scalar>, perExample q: Int) -> Matrix<Scalar>? {
        let b = examples, rows = b * q
        precondition(seeds.rows == rows && seeds.columns == outputDimension, "jacobianGram: seeds are \(seeds.rows)×\(seeds.columns)")
        // The rules see every parameter; with frozen ones (no column of J) the caller's row-by-row path applies.
        guard trainableSlots == nil else { return nil }
        // The Gram rules below are for chains whose dense layers see one row per example; token models
        // (residuals, attention, layers shared over positions) take the caller's row-by-row path.
        guard rules.allSatisfy({ $0.hasGramRule(examples: b) }) else { return nil }
        guard let firstParameters = rules.firstIndex(where: { $0.hasParameters }) else { return Matrix(rows: rows, columns: rows) }
        // Input width of every rule (the forward widths), for the scatter of max pooling.
        var widths: [Int] = []
        var width = 0
        for rule in rules {
            switch rule {
            case let .linear(x, _, _, _): width = x.columns
            case let .convolution(_, _, _, _, _, copy): width = copy.inputShape.features
            default: break
            }
            widths.append(width)
            switch rule {
            case let .linear(_, _, _, layer): width = layer.weight.value.rows
            case let .convolution(p, _, _, o, _, _): width = p.rows / b * o
            case let .mask(m): width = m.columns
            case let .gather(_, features): width = features
            case let .layerNorm(xhat, _, _, _, _): width = xhat.columns
            case let .linearMap(layer): width = layer.outputFeatures(forInput: width)
            case .identity, .residual, .positionEmbedding, .classToken, .attention, .noTangent, .adapted: break
            }
        }
        var gram = Matrix<Scalar>(rows: rows, columns: rows)
        var delta = seeds
        for index in rules.indices.reversed() where index >= firstParameters {
            let upstream = index > firstParameters
            switch rules[index] {
            case let .linear(x, _, bias, layer):
                var cotangentGram = Matrix<Scalar>(rows: rows, columns: rows)
                Self.addGram(of: delta, into: &cotangentGram)
                let inputGram = BLAS.matmul(x, x, transposeB: true)
                let one: Scalar = bias == nil ? 0 : 1
                gram.withUnsafeMutableBufferPointer { g in
                    cotangentGram.withUnsafeBufferPointer { c in
                        inputGram.withUnsafeBufferPointer { xx in
                            for r in 0..<rows {
                                let e = r / q
                                for s in 0...r {
                                    let v = c[r * rows + s] * (xx[e * b + s / q] + one)
                                    g[r * rows + s] += v
                                }
                            }
                        }
                    }
                }
                if upstream { delta = BLAS.matmul(delta, layer.weight.value) }
            case let .convolution(patches, _, bias, o, k, copy):
                let positions = patches.rows / b
                let columns = o * k + (bias == nil ? 0 : o)
                var jac = Matrix<Scalar>(rows: rows, columns: columns)
                jac.withUnsafeMutableBufferPointer { jp in
                    delta.withUnsafeBufferPointer { dp in
                        patches.withUnsafeBufferPointer { pp in
                            for r in 0..<rows {
                                let d = dp.baseAddress! + r * positions * o, out = jp.baseAddress! + r * columns
                                Scalar.gemm(CblasTrans, CblasNoTrans, Int32(o), Int32(k), Int32(positions), 1, d, Int32(o),
                                            pp.baseAddress! + (r / q) * positions * k, Int32(k), 0, out, Int32(k))
                                if bias != nil {
                                    for p in 0..<positions { for c in 0..<o { out[o * k + c] += d[p * o + c] } }
                                }
                            }
                        }
                    }
                }
                Self.addGram(of: jac, into: &gram)
                if upstream {
                    _ = copy.forward(Matrix(rows: rows, columns: copy.inputShape.features),
                                     context: ForwardContext(isTraining: false, examples: rows))
                    delta = copy.backward(delta, options: BackwardOptions(parameterGradients: false, inputGradient: true))
                }
            case let .mask(m):
                let f = m.columns
                m.withUnsafeBufferPointer { mp in
                    delta.withUnsafeMutableBufferPointer { dp in
                        for r in 0..<rows { for j in 0..<f { dp[r * f + j] *= mp[(r / q) * f + j] } }
                    }
                }
            case let .gather(source, features):
                let inF = widths[index]
                var d = Matrix<Scalar>(rows: rows, columns: inF)
                d.withUnsafeMutableBufferPointer { out in
                    delta.withUnsafeBufferPointer { dp in
                        for r in 0..<rows {
                            let e = r / q
                            for j in 0..<features { out[r * inF + Int(source[e * features + j])] += dp[r * features + j] }
                        }
                    }
                }
                delta = d
            case let .layerNorm(xhat, inverseStd, gamma, _, _):
                let f = xhat.columns
                var jac = Matrix<Scalar>(rows: rows, columns: 2 * f)
                for r in 0..<rows {
                    let e = r / q
                    for j in 0..<f { jac[r, j] = delta[r, j] * xhat[e, j]; jac[r, f + j] = delta[r, j] }
                }
                Self.addGram(of: jac, into: &gram)
                if upstream {
                    // The transpose of ẋ ↦ γ ⊙ r (ẋ − mean ẋ − x̂ mean(x̂ ⊙ ẋ)): w = γ ⊙ δ, then r (w − mean w − x̂ mean(x̂ ⊙ w)).
                    for r in 0..<rows {
                        let e = r / q
                        var mean: Scalar = 0, meanH: Scalar = 0
                        for j in 0..<f { let w = gamma[0, j] * delta[r, j]; mean += w; meanH += w * xhat[e, j] }
                        mean /= Scalar(f)
                        meanH /= Scalar(f)
                        for j in 0..<f { delta[r, j] = inverseStd[e] * (gamma[0, j] * delta[r, j] - mean - xhat[e, j] * meanH) }
                    }
                }
            case .linearMap, .residual, .positionEmbedding, .classToken, .attention, .noTangent, .adapted:
                return nil
            case .identity:
                continue
            }
        }
        // Only the lower triangle was accumulated: mirror it.
        gram.symmetrizeFromLower()
        return gram
    }

    /// Lower triangle of `gram += a aᵀ` (row-major `a`, one row per `V` row).
    private static func addGram(of a: Matrix<Scalar>, into gram: inout Matrix<Scalar>) {
        let (n, k) = (a.rows, a.columns)
        guard n > 0, k > 0 else { return }
        a.withUnsafeBufferPointer { ap in
            gram.withUnsafeMutableBufferPointer { g in
                Scalar.syrk(CblasLower, CblasNoTrans, Int32(n), Int32(k), 1, ap.baseAddress!, Int32(k), 1, g.baseAddress!, Int32(n))
            }
        }
    }
}

extension LinearizedModel.Rule {
    /// Whether the layer of this rule has trainable parameters.
    var hasParameters: Bool {
        switch self {
        case .linear, .convolution, .layerNorm, .positionEmbedding, .classToken, .attention, .adapted: return true
        case .mask, .gather, .linearMap, .identity, .noTangent: return false
        case let .residual(body): return body.contains { $0.hasParameters }
        }
    }

    /// Whether `jacobianGram` has a rule for this layer in a batch of `b` examples: not for the token
    /// layers, and not for a `Linear` that sees several rows per example.
    func hasGramRule(examples b: Int) -> Bool {
        switch self {
        case let .linear(x, _, _, _): return x.rows == b
        case .residual, .positionEmbedding, .classToken, .attention, .noTangent, .adapted: return false
        case .convolution, .mask, .gather, .layerNorm, .linearMap, .identity: return true
        }
    }
}

extension LinearizedModel {
    /// The rows of `V = Cᵀ J_f` (`b·q × N`; row `(e, k)` is `scale · Σ_c seeds[e·q + k, c] J_(e,c)`, seeds as in
    /// `jacobianGram`) by reverse mode, for models that `jacobianGram` has no rule for (token models, frozen
    /// parameters). Row `(e, k)` depends on example `e` alone, so each example runs one forward pass on its own
    /// (its row of the input and of the position mask, inference mode) and its `q` rows are `q` backward passes
    /// of that one example: about one batch forward and `q` batch backwards in all, where a VJP of the whole
    /// batch per row (`vjp` with one non-zero row) costs `b·q` batch backwards. Ends with a forward pass at the
    /// batch, so the layers hold this batch's caches again (as `vjp` needs). Overwrites the parameter gradients.
    public func jacobianRows(seeds: Matrix<Scalar>, perExample q: Int, scale: Scalar) -> Matrix<Scalar> {
        let (b, d) = (examples, outputDimension)
        precondition(seeds.rows == b * q && seeds.columns == d, "jacobianRows: seeds are \(seeds.rows)×\(seeds.columns)")
        var v = Matrix<Scalar>(rows: b * q, columns: parameterCount)
        var x = Matrix<Scalar>(rows: 1, columns: input.columns)
        var u = Matrix<Scalar>(rows: 1, columns: d)
        v.withUnsafeMutableBufferPointer { vp in
            for e in 0..<b {
                input.copyRows(CollectionOfOne(e), into: &x)
                _ = model.forward(x, context: ForwardContext(isTraining: false, examples: 1, positionMask: positionMask?.example(e)))
                for k in 0..<q {
                    for c in 0..<d { u[0, c] = scale * seeds[e * q + k, c] }
                    model.zeroGradients()
                    model.backward(u)
                    copyTrainableGradients(into: vp.baseAddress! + (e * q + k) * parameterCount)
                }
            }
        }
        _ = model.forward(input, context: context)
        return v
    }
}
