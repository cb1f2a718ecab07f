import IPRModels
import IPRTensor

/// The scheme-V1 passport layer (the reference's `PassportBlock`):
///
///     conv (no bias) → norm (no affine) → γ ⊙ x + β → ReLU
///     γ = mean over H, W of conv(skey),  β = mean over H, W of conv(key)
///
/// `skey` (scale passport) and `key` (bias passport) are `[1, C_in, H, W]` at the block's input
/// size, fed through the *same* conv weight, so γ and β move with the weights and a wrong passport
/// gives wrong γ, β — and a wrong network. The signature `b` (±1 per output channel) is embedded in
/// the signs of γ by the sign loss.
///
/// State-dict names follow the reference: `weight` (the conv weight again), `b`, `key`, `skey`,
/// `conv.weight`, `sign_loss.b`, `bn.*`.
public final class PassportBlock: PassportLayer, StatisticsEstimating {
    public let spec: ConvBlockSpec
    public let conv: Conv2d
    /// Normalisation without affine parameters (nil for norm `.none`).
    public let norm: (any FusedReLUNorm)?
    /// Bias passport `P_β` and scale passport `P_γ`, `[1, C_in, H, W]`.
    public let key: Tensor, skey: Tensor
    /// The signature, ±1 per output channel.
    public let b: Tensor
    /// Weight α of this layer's sign loss.
    public var signLossRatio: Float
    /// γ of the latest forward pass (with its graph while training), for the sign loss.
    public private(set) var lastScale: Tensor?
    /// γ and β used instead of the passport's when set: the reference's free `scale` / `bias`, what
    /// a thief turns the layer into (the sign-flip attack). Not part of the state dict.
    public var freeAffine: (scale: Tensor, bias: Tensor)?
    /// V1 deploys its passport path: no public γ, β.
    public var publicAffine: (scale: Tensor, bias: Tensor)? { nil }
    /// Set while verification measures the norm's input statistics (`PassportStatistics.reestimate`).
    var statisticsEstimate: BatchStatisticsEstimate?
    private let signLoss: SignLossBuffers

    /// A passport layer with passports `keys`, or random ones from `rng` (uniform in [−1, 1], the reference's `random` keys).
    public init(_ spec: ConvBlockSpec, signature: [Float], keys: (key: Tensor, skey: Tensor)? = nil, signLossRatio: Float = 0.1,
                rng: inout RNG) {
        self.spec = spec
        (conv, key, skey, b) = makePassportParts(spec, signature: signature, keys: keys, rng: &rng)
        norm = makeNorm(spec.norm, channels: spec.outChannels, affine: false) as? any FusedReLUNorm
        signLoss = SignLossBuffers(b: b)
        self.signLossRatio = signLossRatio
    }

    public func visit(_ v: inout StateVisitor) {
        v.alias("weight", conv.weight)
        v.buffer("b", b)
        v.buffer("key", key)
        v.buffer("skey", skey)
        v.child("conv", conv)
        v.child("sign_loss", signLoss)
        v.child("bn", norm)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let (gamma, beta) = freeAffine ?? (scale(), bias())
        lastScale = context.training ? gamma : nil
        let y = conv(x, context)
        if let estimate = statisticsEstimate {
            // Batch statistics for this norm only, as PassportPrivateBlock does for its private path.
            estimate.add(y)
            return applyPassportAffine(y, norm, gamma, beta, spec, ForwardContext(training: true, path: context.path, memo: context.memo))
        }
        return applyPassportAffine(y, norm, gamma, beta, spec, context)
    }
}

/// `relu?(γ ⊙ norm(y) + β)` — fused into the norm's single pass when there is a norm (γ and β act as
/// its affine parameters, so gradients reach them, and through them the conv weights and passports).
func applyPassportAffine(_ y: Tensor, _ norm: (any FusedReLUNorm)?, _ gamma: Tensor, _ beta: Tensor,
                         _ spec: ConvBlockSpec, _ context: ForwardContext) -> Tensor {
    // In place only without a memo: a memoised conv output is shared by both paths.
    if let norm { return norm.forward(y, context, relu: spec.relu, inPlace: context.memo == nil, affine: (gamma, beta)) }
    let c = spec.outChannels
    let out = y * gamma.reshape([1, c, 1, 1]) + beta.reshape([1, c, 1, 1])
    return spec.relu ? out.relu() : out
}

/// The reference keeps a copy of `b` in its `SignLoss` child (`sign_loss.b`); so do we, for
/// checkpoints that load both ways.
final class SignLossBuffers: Module {
    let b: Tensor
    init(b: Tensor) { self.b = b }
    func visit(_ v: inout StateVisitor) { v.buffer("b", b) }
}
