import IPRModels
import IPRTensor

/// Scheme-V1 training: cross-entropy on the passport path plus the sign loss of every passport
/// layer (SPEC.md §2); logs `sign_loss` and `sign_acc` (mean over passport layers) per epoch.
public struct PassportObjective: TrainingObjective {
    public init() {}

    public func step(model: any Layer, images: Tensor, labels: [Int]) -> (loss: Tensor, logits: Tensor, metrics: [String: Float]) {
        let logits = model(images, .train)
        var loss = crossEntropy(logits, labels: labels)
        var signLoss: Float = 0, signAcc = 0.0, layers = 0
        for block in passportBlocks(in: model) {
            guard let gamma = block.lastScale else { continue }
            let l = block.signLoss(of: gamma)
            loss = loss + l
            signLoss += l.item
            signAcc += noGrad { block.signAccuracy(of: gamma) }
            layers += 1
        }
        return (loss, logits, layers > 0 ? ["sign_loss": signLoss, "sign_acc": Float(signAcc / Double(layers))] : [:])
    }
}

/// The passport layers of a model, in state-dict order.
public func passportBlocks(in model: any Module) -> [PassportBlock] {
    model.namedModules().compactMap { $0.module as? PassportBlock }
}
