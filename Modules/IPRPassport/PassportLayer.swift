import IPRModels
import IPRTensor

/// What V1 and V2 passport layers share: a conv whose weights also map the passports to γ and β,
/// the passports, the signature and the sign loss.
public protocol PassportLayer: Layer {
    var spec: ConvBlockSpec { get }
    var conv: Conv2d { get }
    /// Bias passport `P_β` and scale passport `P_γ`, `[1, C_in, H, W]`.
    var key: Tensor { get }
    var skey: Tensor { get }
    /// The signature, ±1 per output channel.
    var b: Tensor { get }
    /// Weight α of this layer's sign loss.
    var signLossRatio: Float { get }
    /// γ of the latest passport-path training forward pass (with its graph), for the sign loss.
    var lastScale: Tensor? { get }
    /// γ and β the deployed path runs with instead of its own while set: a thief's free affine (V1
    /// turned plain), an attack's computed tensors with their graph. Not part of the state dict.
    var freeAffine: (scale: Tensor, bias: Tensor)? { get set }
    /// V2/V3: the public path's learned γ and β (`scale`, `bias` in the state dict); nil for V1,
    /// whose deployed path runs on its passport.
    var publicAffine: (scale: Tensor, bias: Tensor)? { get }
}

extension PassportLayer {
    /// γ and β the deployed path runs with now: the free ones while set, else the public path's
    /// (V2/V3), else the passport's (V1).
    public func deployedAffine() -> (scale: Tensor, bias: Tensor) {
        freeAffine ?? publicAffine ?? noGrad { (scale(), bias()) }
    }

    /// γ: the scale passport through the conv, averaged over space (`[C_out]`).
    public func scale() -> Tensor { spatialMeanOfConv(skey) }

    /// β: the bias passport through the conv, averaged over space (`[C_out]`).
    public func bias() -> Tensor { spatialMeanOfConv(key) }

    /// γ of each of N scale passports `[N, C_in, H, W]` at once: `[N, C_out]` (the null distribution
    /// of verification draws thousands).
    public func scales(of passports: Tensor) -> Tensor {
        linear(meanPatches(passports), weight: conv.weight.reshape([conv.weight.shape[0], -1]), bias: nil)
    }

    /// `conv(p).mean(axes: [0, 2, 3])` as one matrix-vector product (`patchMean`): the batch-1
    /// convolutions it replaces cost more in call overhead than in arithmetic, twice per passport
    /// layer per step.
    private func spatialMeanOfConv(_ p: Tensor) -> Tensor {
        let m = meanPatches(p)
        let w = conv.weight
        return linear(p.shape[0] == 1 ? m : m.mean(axis: 0, keepDims: true), weight: w.reshape([w.shape[0], -1]), bias: nil).reshape([w.shape[0]])
    }

    private func meanPatches(_ p: Tensor) -> Tensor {
        let k = conv.weight.shape[2]
        return patchMean(p, kernel: (k, k), stride: (conv.stride, conv.stride), padding: (conv.padding, conv.padding))
    }

    /// The sign loss of γ (reference `SignLoss`): `α · Σ max(0, 0.1 − b·γ) + 1e-5 · Σ γ²`.
    public func signLoss(of gamma: Tensor) -> Tensor {
        (0.1 - b * gamma).relu().sum() * signLossRatio + gamma.pow(2).sum() * 1e-5
    }

    /// Fraction of channels whose γ has the signature's sign (γ = 0 is a miss).
    public func signAccuracy(of gamma: Tensor) -> Double {
        Double(zip(gamma.array, b.array).filter { $0 * $1 > 0 }.count) / Double(max(spec.outChannels, 1))
    }
}

/// The passport layers of a model (V1 and V2), in state-dict order.
public func passportLayers(in model: any Module) -> [any PassportLayer] {
    model.namedModules().compactMap { $0.module as? any PassportLayer }
}

/// What both passport layers start from: a conv without bias initialised as the reference's, a pair
/// of passports (`keys`, or uniform in [−1, 1] from `rng`: the reference's `random` keys) and the signature `b`.
func makePassportParts(_ spec: ConvBlockSpec, signature: [Float], keys: (key: Tensor, skey: Tensor)?, rng: inout RNG)
    -> (conv: Conv2d, key: Tensor, skey: Tensor, b: Tensor) {
    precondition(signature.count == spec.outChannels && signature.allSatisfy { $0 == 1 || $0 == -1 },
                 "passport layer \(spec.path): signature needs \(spec.outChannels) values of ±1")
    let conv = Conv2d(spec.inChannels, spec.outChannels, kernel: spec.kernel, stride: spec.stride,
                      padding: spec.padding, bias: false, rng: &rng)
    Init.kaimingNormal(conv.weight, mode: .fanOut, rng: &rng)
    let (key, skey) = keys ?? randomKeys(spec, rng: &rng)
    precondition(key.shape == passportShape(spec) && skey.shape == passportShape(spec),
                 "passport layer \(spec.path): passports need shape \(passportShape(spec))")
    return (conv, key, skey, Tensor(shape: [spec.outChannels], data: signature))
}

/// The shape of a layer's passport: one input of the conv, `[1, in, H, W]`.
func passportShape(_ spec: ConvBlockSpec) -> [Int] { [1, spec.inChannels, spec.inputHeight, spec.inputWidth] }

/// The reference's `random` passports: uniform in [−1, 1], scale passport first.
func randomKeys(_ spec: ConvBlockSpec, rng: inout RNG) -> (key: Tensor, skey: Tensor) {
    let key = Tensor.uniform(passportShape(spec), low: -1, high: 1, rng: &rng)
    return (key, Tensor.uniform(passportShape(spec), low: -1, high: 1, rng: &rng))
}
