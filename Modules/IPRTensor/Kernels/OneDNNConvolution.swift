import CConv

/// Convolutions through oneDNN (Debian's libdnnl): JIT AVX-512/AVX2 kernels and Winograd F(4,3) for
/// 3×3 stride-1 layers — 1.7–1.9× faster than direct convolution on most of them, within 4e-6 of it.
/// Primitives are created once per shape and cached in the C layer.
public struct OneDNNConvolution: ConvolutionKernels {
    /// How a convolution's implementation is chosen.
    public enum Algorithm: Int32, Sendable {
        /// oneDNN's direct kernels.
        case direct = 0
        /// oneDNN's own heuristic choice of Winograd or direct (which differs by CPU).
        case auto = 1
        /// Per shape and pass, oneDNN's choice unless the other algorithm was timed on this CPU as
        /// clearly faster (by `IPR_CONV_MEASURED_MARGIN`) in the shape's first call; then fixed.
        case measured = 2
    }

    /// The algorithm every call of this instance uses.
    public let algorithm: Algorithm

    public init(algorithm: Algorithm = .measured) { self.algorithm = algorithm }

    public var name: String { "onednn(\(algorithm))" }

    public func forward(_ g: ConvGeometry, dst: UnsafeMutablePointer<Float>, src: UnsafePointer<Float>,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?) {
        var s = g.cShape(algorithm)
        check(ipr_conv_forward(&s, src, weight, bias, dst), "forward", g)
    }

    public func backwardData(_ g: ConvGeometry, gradSrc: UnsafeMutablePointer<Float>, gradDst: UnsafePointer<Float>,
                             weight: UnsafePointer<Float>) {
        var s = g.cShape(algorithm)
        check(ipr_conv_backward_data(&s, gradDst, weight, gradSrc), "backward-data", g)
    }

    public func backwardWeights(_ g: ConvGeometry, gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?,
                                src: UnsafePointer<Float>, gradDst: UnsafePointer<Float>) {
        var s = g.cShape(algorithm)
        check(ipr_conv_backward_weights(&s, src, gradDst, gradWeight, gradBias), "backward-weights", g)
    }

    /// The oneDNN implementation chosen for a pass (0 forward, 1 backward-data, 2 backward-weights).
    public func implementation(_ g: ConvGeometry, pass: Int32) -> String {
        var s = g.cShape(algorithm)
        return ipr_conv_impl_name(&s, pass).map { String(cString: $0) } ?? "?"
    }

    private func check(_ status: Int32, _ pass: String, _ g: ConvGeometry) {
        // Shapes are validated by conv2d before they get here; a failure is a bug or out of memory.
        precondition(status == 0, "oneDNN convolution \(pass) failed with status \(status) for \(g)")
    }
}

extension ConvGeometry {
    func cShape(_ algorithm: OneDNNConvolution.Algorithm) -> ipr_conv_shape {
        ipr_conv_shape(n: Int32(n), c: Int32(c), h: Int32(h), w: Int32(w), oc: Int32(oc), kh: Int32(kh), kw: Int32(kw),
                       stride_h: Int32(strideH), stride_w: Int32(strideW), pad_h: Int32(padH), pad_w: Int32(padW),
                       algorithm: algorithm.rawValue)
    }
}
