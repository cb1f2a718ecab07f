import IPRModels
import IPRTensor

/// The scheme-V2/V3 passport layer (the reference's `PassportPrivateBlock`): the same
/// conv + norm (no affine) with two forward paths chosen by `ForwardContext.path`:
///
///     path 0 (public):  y = γ_pub ⊙ norm(conv x) + β_pub        (learned `scale`, `bias`)
///     path 1 (private): y = γ ⊙ norm(conv x) + β, γ, β from the private passports as in V1
///
/// With batch norm each path keeps its **own running statistics** (`bn` for the public path, as
/// the reference names it, and `bn_private`): shared statistics fit neither path, and the public
/// path then evaluates at chance (measured with the reference code, Tools/reference).
///
/// State-dict names follow the reference: `weight`, `scale`, `bias`, `b`, `key_private`,
/// `skey_private`, `conv.weight`, `sign_loss_private.b`, `bn.*` (+ our `bn_private.*`).
public final class PassportPrivateBlock: PassportLayer, PathDependent, StatisticsEstimating {
    public let spec: ConvBlockSpec
    public let conv: Conv2d
    /// Public-path and private-path normalisation (the same layer unless it keeps running statistics).
    public let norm: (any FusedReLUNorm)?, privateNorm: (any FusedReLUNorm)?
    /// Learned public scale and bias (init 1 and 0).
    public let publicScale: Tensor, publicBias: Tensor
    /// Private passports `[1, C_in, H, W]`: bias (`key_private`) and scale (`skey_private`).
    public let key: Tensor, skey: Tensor
    /// The signature, ±1 per output channel.
    public let b: Tensor
    public var signLossRatio: Float
    /// Private-path γ of the latest training forward pass, for the sign loss.
    public private(set) var lastScale: Tensor?
    /// While set, private-path passes normalise with each batch's own statistics and add them here
    /// (`PassportStatistics.reestimate`).
    var statisticsEstimate: BatchStatisticsEstimate?
    private let signLoss: SignLossBuffers
    /// γ and β the public path uses instead of `publicScale`, `publicBias` while set: tensors an
    /// attack computes (the ERB attack's residual block), with their graph. Not part of the state dict.
    public var freeAffine: (scale: Tensor, bias: Tensor)?
    public var publicAffine: (scale: Tensor, bias: Tensor)? { (publicScale, publicBias) }

    public init(_ spec: ConvBlockSpec, signature: [Float], keys: (key: Tensor, skey: Tensor)? = nil, signLossRatio: Float = 0.1,
                rng: inout RNG) {
        self.spec = spec
        (conv, key, skey, b) = makePassportParts(spec, signature: signature, keys: keys, rng: &rng)
        norm = makeNorm(spec.norm, channels: spec.outChannels, affine: false) as? any FusedReLUNorm
        privateNorm = spec.norm == .bn ? makeNorm(.bn, channels: spec.outChannels, affine: false) as? any FusedReLUNorm : norm
        publicScale = .parameter(.ones([spec.outChannels]))
        publicBias = .parameter(.zeros([spec.outChannels]))
        signLoss = SignLossBuffers(b: b)
        self.signLossRatio = signLossRatio
    }

    public func visit(_ v: inout StateVisitor) {
        v.alias("weight", conv.weight)
        v.param("scale", publicScale)
        v.param("bias", publicBias)
        // The signature, the private passports and the private path's statistics are the owner's:
        // `release` writes everything else.
        v.secret { v in
            v.buffer("b", b)
            v.buffer("key_private", key)
            v.buffer("skey_private", skey)
        }
        v.child("conv", conv)
        v.secret { $0.child("sign_loss_private", signLoss) }
        v.child("bn", norm)
        if spec.norm == .bn { v.secret { $0.child("bn_private", privateNorm) } }
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let isPrivate = context.path == 1
        let gamma: Tensor, beta: Tensor
        if isPrivate {
            gamma = scale(); beta = bias()
            lastScale = context.training ? gamma : nil
        } else {
            (gamma, beta) = freeAffine ?? (publicScale, publicBias)
        }
        // The convolution itself is the same on both paths: with a memo, the first passport layer (whose
        // input is the shared prefix's output) computes it once.
        let y = context.run(conv, x)
        if isPrivate, let estimate = statisticsEstimate {
            // Batch statistics for this norm only (training mode elsewhere would move other layers'
            // statistics and switch on dropout); its running statistics are replaced by the estimate.
            estimate.add(y)
            return applyPassportAffine(y, privateNorm, gamma, beta, spec, ForwardContext(training: true, path: 1, memo: context.memo))
        }
        return applyPassportAffine(y, isPrivate ? privateNorm : norm, gamma, beta, spec, context)
    }
}
