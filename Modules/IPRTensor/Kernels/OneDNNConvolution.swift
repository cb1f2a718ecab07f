import CConv
import Foundation

/// Convolutions through oneDNN (Debian's libdnnl): JIT AVX-512/AVX2 kernels and Winograd F(4,3) for
/// 3×3 stride-1 layers — 1.7–1.9× faster than direct convolution on most of them, within 4e-6 of it.
/// Primitives are created once per shape and cached in the C layer.
public struct OneDNNConvolution: ConvolutionKernels {
    /// How a convolution's implementation is chosen.
    public enum Algorithm: Int32, Sendable, CaseIterable {
        /// The process default: `.rule`, or what the environment variable `IPR_CONV_ALGORITHM` names
        /// (`rule`, `measured`, `auto`, `direct`, `winograd`).
        case processDefault = -1
        /// oneDNN's direct kernels.
        case direct = 0
        /// oneDNN's own heuristic choice of Winograd or direct (which differs by CPU).
        case auto = 1
        /// Opt-in, not reproducible: per shape and pass, oneDNN's choice unless the other algorithm
        /// was timed on this CPU as clearly faster (by `IPR_CONV_MEASURED_MARGIN`) in the shape's first
        /// call; then fixed for the process. Timings change with load, so two runs may choose
        /// differently and train different weights; `IPR_CONV_CHOICES=FILE` keeps the choices in FILE
        /// and reuses them, so a run can be repeated exactly.
        case measured = 2
        /// Winograd F(4,3); calls fail where oneDNN has none (other than 3×3 stride 1, or no AVX-512).
        case winograd = 3
        /// The default: a fixed rule of the shape and of what this CPU's oneDNN can run (oneDNN's own
        /// choice, corrected where it was measured to lose), so the same seeded command gives the same
        /// bytes on a CPU however busy it is. Never timed.
        case rule = 4

        /// The algorithm `IPR_CONV_ALGORITHM` may name, by its name; nil for another name.
        public init?(name: String) {
            let value = ipr_conv_algorithm_named(name)
            guard value >= 0, let algorithm = Algorithm(rawValue: value) else { return nil }
            self = algorithm
        }

        /// The names `IPR_CONV_ALGORITHM` takes.
        public static let names = ["rule", "measured", "auto", "direct", "winograd"]

        /// A description of what `IPR_CONV_ALGORITHM` asks for, or nil when it is unset or valid: a
        /// command refuses to start on it rather than run with an algorithm the user did not ask for.
        public static var environmentProblem: String? {
            guard let value = ProcessInfo.processInfo.environment["IPR_CONV_ALGORITHM"], Algorithm(name: value) == nil else { return nil }
            return "IPR_CONV_ALGORITHM is '\(value)'; it takes one of \(names.joined(separator: ", ")) (default rule: reproducible)"
        }
    }

    /// The algorithm every call of this instance uses.
    public let algorithm: Algorithm

    public init(algorithm: Algorithm = .processDefault) { self.algorithm = algorithm }

    /// The algorithm calls run: `algorithm`, or for `.processDefault` the process's.
    public var effectiveAlgorithm: Algorithm {
        algorithm == .processDefault ? Algorithm(rawValue: ipr_conv_get_algorithm()) ?? .rule : algorithm
    }

    public var name: String { "onednn(\(effectiveAlgorithm))" }

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
