// Pooling over NCHW planes; every (n, c) plane is independent, so kernels split over planes.

/// Max pooling (PyTorch `F.max_pool2d`; padding counts as −∞, NaN wins). The gradient goes to the
/// first maximal element of each window.
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    let s = stride ?? kernel
    precondition(x.rank == 4, "maxPool2d: input must be NCHW, got \(x.shape)")
    precondition(padding * 2 <= kernel, "maxPool2d: padding \(padding) larger than half the kernel \(kernel)")
    let (h, w) = (x.shape[2], x.shape[3])
    let oh = (h + 2 * padding - kernel) / s + 1, ow = (w + 2 * padding - kernel) / s + 1
    precondition(oh > 0 && ow > 0, "maxPool2d: kernel \(kernel) larger than input \(h)×\(w)")
    if kernel == 2 && s == 2 && padding == 0 { return maxPool2x2(x) }
    return maxPoolWithIndices(x, kernel: kernel, stride: s, padding: padding, oh: oh, ow: ow)
}

/// The 2×2, stride-2 pool of AlexNet and most CNNs. The forward pass stores no indices; the
/// backward pass finds each window's first maximum again from the input and the output (the
/// preceding ReLU keeps the input alive anyway) and writes every input gradient once, so it needs
/// neither an index buffer nor a zero fill.
private func maxPool2x2(_ x: Tensor) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = h / 2, ow = w / 2
    let out = Tensor(uninitialized: [n, c, oh, ow])
    let o = UnsafeSendable(out.pointer), xi = UnsafeSendable(x.pointer)
    parallelFor(n * c, grain: 8) { r in
        for plane in r {
            for oy in 0..<oh {
                let r0: UnsafeMutablePointer<Float> = xi.value + (plane * h + 2 * oy) * w, r1 = r0 + w
                let dst: UnsafeMutablePointer<Float> = o.value + (plane * oh + oy) * ow
                for ox in 0..<ow {
                    let i = 2 &* ox
                    let a = r0[i], b = r0[i &+ 1], c = r1[i], d = r1[i &+ 1]
                    dst[ox] = larger(larger(a, c), larger(b, d))
                }
            }
        }
    }
    let pooledStorage = out.storage, inputShape = x.shape
    return Tensor.result(out, "max_pool2d", [x]) { g in
        let gx = Tensor(uninitialized: inputShape)
        let gxp = UnsafeSendable(gx.pointer), gp = UnsafeSendable(g.pointer), po = UnsafeSendable(pooledStorage.pointer)
        parallelFor(n * c, grain: 8) { r in
            for plane in r {
                let src = xi.value + plane * h * w, dst = gxp.value + plane * h * w
                let gout = gp.value + plane * oh * ow, pooled = po.value + plane * oh * ow
                if h != 2 * oh || w != 2 * ow { dst.update(repeating: 0, count: h * w) }   // rows/columns no window covers
                for oy in 0..<oh {
                    let i0 = 2 &* oy &* w, i1 = i0 &+ w, row = oy &* ow
                    for ox in 0..<ow {
                        let j = 2 &* ox, m = pooled[row &+ ox], d = gout[row &+ ox]
                        let a = src[i0 &+ j], b = src[i0 &+ j &+ 1], c = src[i1 &+ j], e = src[i1 &+ j &+ 1]
                        // The forward's choice, as 0/1 flags in floats (Bool logic and selects kept
                        // the loop scalar, 2× slower): the first element equal to the maximum; with
                        // NaNs in the window, the last NaN.
                        let ea: Float = a == m ? 1 : 0, eb: Float = b == m ? 1 : 0, ec: Float = c == m ? 1 : 0
                        let na: Float = a.isNaN ? 1 : 0, nb: Float = b.isNaN ? 1 : 0
                        let nc: Float = c.isNaN ? 1 : 0, ne: Float = e.isNaN ? 1 : 0
                        let notA = 1 - ea, notAB = notA * (1 - eb)
                        let notE = 1 - ne, notCE = notE * (1 - nc)
                        let nan = m.isNaN
                        let ka = nan ? na * (1 - nb) * notCE : ea
                        let kb = nan ? nb * notCE : notA * eb
                        let kc = nan ? nc * notE : notAB * ec
                        let ke = nan ? ne : notAB * (1 - ec)
                        dst[i0 &+ j] = keep(d, ka)
                        dst[i0 &+ j &+ 1] = keep(d, kb)
                        dst[i1 &+ j] = keep(d, kc)
                        dst[i1 &+ j &+ 1] = keep(d, ke)
                    }
                }
            }
        }
        return [gx]
    }
}

/// `d` where `flag` is 1, +0 where it is 0, by masking bits: exact for infinite and NaN `d` (a
/// product would turn 0 · ∞ into NaN), and unlike a select it vectorises.
@inline(__always) private func keep(_ d: Float, _ flag: Float) -> Float {
    Float(bitPattern: d.bitPattern & (0 &- (flag.bitPattern &>> 29 & 1)))   // 1.0 is 0x3F800000: bit 29 set
}

/// The larger of two values; NaN propagates, as in PyTorch.
@inline(__always) private func larger(_ a: Float, _ b: Float) -> Float { b > a || b.isNaN ? b : a }

/// Any other max pool: the forward pass records the flat index of each window's maximum.
private func maxPoolWithIndices(_ x: Tensor, kernel: Int, stride s: Int, padding: Int, oh: Int, ow: Int) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let out = Tensor(uninitialized: [n, c, oh, ow])
    let argmax = UnsafeMutablePointer<Int32>.allocate(capacity: n * c * oh * ow)
    let argmaxBox = ArgmaxBuffer(argmax)
    let o = UnsafeSendable(out.pointer), xi = UnsafeSendable(x.pointer), am = UnsafeSendable(argmax)
    parallelFor(n * c, grain: 8) { r in
        for plane in r {
            let src = xi.value + plane * h * w, dst = o.value + plane * oh * ow, idx = am.value + plane * oh * ow
            for oy in 0..<oh { for ox in 0..<ow {
                var best = -Float.infinity, bi: Int32 = -1
                let y0 = oy * s - padding, x0 = ox * s - padding
                for y in max(y0, 0)..<min(y0 + kernel, h) { for xx in max(x0, 0)..<min(x0 + kernel, w) {
                    let v = src[y * w + xx]
                    if v > best || v.isNaN || bi < 0 { best = v; bi = Int32(y * w + xx) }
                } }
                dst[oy * ow + ox] = best; idx[oy * ow + ox] = bi
            } }
        }
    }
    return Tensor.result(out, "max_pool2d", [x]) { g in
        let gx = Tensor.zeros(x.shape)
        let gxp = UnsafeSendable(gx.pointer), gp = UnsafeSendable(g.pointer), am = UnsafeSendable(argmaxBox.pointer)
        parallelFor(n * c, grain: 8) { r in
            for plane in r {
                let dst = gxp.value + plane * h * w, src = gp.value + plane * oh * ow, idx = am.value + plane * oh * ow
                for k in 0..<(oh * ow) { dst[Int(idx[k])] += src[k] }
            }
        }
        return [gx]
    }
}

/// Owns the argmax indices a max-pool output needs for its backward pass.
final class ArgmaxBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int32>
    init(_ p: UnsafeMutablePointer<Int32>) { pointer = p }
    deinit { pointer.deallocate() }
}

/// Average pooling (PyTorch `F.avg_pool2d`, `count_include_pad=True`).
public func avgPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    let s = stride ?? kernel
    precondition(x.rank == 4, "avgPool2d: input must be NCHW, got \(x.shape)")
    let (h, w) = (x.shape[2], x.shape[3])
    let oh = (h + 2 * padding - kernel) / s + 1, ow = (w + 2 * padding - kernel) / s + 1
    precondition(oh > 0 && ow > 0, "avgPool2d: kernel \(kernel) larger than input \(h)×\(w)")
    let windows = (0..<oh).map { oy in (oy * s - padding, oy * s - padding + kernel) }
    let cols = (0..<ow).map { ox in (ox * s - padding, ox * s - padding + kernel) }
    return windowAverage(x, "avg_pool2d", rows: windows, cols: cols, divisor: { _, _ in Float(kernel * kernel) })
}

/// Adaptive average pooling to `outH × outW` (PyTorch's window rule: floor(i·H/O) ..< ceil((i+1)·H/O)).
public func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int)) -> Tensor {
    precondition(x.rank == 4, "adaptiveAvgPool2d: input must be NCHW, got \(x.shape)")
    let (h, w) = (x.shape[2], x.shape[3])
    func windows(_ n: Int, _ o: Int) -> [(Int, Int)] { (0..<o).map { i in (i * n / o, ((i + 1) * n + o - 1) / o) } }
    let rows = windows(h, outputSize.0), cols = windows(w, outputSize.1)
    return windowAverage(x, "adaptive_avg_pool2d", rows: rows, cols: cols) { r, c in
        Float((r.1 - r.0) * (c.1 - c.0))
    }
}

/// Averages each (row window × column window) of every plane; windows are clipped to the image,
/// `divisor` decides what the sum is divided by.
private func windowAverage(_ x: Tensor, _ name: String, rows: [(Int, Int)], cols: [(Int, Int)],
                           divisor: @escaping @Sendable ((Int, Int), (Int, Int)) -> Float) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = rows.count, ow = cols.count
    let out = Tensor(uninitialized: [n, c, oh, ow])
    let o = UnsafeSendable(out.pointer), xi = UnsafeSendable(x.pointer)
    let clip: @Sendable ((Int, Int), Int) -> (Int, Int) = { r, n in (max(r.0, 0), min(r.1, n)) }
    parallelFor(n * c, grain: 8) { r in
        for plane in r {
            let src = xi.value + plane * h * w, dst = o.value + plane * oh * ow
            for (oy, rw) in rows.enumerated() { for (ox, cw) in cols.enumerated() {
                let (y0, y1) = clip(rw, h), (x0, x1) = clip(cw, w)
                var sum: Float = 0
                for y in y0..<max(y0, y1) { for xx in x0..<max(x0, x1) { sum += src[y * w + xx] } }
                dst[oy * ow + ox] = sum / divisor(rw, cw)
            } }
        }
    }
    return Tensor.result(out, name, [x]) { g in
        let gx = Tensor.zeros(x.shape)
        let gxp = UnsafeSendable(gx.pointer), gp = UnsafeSendable(g.pointer)
        parallelFor(n * c, grain: 8) { r in
            for plane in r {
                let dst = gxp.value + plane * h * w, src = gp.value + plane * oh * ow
                for (oy, rw) in rows.enumerated() { for (ox, cw) in cols.enumerated() {
                    let (y0, y1) = clip(rw, h), (x0, x1) = clip(cw, w)
                    let v = src[oy * ow + ox] / divisor(rw, cw)
                    for y in y0..<max(y0, y1) { for xx in x0..<max(x0, x1) { dst[y * w + xx] += v } }
                } }
            }
        }
        return [gx]
    }
}
