import Linalg

/// Max pooling over non-overlapping (or strided) `k × k` windows of an NHWC image batch:
/// `y[b, i, j, c] = max_{u,v<k} x[b, i·s + u, j·s + v, c]`, output `⌊(H − k)/s⌋ + 1` on a side.
/// Backward routes `g` to the arg-max of each window (first one on ties).
///
/// Kernels: the arg-max is kept as the window offset `u·k + v` stored in a `Scalar` (same lane width as
/// the data, so that the compare-and-select loops over a channel run vectorise); every loop writes its
/// outputs unconditionally (a conditional store would stop the vectoriser). The common 2 × 2 window is
/// unrolled. Output rows are split over `ParallelLoop`'s threads. With `s = k` (windows tile the image)
/// backward writes every input pixel once (`g` at the arg-max, 0 elsewhere) instead of zeroing and
/// scattering.
public final class MaxPool2d<Scalar: NeuralScalar>: WindowPooling {
    public static var layerName: String { "MaxPool2d" }
    public let window: PoolingWindow
    /// Window offset `u·k + v` of each output's maximum (as a `Scalar`), from the last forward pass.
    private var argmax: [Scalar] = []
    private var batch = 0

    public init(input: ImageShape, kernelSize: Int, stride: Int? = nil) {
        window = PoolingWindow(layer: Self.layerName, input: input, kernelSize: kernelSize, stride: stride)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        requireInputWidth(x)
        batch = x.rows
        let (h, w, c) = (inputShape.height, inputShape.width, inputShape.channels)
        let (oh, ow) = (outputShape.height, outputShape.width)
        let (k, s) = (kernelSize, stride)
        let count = batch * outputShape.features
        guard count > 0 else { return Matrix(rows: batch, columns: outputShape.features) }
        if argmax.count != count { argmax = [Scalar](repeating: 0, count: count) }
        return argmax.withUnsafeMutableBufferPointer { ab in
            Matrix<Scalar>(rows: batch, columns: outputShape.features) { yb in
                x.withUnsafeBufferPointer { xb in
                    let (xp, yp, ap) = (xb.baseAddress!, yb.baseAddress!, ab.baseAddress!)
                    // One index per output row (example n, output row oy).
                    ParallelLoop.forEachChunk(batch * oh, workPerIndex: ow * c * k * k) { rows in
                        for row in rows {
                            let (n, oy) = row.quotientAndRemainder(dividingBy: oh)
                            for ox in 0..<ow {
                                let out = (row * ow + ox) * c
                                let corner = xp + ((n * h + oy * s) * w + ox * s) * c
                                if k == 2 {
                                    Self.max2x2(corner, rowStride: w * c, channels: c, yp + out, ap + out)
                                } else {
                                    Self.maxWindow(corner, kernel: k, rowStride: w * c, channels: c, yp + out, ap + out)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Max and arg-max of one 2 × 2 window over a run of `channels`, visiting (0,0), (0,1), (1,0), (1,1)
    /// with strict `>` (first maximum wins) as pure selects.
    @inline(__always)
    private static func max2x2(_ p: UnsafePointer<Scalar>, rowStride: Int, channels c: Int,
                               _ y: UnsafeMutablePointer<Scalar>, _ arg: UnsafeMutablePointer<Scalar>) {
        let p01 = p + c, p10 = p + rowStride, p11 = p + rowStride + c
        var start = 0
        if Scalar.self == Float.self {
            start = maxPool2x2(UnsafeRawPointer(p).assumingMemoryBound(to: Float.self), rowStride: rowStride, channels: c,
                               UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self),
                               UnsafeMutableRawPointer(arg).assumingMemoryBound(to: Float.self))
        }
        for ch in start..<c {
            let a = p[ch], b = p01[ch], d = p10[ch], e = p11[ch]
            let m1 = b > a
            let best1 = m1 ? b : a, arg1: Scalar = m1 ? 1 : 0
            let m2 = d > best1
            let best2 = m2 ? d : best1, arg2: Scalar = m2 ? 2 : arg1
            let m3 = e > best2
            y[ch] = m3 ? e : best2
            arg[ch] = m3 ? 3 : arg2
        }
    }

    /// Max and arg-max of one `k × k` window over a run of `channels` (row-major visit, strict `>`).
    @inline(__always)
    private static func maxWindow(_ p: UnsafePointer<Scalar>, kernel k: Int, rowStride: Int, channels c: Int,
                                  _ y: UnsafeMutablePointer<Scalar>, _ arg: UnsafeMutablePointer<Scalar>) {
        y.update(from: p, count: c)
        arg.update(repeating: 0, count: c)
        for u in 0..<k {
            for v in 0..<k where u + v > 0 {
                let src = p + u * rowStride + v * c
                let offset = Scalar(u * k + v)
                for ch in 0..<c {
                    let value = src[ch], best = y[ch], current = arg[ch]
                    let better = value > best
                    y[ch] = better ? value : best
                    arg[ch] = better ? offset : current
                }
            }
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        precondition(g.rows == batch && g.columns == outputShape.features, "\(summary) backward got \(g.rows)×\(g.columns)")
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        let (h, w, c) = (inputShape.height, inputShape.width, inputShape.channels)
        let (oh, ow) = (outputShape.height, outputShape.width)
        let (k, s) = (kernelSize, stride)
        let imageSize = h * w * c
        guard batch > 0 else { return Matrix(rows: 0, columns: inputShape.features) }
        return argmax.withUnsafeBufferPointer { ab in
            g.withUnsafeBufferPointer { gb in
                Matrix<Scalar>(rows: batch, columns: inputShape.features) { db in
                    let (gp, dp, ap) = (gb.baseAddress!, db.baseAddress!, ab.baseAddress!)
                    // One index per example: images are disjoint in dx.
                    ParallelLoop.forEachChunk(batch, workPerIndex: imageSize) { examples in
                        for n in examples {
                            let image = dp + n * imageSize
                            guard s == k else {
                                // Overlapping or gapped windows: zero, then add each g at its arg-max.
                                image.update(repeating: 0, count: imageSize)
                                for oy in 0..<oh {
                                    for ox in 0..<ow {
                                        let out = ((n * oh + oy) * ow + ox) * c
                                        let corner = image + (oy * s * w + ox * s) * c
                                        for ch in 0..<c {
                                            let (u, v) = Int(ap[out + ch]).quotientAndRemainder(dividingBy: k)
                                            corner[(u * w + v) * c + ch] += gp[out + ch]
                                        }
                                    }
                                }
                                continue
                            }
                            // Windows tile the image: write each covered pixel once, zero the uncovered margin.
                            for y in (oh * k)..<h { (image + y * w * c).update(repeating: 0, count: w * c) }
                            if ow * k < w {
                                for y in 0..<(oh * k) {
                                    (image + (y * w + ow * k) * c).update(repeating: 0, count: (w - ow * k) * c)
                                }
                            }
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    let out = ((n * oh + oy) * ow + ox) * c
                                    let (go, ao) = (gp + out, ap + out)
                                    let corner = image + (oy * k * w + ox * k) * c
                                    if k == 2 {
                                        let d01 = corner + c, d10 = corner + w * c, d11 = corner + w * c + c
                                        var start = 0
                                        if Scalar.self == Float.self {
                                            start = routeMaxPool2x2(UnsafeRawPointer(go).assumingMemoryBound(to: Float.self),
                                                                    UnsafeRawPointer(ao).assumingMemoryBound(to: Float.self),
                                                                    UnsafeMutableRawPointer(corner).assumingMemoryBound(to: Float.self),
                                                                    rowStride: w * c, channels: c)
                                        }
                                        for ch in start..<c {
                                            let gv = go[ch], a = ao[ch]
                                            corner[ch] = a == 0 ? gv : 0
                                            d01[ch] = a == 1 ? gv : 0
                                            d10[ch] = a == 2 ? gv : 0
                                            d11[ch] = a == 3 ? gv : 0
                                        }
                                    } else {
                                        for u in 0..<k {
                                            for v in 0..<k {
                                                let dst = corner + (u * w + v) * c
                                                let offset = Scalar(u * k + v)
                                                for ch in 0..<c { let gv = go[ch]; dst[ch] = ao[ch] == offset ? gv : 0 }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `MaxPool2d`'s 2 × 2 forward on Float, eight channels at a time with explicit SIMD (the generic loop
/// does not vectorise): the same selects in the same order, so bit for bit the scalar loop's result.
/// Returns the channels done (a multiple of 8); the caller finishes the rest.
@inline(__always)
private func maxPool2x2(_ p: UnsafePointer<Float>, rowStride: Int, channels c: Int,
                        _ y: UnsafeMutablePointer<Float>, _ arg: UnsafeMutablePointer<Float>) -> Int {
    typealias V = SIMD8<Float>
    let p01 = p + c, p10 = p + rowStride, p11 = p + rowStride + c
    var ch = 0
    while ch + V.scalarCount <= c {
        let a = UnsafeRawPointer(p + ch).loadUnaligned(as: V.self)
        let b = UnsafeRawPointer(p01 + ch).loadUnaligned(as: V.self)
        let d = UnsafeRawPointer(p10 + ch).loadUnaligned(as: V.self)
        let e = UnsafeRawPointer(p11 + ch).loadUnaligned(as: V.self)
        let m1 = b .> a
        let best1 = a.replacing(with: b, where: m1), arg1 = V(repeating: 0).replacing(with: 1, where: m1)
        let m2 = d .> best1
        let best2 = best1.replacing(with: d, where: m2), arg2 = arg1.replacing(with: 2, where: m2)
        let m3 = e .> best2
        UnsafeMutableRawPointer(y + ch).storeBytes(of: best2.replacing(with: e, where: m3), as: V.self)
        UnsafeMutableRawPointer(arg + ch).storeBytes(of: arg2.replacing(with: 3, where: m3), as: V.self)
        ch += V.scalarCount
    }
    return ch
}

/// `MaxPool2d`'s 2 × 2 tiled backward on Float, eight channels at a time: each of the four window pixels
/// gets `g` where the arg-max names it and 0 elsewhere. Returns the channels done (a multiple of 8).
@inline(__always)
private func routeMaxPool2x2(_ g: UnsafePointer<Float>, _ arg: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>,
                             rowStride: Int, channels c: Int) -> Int {
    typealias V = SIMD8<Float>
    let zero = V(repeating: 0)
    var ch = 0
    while ch + V.scalarCount <= c {
        let gv = UnsafeRawPointer(g + ch).loadUnaligned(as: V.self)
        let a = UnsafeRawPointer(arg + ch).loadUnaligned(as: V.self)
        UnsafeMutableRawPointer(d + ch).storeBytes(of: zero.replacing(with: gv, where: a .== 0), as: V.self)
        UnsafeMutableRawPointer(d + c + ch).storeBytes(of: zero.replacing(with: gv, where: a .== 1), as: V.self)
        UnsafeMutableRawPointer(d + rowStride + ch).storeBytes(of: zero.replacing(with: gv, where: a .== 2), as: V.self)
        UnsafeMutableRawPointer(d + rowStride + c + ch).storeBytes(of: zero.replacing(with: gv, where: a .== 3), as: V.self)
        ch += V.scalarCount
    }
    return ch
}

/// Average pooling over `k × k` windows with stride `s` of an NHWC image batch:
/// `y[b, i, j, c] = (1/k²) Σ_{u,v<k} x[b, i·s + u, j·s + v, c]`; backward spreads `g/k²` over each window.
public final class AvgPool2d<Scalar: NeuralScalar>: WindowPooling {
    public static var layerName: String { "AvgPool2d" }
    public let window: PoolingWindow
    private var batch = 0

    public init(input: ImageShape, kernelSize: Int, stride: Int? = nil) {
        window = PoolingWindow(layer: Self.layerName, input: input, kernelSize: kernelSize, stride: stride)
    }

    /// Calls `body(outputOffset, inputOffset)` for every (output pixel, window pixel) pair, per channel run.
    @inline(__always)
    private func forEachWindowPixel(_ body: (Int, Int) -> Void) {
        let (h, w, c) = (inputShape.height, inputShape.width, inputShape.channels)
        let (oh, ow) = (outputShape.height, outputShape.width)
        for n in 0..<batch { for oy in 0..<oh { for ox in 0..<ow {
            let out = ((n * oh + oy) * ow + ox) * c
            for u in 0..<kernelSize { for v in 0..<kernelSize {
                body(out, ((n * h + oy * stride + u) * w + ox * stride + v) * c)
            } }
        } } }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        requireInputWidth(x)
        batch = x.rows
        return windowMeans(x, toOutput: true)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        precondition(g.rows == batch && g.columns == outputShape.features, "\(summary) backward got \(g.rows)×\(g.columns)")
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        return windowMeans(g, toOutput: false)
    }

    /// The forward map (`toOutput`: `y[out] += x[window pixel]/k²`) or its adjoint (`dx[window pixel] += g[out]/k²`)
    /// over the last forward pass's `batch` rows.
    @inline(__always)
    private func windowMeans(_ source: Matrix<Scalar>, toOutput: Bool) -> Matrix<Scalar> {
        let c = inputShape.channels
        let scale = 1 / Scalar(kernelSize * kernelSize)
        var result = Matrix<Scalar>(rows: batch, columns: toOutput ? outputShape.features : inputShape.features)
        source.withUnsafeBufferPointer { sp in
            result.withUnsafeMutableBufferPointer { rp in
                forEachWindowPixel { o, i in
                    let (to, from) = toOutput ? (o, i) : (i, o)
                    for ch in 0..<c { rp[to + ch] += scale * sp[from + ch] }
                }
            }
        }
        return result
    }
}
