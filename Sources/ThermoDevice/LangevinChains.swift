import CBLAS
import Dispatch
import Linalg

/// Many independent chains of a linear Langevin (Ornstein–Uhlenbeck) process advanced together.
///
/// The state is a `chains × n` row-major matrix `X` (one chain per row), so every step is one
/// matrix–matrix product plus a noise fill:
/// - `.eulerMaruyama`: `X ← X − δt (X Fᵀ − C) + σ Z`, `σ = sqrt(2δt/β)`; the noise (and `X + δt C`)
///   is written into the next buffer, then one GEMM with `β = 1` adds `−δt X Fᵀ` (docs/device.md#integrators).
/// - `.exact`: `X ← X e^{-Aδt} + Φ + Z Lᵀ` as *one* GEMM `[X | Z] · [e^{-Aδt}; Lᵀ]` of depth `2n`
///   (`Φ` holds the rows `φ(A) c`).
/// - `.underdamped`: `V ← V − (δt/m)(γ V + X Fᵀ − C) + (sqrt(2γδt/β)/m) Z`, then `X ← X + δt V`
///   (semi-implicit Euler–Maruyama of `m ẍ = −γẋ − (Ax − c) + sqrt(2γ/β) ξ`).
/// - `.eigenbasis`: the state is kept in modal coordinates `Y = X Q` and every chain advances as `n` scalar OU
///   processes (`EigenbasisTransition`), O(n) per chain step. `state`, `withState` and `setState` still speak
///   the device basis (one GEMM `chains × n × n` to rotate); the protocols read `withModalState` instead and
///   rotate only what the observable needs.
///
/// `C` (the constant inputs) has `biasRows` rows; chain `r` uses row `r / (chains / biasRows)`, so
/// many right-hand sides run side by side. Noise comes from `noiseStreams` independent xoshiro
/// streams, each filling a fixed block of rows, so results do not depend on the number of cores;
/// it is generated one step ahead on a second thread, overlapping the GEMM (see `step`).
public final class LangevinChains<Scalar: BLASScalar> {
    /// The update rule.
    public enum Scheme {
        case eulerMaruyama(drift: any DriftOperator<Scalar>)
        /// `transition` is `2n × n`: `e^{-Aδt}` stacked on `Lᵀ`; `offset` is `biasRows × n` (`φ(A) c` rows).
        case exact(transition: Matrix<Scalar>, offset: Matrix<Scalar>)
        case underdamped(drift: any DriftOperator<Scalar>, mass: Double, friction: Double)
        /// Exact per-mode transition; the state is stored as `Y = X Q`.
        case eigenbasis(EigenbasisTransition<Scalar>)
    }

    public let dimension: Int
    public let chains: Int
    public let timeStep: Double
    public let beta: Double
    private(set) var scheme: Scheme
    let bias: [Scalar]          // biasRows × n
    let chainsPerBiasRow: Int
    let width: Int              // leading dimension of the state buffers (n, or 2n for .exact)
    var current: [Scalar]
    var next: [Scalar]
    var velocity: [Scalar]      // underdamped only
    var force: [Scalar]         // underdamped only
    var rngs: [Xoshiro256StarStar]
    var noiseCurrent: [Float]   // chains × n standard normals for the next step
    var noiseNext: [Float]      // being filled while the current step runs
    var noiseReady = false
    /// Number of steps taken so far (per chain).
    public private(set) var stepsTaken = 0

    /// - Parameters:
    ///   - bias: the constant inputs `C`, `biasRows × n` with `chains` a multiple of `biasRows`.
    ///   - seed: noise seed; stream `k` of it feeds row block `k`.
    public init(scheme: Scheme, dimension n: Int, chains: Int, bias: Matrix<Scalar>, timeStep: Double,
                beta: Double, noiseStreams: Int, seed: UInt64) {
        precondition(n >= 1 && chains >= 1 && bias.columns == n && bias.rows >= 1 && chains % bias.rows == 0,
                     "LangevinChains: bias must be biasRows × n with chains a multiple of biasRows")
        self.dimension = n
        self.chains = chains
        self.timeStep = timeStep
        self.beta = beta
        self.scheme = scheme
        self.bias = bias.storage
        self.chainsPerBiasRow = chains / bias.rows
        if case .exact = scheme { width = 2 * n } else { width = n }
        current = [Scalar](repeating: 0, count: chains * width)
        next = current
        if case .underdamped = scheme {
            velocity = [Scalar](repeating: 0, count: chains * n)
            force = velocity
        } else {
            velocity = []
            force = []
        }
        let streams = Swift.max(1, Swift.min(noiseStreams, chains))
        rngs = (0..<streams).map { Xoshiro256StarStar(seed: seed, stream: UInt64(1000 + $0)) }
        noiseCurrent = [Float](repeating: 0, count: chains * n)
        // Eigenbasis chains draw each step's normals just before it (`step`): no second buffer to fill ahead.
        if case .eigenbasis = scheme { noiseNext = [] } else { noiseNext = noiseCurrent }
    }

    /// Sets every chain's state to `x0` (length `n`), or row-wise from a `chains × n` matrix.
    public func setState(_ x0: [Scalar]) {
        precondition(x0.count == dimension, "setState: expected \(dimension) values")
        let (n, w) = (dimension, width)
        current.withUnsafeMutableBufferPointer { s in
            for r in 0..<chains { for j in 0..<n { s[r * w + j] = x0[j] } }
        }
        rotateCurrentToModal()
    }

    /// `.eigenbasis`: the device-basis rows just written into `current` become modal coordinates (`Y = X Q`).
    private func rotateCurrentToModal() {
        guard case let .eigenbasis(t) = scheme else { return }
        current.withUnsafeBufferPointer { x in
            next.withUnsafeMutableBufferPointer { y in
                t.toModal(x.baseAddress!, rows: chains, ldx: width, into: y.baseAddress!, ldy: width)
            }
        }
        swap(&current, &next)
    }

    /// Sets chain `r`'s state from rows of `x0` (`chains × n`).
    public func setState(rows x0: Matrix<Scalar>) {
        precondition(x0.rows == chains && x0.columns == dimension, "setState(rows:): expected \(chains)×\(dimension)")
        let (n, w) = (dimension, width)
        x0.withUnsafeBufferPointer { src in
            current.withUnsafeMutableBufferPointer { s in
                for r in 0..<chains { for j in 0..<n { s[r * w + j] = src[r * n + j] } }
            }
        }
        rotateCurrentToModal()
    }

    /// Sets chain `r`'s state to row `r / chainsPerRow` of `x0` (`chains / chainsPerRow × n`): one start per
    /// group of chains (a warm start per right-hand side). `.eigenbasis` rotates the distinct rows only.
    public func setState(rows x0: Matrix<Scalar>, chainsPerRow per: Int) {
        precondition(per >= 1 && x0.rows * per == chains && x0.columns == dimension,
                     "setState(rows:chainsPerRow:): expected \(chains / Swift.max(per, 1))×\(dimension)")
        var start = x0
        if case let .eigenbasis(t) = scheme {
            start = Matrix(rows: x0.rows, columns: dimension, unsafeUninitializedWith: { out in
                x0.withUnsafeBufferPointer { x in
                    t.toModal(x.baseAddress!, rows: x0.rows, ldx: dimension, into: out.baseAddress!, ldy: dimension)
                }
            })
        }
        let (n, w) = (dimension, width)
        start.withUnsafeBufferPointer { src in
            current.withUnsafeMutableBufferPointer { s in
                // Whole rows (no division per element): chain r takes start row r / per.
                let from = src.baseAddress!, to = s.baseAddress!
                for r in 0..<chains { (to + r * w).update(from: from + (r / per) * n, count: n) }
            }
        }
    }

    /// Reads the state in the device basis: `body(pointer, leadingDimension)`; row `r` starts at `pointer + r * ld`.
    /// (`.eigenbasis`: the modal state is rotated back first, one GEMM.)
    public func withState<R>(_ body: (UnsafePointer<Scalar>, Int) throws -> R) rethrows -> R {
        if case let .eigenbasis(t) = scheme {
            current.withUnsafeBufferPointer { y in
                next.withUnsafeMutableBufferPointer { x in
                    t.toDevice(y.baseAddress!, rows: chains, ldy: width, into: x.baseAddress!, ldx: width)
                }
            }
            return try next.withUnsafeBufferPointer { try body($0.baseAddress!, width) }
        }
        return try current.withUnsafeBufferPointer { try body($0.baseAddress!, width) }
    }

    /// The eigenbasis transition, when the chains evolve in modal coordinates.
    var eigenbasisTransition: EigenbasisTransition<Scalar>? {
        if case let .eigenbasis(t) = scheme { return t }
        return nil
    }

    /// Reads the state as stored: modal coordinates `Y = X Q` for `.eigenbasis`, the device basis otherwise.
    func withStoredState<R>(_ body: (UnsafePointer<Scalar>, Int) throws -> R) rethrows -> R {
        try current.withUnsafeBufferPointer { try body($0.baseAddress!, width) }
    }

    /// `.eigenbasis` only: one exact jump of `time` τ (burn-in), drawing its noise from the same streams.
    /// Not counted in `stepsTaken` (the caller accounts for it, as for a separate relaxation).
    func jump(time: Double) {
        guard case let .eigenbasis(t) = scheme else { preconditionFailure("jump(time:) needs the eigenbasis scheme") }
        scheme = .eigenbasis(t.retimed(time))
        step()
        scheme = .eigenbasis(t)
        stepsTaken -= 1
    }

    /// A copy of the state as a `chains × n` matrix.
    public var state: Matrix<Scalar> {
        var m = Matrix<Scalar>(rows: chains, columns: dimension)
        let (n, w) = (dimension, width)
        withState { p, _ in
            m.withUnsafeMutableBufferPointer { d in
                for r in 0..<chains { for j in 0..<n { d[r * n + j] = p[r * w + j] } }
            }
        }
        return m
    }

    /// Advances every chain by `count` steps.
    ///
    /// Noise is pipelined: step k consumes the normals prepared during step k−1 and, when the batch is
    /// large enough to pay for a thread hand-off, the normals for step k+1 are generated on another
    /// thread *while* step k's GEMM runs. The random streams are consumed in the same order either
    /// way, so results do not depend on the path taken.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func step(_ count: Int = 1) {
        // Eigenbasis steps are O(n) per chain, far cheaper than the normals they consume: nothing to overlap
        // with, so each step's normals are drawn just before it (never one batch ahead that no step uses: a solve
        // whose chains take a single jump draws one batch, not two), their stream blocks split over the threads.
        // The streams are consumed in the same order as with the pipeline, so the numbers are the same.
        if eigenbasisTransition != nil {
            for _ in 0..<count {
                if !noiseReady { noiseCurrent.withUnsafeMutableBufferPointer { fillNoise($0.baseAddress!, threads: ParallelLoop.threads) } }
                noiseCurrent.withUnsafeBufferPointer { advance($0.baseAddress!) }
                noiseReady = false
                stepsTaken += 1
            }
            return
        }
        if !noiseReady {
            noiseCurrent.withUnsafeMutableBufferPointer { fillNoise($0.baseAddress!) }
            noiseReady = true
        }
        let overlap = chains * dimension >= 16_384
        for _ in 0..<count {
            noiseCurrent.withUnsafeBufferPointer { zc in
                noiseNext.withUnsafeMutableBufferPointer { zn in
                    let z = zc.baseAddress!, next = zn.baseAddress!
                    if overlap {
                        let group = DispatchGroup()
                        let box = UncheckedSendableBox(value: (self, next))
                        DispatchQueue.global(qos: .userInitiated).async(group: group) {
                            box.value.0.fillNoise(box.value.1)
                        }
                        advance(z)
                        group.wait()
                    } else {
                        advance(z)
                        fillNoise(next)
                    }
                }
            }
            swap(&noiseCurrent, &noiseNext)
            stepsTaken += 1
        }
    }

    /// One step of the scheme with the standard normals `z` (`chains × n`, Float).
    @inline(__always)
    func advance(_ z: UnsafePointer<Float>) {
        switch scheme {
        case let .eulerMaruyama(drift): stepEulerMaruyama(drift, z)
        case let .exact(transition, offset): stepExact(transition, offset, z)
        case let .underdamped(drift, m, g): stepUnderdamped(drift, mass: m, friction: g, z)
        case let .eigenbasis(t):
            current.withUnsafeMutableBufferPointer { y in
                t.advance(y.baseAddress!, chains: chains, ld: width, chainsPerInputRow: chainsPerBiasRow, noise: z)
            }
        }
    }

    /// Fills `chains × n` standard normals: block `k` of rows from stream `k` (fixed assignment), the blocks
    /// shared out over up to `threads` threads (the numbers do not depend on the split).
    func fillNoise(_ out: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let blocks = rngs.count, c = chains, n = dimension
        let sampler = NoiseSampler.shared
        rngs.withUnsafeMutableBufferPointer { gens in
            let g = gens.baseAddress!
            ParallelLoop.forEachChunk(blocks, workPerIndex: c * n / blocks, threads: threads) { range in
                for k in range {
                    let rows = (k * c / blocks)..<((k + 1) * c / blocks)
                    sampler.fill(out + rows.lowerBound * n, count: rows.count * n, &g[k])
                }
            }
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func stepEulerMaruyama(_ drift: any DriftOperator<Scalar>, _ z: UnsafePointer<Float>) {
        let n = dimension, per = chainsPerBiasRow
        let dt = Scalar(timeStep), sigma = Scalar((2 * timeStep / beta).squareRoot())
        current.withUnsafeBufferPointer { xb in
            next.withUnsafeMutableBufferPointer { yb in
                bias.withUnsafeBufferPointer { cb in
                    let x = xb.baseAddress!, y = yb.baseAddress!, c = cb.baseAddress!
                    for r in 0..<chains {
                        let xr = x + r * n, yr = y + r * n, cr = c + (r / per) * n, zr = z + r * n
                        for j in 0..<n { yr[j] = xr[j] + dt * cr[j] + sigma * Scalar(zr[j]) }
                    }
                    drift.apply(x, rows: chains, ldx: n, alpha: -dt, beta: 1, into: y, ldy: n)
                }
            }
        }
        swap(&current, &next)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func stepExact(_ transition: Matrix<Scalar>, _ offset: Matrix<Scalar>, _ z: UnsafePointer<Float>) {
        let n = dimension, w = width, per = chainsPerBiasRow
        current.withUnsafeMutableBufferPointer { xb in
            next.withUnsafeMutableBufferPointer { yb in
                offset.withUnsafeBufferPointer { ob in
                    transition.withUnsafeBufferPointer { kb in
                        let x = xb.baseAddress!, y = yb.baseAddress!, o = ob.baseAddress!
                        for r in 0..<chains {
                            let zr = x + r * w + n, yr = y + r * w, orow = o + (r / per) * n, src = z + r * n
                            for j in 0..<n { zr[j] = Scalar(src[j]); yr[j] = orow[j] }
                        }
                        Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(chains), Int32(n), Int32(2 * n), 1,
                                    x, Int32(w), kb.baseAddress!, Int32(n), 1, y, Int32(w))
                    }
                }
            }
        }
        swap(&current, &next)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func stepUnderdamped(_ drift: any DriftOperator<Scalar>, mass: Double, friction: Double, _ z: UnsafePointer<Float>) {
        let n = dimension, per = chainsPerBiasRow
        let dt = Scalar(timeStep)
        let a = Scalar(timeStep / mass), damp = Scalar(1 - friction * timeStep / mass)
        let sigma = Scalar((2 * friction * timeStep / beta).squareRoot() / mass)
        current.withUnsafeMutableBufferPointer { xb in
            velocity.withUnsafeMutableBufferPointer { vb in
                force.withUnsafeMutableBufferPointer { fb in
                    bias.withUnsafeBufferPointer { cb in
                        let x = xb.baseAddress!, v = vb.baseAddress!, f = fb.baseAddress!, c = cb.baseAddress!
                        drift.apply(x, rows: chains, ldx: n, alpha: 1, beta: 0, into: f, ldy: n)
                        for r in 0..<chains {
                            let xr = x + r * n, vr = v + r * n, fr = f + r * n, cr = c + (r / per) * n, zr = z + r * n
                            for j in 0..<n {
                                let vNew = damp * vr[j] - a * (fr[j] - cr[j]) + sigma * Scalar(zr[j])
                                vr[j] = vNew
                                xr[j] += dt * vNew
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Carries thread-confined pointers and closures into `concurrentPerform`; used only where each
/// iteration writes disjoint memory.
struct UncheckedSendableBox<T>: @unchecked Sendable {
    let value: T
}
