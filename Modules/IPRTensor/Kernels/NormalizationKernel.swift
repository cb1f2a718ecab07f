/// Normalisation over groups of NCHW planes, with an optional per-channel affine.
///
/// Batch, group and instance norm differ only in which (n, c) planes share statistics:
/// batch norm groups plane (n, c) by c, group norm by (n, c / (C/G)), instance norm by (n, c).
struct PlaneGroups: Sendable {
    let n, c, s: Int          // batch, channels, plane size (H·W)
    let groupOf: @Sendable (_ n: Int, _ c: Int) -> Int
    let groupCount: Int
    /// The planes of each group, as (n, c) plane indices n·C + c.
    let planes: [[Int]]

    static func batchNorm(n: Int, c: Int, s: Int) -> PlaneGroups {
        PlaneGroups(n: n, c: c, s: s, groupOf: { _, c in c }, groupCount: c,
                    planes: (0..<c).map { ch in (0..<n).map { $0 * c + ch } })
    }

    static func groupNorm(n: Int, c: Int, s: Int, groups: Int) -> PlaneGroups {
        let cg = c / groups
        return PlaneGroups(n: n, c: c, s: s, groupOf: { n, c in n * groups + c / cg }, groupCount: n * groups,
                           planes: (0..<(n * groups)).map { k in
                               let b = k / groups, g = k % groups
                               return (0..<cg).map { b * c + g * cg + $0 }
                           })
    }

    var elementsPerGroup: Int { planes.first.map { $0.count * s } ?? 0 }
}

enum NormalizationKernel {
    /// Per-group mean and biased variance.
    static func statistics(_ x: UnsafePointer<Float>, _ pg: PlaneGroups) -> (mean: [Float], variance: [Float]) {
        var mean = [Float](repeating: 0, count: pg.groupCount), variance = mean
        let m = Float(pg.elementsPerGroup)
        let xp = UnsafeSendable(x)
        mean.withUnsafeMutableBufferPointer { mb in variance.withUnsafeMutableBufferPointer { vb in
            let mp = UnsafeSendable(mb.baseAddress!), vp = UnsafeSendable(vb.baseAddress!)
            parallelFor(pg.groupCount, grain: 1) { r in
                for k in r {
                    // Two passes (mean, then centred squares): one-pass E[x²]−E[x]² loses digits.
                    var sum: Double = 0
                    for p in pg.planes[k] { sum += Double(Elementwise.sum(xp.value + p * pg.s, pg.s)) }
                    let mu = Float(sum / Double(m))
                    var sq: Double = 0
                    for p in pg.planes[k] { sq += Double(centredSquares(xp.value + p * pg.s, pg.s, mean: mu)) }
                    mp.value[k] = mu
                    vp.value[k] = Float(sq / Double(m))
                }
            }
        } }
        return (mean, variance)
    }

    /// y = (x − mean_k) · rstd_k · w_c + b_c
    static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ pg: PlaneGroups,
                        mean: [Float], rstd: [Float], weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                        relu: Bool = false) {
        let yp = UnsafeSendable(y), xp = UnsafeSendable(x), wp = UnsafeSendable(weight), bp = UnsafeSendable(bias)
        parallelFor(pg.n * pg.c, grain: max(1, 4096 / max(pg.s, 1))) { r in
            for plane in r {
                let n = plane / pg.c, c = plane % pg.c, k = pg.groupOf(n, c)
                let scale = rstd[k] * (wp.value?[c] ?? 1)
                let shift = (bp.value?[c] ?? 0) - mean[k] * scale
                let src = xp.value + plane * pg.s, dst = yp.value + plane * pg.s
                if relu {
                    for i in 0..<pg.s { let v = src[i] * scale + shift; dst[i] = v > 0 ? v : 0 }
                } else {
                    for i in 0..<pg.s { dst[i] = src[i] * scale + shift }
                }
            }
        }
    }

    /// Gradients of the forward above. With `constantStatistics` (batch norm in eval mode) the mean
    /// and rstd are treated as constants; otherwise they are functions of x (batch statistics).
    /// `reluOutput` (the fused forward's output) masks the incoming gradient where the ReLU was off.
    static func backward(gradX: UnsafeMutablePointer<Float>, gradWeight: UnsafeMutablePointer<Float>?,
                         gradBias: UnsafeMutablePointer<Float>?, gradY: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         _ pg: PlaneGroups, mean: [Float], rstd: [Float], weight: UnsafePointer<Float>?,
                         constantStatistics: Bool, reluOutput: UnsafePointer<Float>? = nil) {
        let planes = pg.n * pg.c, s = pg.s
        // Per plane: Σ dy and Σ dy·x̂
        var sumDy = [Float](repeating: 0, count: planes), sumDyXhat = sumDy
        let gp = UnsafeSendable(gradY), xp = UnsafeSendable(x), rp = UnsafeSendable(reluOutput)
        sumDy.withUnsafeMutableBufferPointer { a in sumDyXhat.withUnsafeMutableBufferPointer { b in
            let ap = UnsafeSendable(a.baseAddress!), bp = UnsafeSendable(b.baseAddress!)
            parallelFor(planes, grain: max(1, 4096 / max(s, 1))) { r in
                for plane in r {
                    let n = plane / pg.c, c = plane % pg.c, k = pg.groupOf(n, c)
                    let dy = gp.value + plane * s, xs = xp.value + plane * s
                    let (sd, sdx) = gradientSums(dy, xs, rp.value.map { $0 + plane * s }, s, mean: mean[k])
                    ap.value[plane] = sd
                    bp.value[plane] = sdx * rstd[k]
                }
            }
        } }
        if let gradWeight { for c in 0..<pg.c { gradWeight[c] = (0..<pg.n).reduce(0) { $0 + sumDyXhat[$1 * pg.c + c] } } }
        if let gradBias { for c in 0..<pg.c { gradBias[c] = (0..<pg.n).reduce(0) { $0 + sumDy[$1 * pg.c + c] } } }

        // Per group: mean of dx̂ and of dx̂·x̂, where dx̂ = dy·w_c
        var meanDxhat = [Float](repeating: 0, count: pg.groupCount), meanDxhatXhat = meanDxhat
        if !constantStatistics {
            let m = Float(pg.elementsPerGroup)
            for k in 0..<pg.groupCount {
                var a: Float = 0, b: Float = 0
                for p in pg.planes[k] { let w = weight?[p % pg.c] ?? 1; a += w * sumDy[p]; b += w * sumDyXhat[p] }
                meanDxhat[k] = a / m; meanDxhatXhat[k] = b / m
            }
        }
        let dxp = UnsafeSendable(gradX), wp = UnsafeSendable(weight)
        let meanDxhatC = meanDxhat, meanDxhatXhatC = meanDxhatXhat
        parallelFor(planes, grain: max(1, 4096 / max(s, 1))) { r in
            for plane in r {
                let n = plane / pg.c, c = plane % pg.c, k = pg.groupOf(n, c)
                let w = wp.value?[c] ?? 1, mu = mean[k], rs = rstd[k]
                let dy = gp.value + plane * s, xs = xp.value + plane * s, dx = dxp.value + plane * s
                let r = rp.value.map { $0 + plane * s }
                if constantStatistics {
                    let f = w * rs
                    if let r { for i in 0..<s { let g = dy[i], on = r[i] > 0; dx[i] = on ? g * f : 0 } } else { for i in 0..<s { dx[i] = dy[i] * f } }
                } else {
                    // dx = rs·(d·w − a − (x − μ)·rs·b), as d·c1 + x·c2 + c3.
                    let a = meanDxhatC[k], b = meanDxhatXhatC[k]
                    let c1 = rs * w, c2 = -rs * rs * b, c3 = rs * (mu * rs * b - a)
                    if let r {
                        // Both loads before the select, or the loop does not vectorise (measured when this kernel was written).
                        for i in 0..<s { let g = dy[i], on = r[i] > 0; dx[i] = (on ? g : 0) * c1 + xs[i] * c2 + c3 }
                    } else {
                        for i in 0..<s { dx[i] = dy[i] * c1 + xs[i] * c2 + c3 }
                    }
                }
            }
        }
    }

    /// Σ (x − μ)² over one plane, in SIMD lanes (one scalar accumulator is latency-bound).
    @inline(__always)
    static func centredSquares(_ x: UnsafePointer<Float>, _ n: Int, mean mu: Float) -> Float {
        var acc = SIMD16<Float>()
        let m = SIMD16<Float>(repeating: mu)
        var i = 0
        while i + 16 <= n {
            let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m
            acc += d * d
            i += 16
        }
        var s = acc.sum()
        while i < n { let d = x[i] - mu; s += d * d; i += 1 }
        return s
    }

    /// Σ d and Σ d·(x − μ) over one plane, where d is the incoming gradient masked by the fused
    /// ReLU's output when there is one.
    @inline(__always)
    static func gradientSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ reluOutput: UnsafePointer<Float>?,
                             _ n: Int, mean mu: Float) -> (Float, Float) {
        var sd = SIMD16<Float>(), sdx = SIMD16<Float>()
        let m = SIMD16<Float>(repeating: mu), zero = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            var d = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD16<Float>.self)
            if let r = reluOutput { d = zero.replacing(with: d, where: UnsafeRawPointer(r + i).loadUnaligned(as: SIMD16<Float>.self) .> zero) }
            sd += d
            sdx += d * (UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m)
            i += 16
        }
        var a = sd.sum(), b = sdx.sum()
        while i < n {
            let d = reluOutput.map { $0[i] > 0 ? dy[i] : 0 } ?? dy[i]
            a += d; b += d * (x[i] - mu); i += 1
        }
        return (a, b)
    }
}
