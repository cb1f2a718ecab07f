/// Portable convolution: im2col over the whole batch, then one OpenBLAS GEMM per pass.
///
/// The column matrix is `[C·KH·KW, N·OH·OW]`, so each pass is a single large GEMM that keeps both
/// cores busy; im2col/col2im and the NCHW shuffles run in parallel over (sample, channel) planes.
public struct Im2colConvolution: ConvolutionKernels {
    public init() {}
    public var name: String { "im2col+openblas" }

    public func forward(_ g: ConvGeometry, dst: UnsafeMutablePointer<Float>, src: UnsafePointer<Float>,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?) {
        let ckk = g.c * g.kh * g.kw, p = g.outH * g.outW, cols = g.n * p
        let col = TensorStorage(count: ckk * cols, zeroed: false)
        im2col(g, col.pointer, src)
        let tmp = TensorStorage(count: g.oc * cols, zeroed: false)
        GEMM.sgemm(m: g.oc, n: cols, k: ckk, a: weight, lda: ckk, b: col.pointer, ldb: cols, c: tmp.pointer, ldc: cols)
        // [OC, N, P] → [N, OC, P] (+ bias)
        let d = UnsafeSendable(dst), t = UnsafeSendable(tmp.pointer), b = UnsafeSendable(bias)
        parallelFor(g.n * g.oc, grain: 16) { r in
            for i in r {
                let n = i / g.oc, o = i % g.oc
                let out = d.value + i * p, inp = t.value + (o * g.n + n) * p
                let bv = b.value?[o] ?? 0
                for k in 0..<p { out[k] = inp[k] + bv }
            }
        }
    }

    public func backwardData(_ g: ConvGeometry, gradSrc: UnsafeMutablePointer<Float>, gradDst: UnsafePointer<Float>,
                             weight: UnsafePointer<Float>) {
        let ckk = g.c * g.kh * g.kw, p = g.outH * g.outW, cols = g.n * p
        let gd = TensorStorage(count: g.oc * cols, zeroed: false)
        toChannelMajor(g, gd.pointer, gradDst)
        let gcol = TensorStorage(count: ckk * cols, zeroed: false)
        GEMM.sgemm(transA: true, m: ckk, n: cols, k: g.oc, a: weight, lda: ckk, b: gd.pointer, ldb: cols, c: gcol.pointer, ldc: cols)
        col2im(g, gradSrc, gcol.pointer)
    }

    public func backwardWeights(_ g: ConvGeometry, gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?,
                                src: UnsafePointer<Float>, gradDst: UnsafePointer<Float>) {
        let ckk = g.c * g.kh * g.kw, p = g.outH * g.outW, cols = g.n * p
        let gd = TensorStorage(count: g.oc * cols, zeroed: false)
        toChannelMajor(g, gd.pointer, gradDst)
        let col = TensorStorage(count: ckk * cols, zeroed: false)
        im2col(g, col.pointer, src)
        GEMM.sgemm(transB: true, m: g.oc, n: ckk, k: cols, a: gd.pointer, lda: cols, b: col.pointer, ldb: cols, c: gradWeight, ldc: ckk)
        if let gradBias {
            for o in 0..<g.oc { gradBias[o] = Elementwise.sum(gd.pointer + o * cols, cols) }
        }
    }

    /// [N, OC, P] → [OC, N·P]
    private func toChannelMajor(_ g: ConvGeometry, _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>) {
        let p = g.outH * g.outW
        let d = UnsafeSendable(dst), s = UnsafeSendable(src)
        parallelFor(g.n * g.oc, grain: 16) { r in
            for i in r {
                let n = i / g.oc, o = i % g.oc
                (d.value + (o * g.n + n) * p).update(from: s.value + i * p, count: p)
            }
        }
    }

    /// col[(c·KH + i)·KW + j, n·P + oy·OW + ox] = x[n, c, oy·s − pad + i, ox·s − pad + j] (0 outside)
    func im2col(_ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>) {
        let oh = g.outH, ow = g.outW, p = oh * ow, cols = g.n * p
        let cp = UnsafeSendable(col), sp = UnsafeSendable(src)
        parallelFor(g.n * g.c, grain: 4) { r in
            for nc in r {
                let n = nc / g.c, c = nc % g.c
                let plane = sp.value + nc * g.h * g.w
                for i in 0..<g.kh { for j in 0..<g.kw {
                    let row = cp.value + ((c * g.kh + i) * g.kw + j) * cols + n * p
                    for oy in 0..<oh {
                        let y = oy * g.strideH - g.padH + i
                        let dst = row + oy * ow
                        if y < 0 || y >= g.h { dst.update(repeating: 0, count: ow); continue }
                        let line = plane + y * g.w
                        if g.strideW == 1 {
                            let x0 = j - g.padW
                            for ox in 0..<ow { let x = x0 + ox; dst[ox] = (x >= 0 && x < g.w) ? line[x] : 0 }
                        } else {
                            for ox in 0..<ow { let x = ox * g.strideW - g.padW + j; dst[ox] = (x >= 0 && x < g.w) ? line[x] : 0 }
                        }
                    }
                } }
            }
        }
    }

    /// The adjoint of im2col: sums column entries back into the image (overwrites `dst`).
    func col2im(_ g: ConvGeometry, _ dst: UnsafeMutablePointer<Float>, _ col: UnsafePointer<Float>) {
        let oh = g.outH, ow = g.outW, p = oh * ow, cols = g.n * p
        let cp = UnsafeSendable(col), dp = UnsafeSendable(dst)
        parallelFor(g.n * g.c, grain: 4) { r in
            for nc in r {
                let n = nc / g.c, c = nc % g.c
                let plane = dp.value + nc * g.h * g.w
                plane.update(repeating: 0, count: g.h * g.w)
                for i in 0..<g.kh { for j in 0..<g.kw {
                    let row = cp.value + ((c * g.kh + i) * g.kw + j) * cols + n * p
                    for oy in 0..<oh {
                        let y = oy * g.strideH - g.padH + i
                        if y < 0 || y >= g.h { continue }
                        let line = plane + y * g.w, src = row + oy * ow
                        for ox in 0..<ow {
                            let x = ox * g.strideW - g.padW + j
                            if x >= 0 && x < g.w { line[x] += src[ox] }
                        }
                    }
                } }
            }
        }
    }
}
