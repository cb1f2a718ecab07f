/// The shape of one 2-D convolution: NCHW input, OIHW weights, symmetric padding.
public struct ConvGeometry: Hashable, Sendable {
    public var n, c, h, w, oc, kh, kw, strideH, strideW, padH, padW: Int
    public var outH: Int { (h + 2 * padH - kh) / strideH + 1 }
    public var outW: Int { (w + 2 * padW - kw) / strideW + 1 }
    /// Multiply-adds ×2 of one pass (forward, backward-data and backward-weights cost the same).
    public var flops: Double { 2 * Double(n * oc * outH * outW) * Double(c * kh * kw) }

    public init(n: Int, c: Int, h: Int, w: Int, oc: Int, kh: Int, kw: Int,
                strideH: Int = 1, strideW: Int = 1, padH: Int = 0, padW: Int = 0) {
        (self.n, self.c, self.h, self.w, self.oc, self.kh, self.kw) = (n, c, h, w, oc, kh, kw)
        (self.strideH, self.strideW, self.padH, self.padW) = (strideH, strideW, padH, padW)
    }
}

/// A convolution implementation on raw NCHW/OIHW buffers. Outputs are overwritten.
public protocol ConvolutionKernels: Sendable {
    /// A short name for benchmarks ("im2col+openblas", "onednn").
    var name: String { get }
    func forward(_ g: ConvGeometry, dst: UnsafeMutablePointer<Float>, src: UnsafePointer<Float>,
                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?)
    func backwardData(_ g: ConvGeometry, gradSrc: UnsafeMutablePointer<Float>, gradDst: UnsafePointer<Float>,
                      weight: UnsafePointer<Float>)
    func backwardWeights(_ g: ConvGeometry, gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?,
                         src: UnsafePointer<Float>, gradDst: UnsafePointer<Float>)
}

/// Which convolution kernels the engine uses (process-wide; set once at start-up).
public enum Convolution {
    nonisolated(unsafe) public static var kernels: any ConvolutionKernels = OneDNNConvolution()
}
