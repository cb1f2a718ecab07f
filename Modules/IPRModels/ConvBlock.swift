import IPRTensor

/// The normalisation after a convolution, as the reference's `bn=` argument names it.
public enum NormKind: String, Sendable, CaseIterable, Codable {
    /// Batch norm (`nn.BatchNorm2d`).
    case bn
    /// Group norm with C/16 groups (`nn.GroupNorm(C // 16, C)`).
    case gn
    /// Instance norm without affine parameters (`nn.InstanceNorm2d(C)`).
    case `in`
    /// No normalisation; the convolution then has a bias.
    case none
}

/// Everything a factory needs to build one conv block: where it sits in the state dict, its shape,
/// and the spatial size of its input (passports are `[1, C_in, H, W]` at that size).
public struct ConvBlockSpec: Sendable, Equatable {
    /// State-dict path of the block (`"features.4"`, `"layer4.0.convbn_2"`).
    public var path: String
    public var inChannels: Int, outChannels: Int
    public var kernel: Int, stride: Int, padding: Int
    public var norm: NormKind
    /// Whether a ReLU follows the norm.
    public var relu: Bool
    /// Height and width of the block's input.
    public var inputHeight: Int, inputWidth: Int

    public init(path: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 1,
                norm: NormKind, relu: Bool = true, inputHeight: Int, inputWidth: Int) {
        self.path = path
        (self.inChannels, self.outChannels, self.kernel, self.stride, self.padding) = (inChannels, outChannels, kernel, stride, padding)
        (self.norm, self.relu, self.inputHeight, self.inputWidth) = (norm, relu, inputHeight, inputWidth)
    }

    /// Spatial size of the block's output.
    public var outputHeight: Int { (inputHeight + 2 * padding - kernel) / stride + 1 }
    public var outputWidth: Int { (inputWidth + 2 * padding - kernel) / stride + 1 }
}

/// The seam where passports go in: architectures ask the factory for every conv block and never
/// know what they get back. IPRModels ships `PlainBlockFactory`; IPRPassport ships one that returns
/// passport layers at the paths its config flags.
public protocol ConvBlockFactory {
    func makeBlock(_ spec: ConvBlockSpec, rng: inout RNG) throws -> any Layer
}

/// Builds ordinary `ConvBlock`s.
public struct PlainBlockFactory: ConvBlockFactory {
    public init() {}
    public func makeBlock(_ spec: ConvBlockSpec, rng: inout RNG) throws -> any Layer { ConvBlock(spec, rng: &rng) }
}

/// conv (bias only without a norm) → norm → ReLU, the reference's `ConvBlock`; children are named
/// `conv` and `bn` (whatever the norm kind, as in the reference).
public final class ConvBlock: Layer {
    public let spec: ConvBlockSpec
    public let conv: Conv2d
    /// The normalisation layer (nil for `.none`).
    public let norm: (any Layer)?

    public init(_ spec: ConvBlockSpec, rng: inout RNG) {
        self.spec = spec
        conv = Conv2d(spec.inChannels, spec.outChannels, kernel: spec.kernel, stride: spec.stride,
                      padding: spec.padding, bias: spec.norm == .none, rng: &rng)
        // The reference (current version) calls `kaiming_normal_(weight, mode='fan_out', nonlinearity='relu')`.
        Init.kaimingNormal(conv.weight, mode: .fanOut, rng: &rng)
        norm = makeNorm(spec.norm, channels: spec.outChannels)
    }

    public func visit(_ v: inout StateVisitor) {
        v.child("conv", conv)
        v.child("bn", norm)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let y = conv(x, context)
        // y is ours alone: without a graph, the norm may overwrite it.
        if let fused = norm as? any FusedReLUNorm { return fused.forward(y, context, relu: spec.relu, inPlace: true) }
        if let norm { let z = norm(y, context); return spec.relu ? z.relu() : z }
        return spec.relu ? y.relu() : y
    }
}

/// The reference's norm layer for a kind, without (`affine: false`) or with its own affine parameters.
public func makeNorm(_ kind: NormKind, channels: Int, affine: Bool = true) -> (any Layer)? {
    switch kind {
    case .bn: return BatchNorm2d(channels, affine: affine)
    case .gn: return GroupNorm(groups: max(channels / 16, 1), channels: channels, affine: affine)
    case .in: return InstanceNorm2d(channels, affine: false)
    case .none: return nil
    }
}
