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

/// Scheme-V2 training (SPEC.md §3): every batch goes through the public path and the private path;
/// loss = CE(public) + CE(private) + Σ sign loss of the private γ. Accuracy is measured on the
/// private path; `public_acc` is logged.
public struct PrivatePassportObjective: TrainingObjective {
    public init() {}

    public func step(model: any Layer, images: Tensor, labels: [Int]) -> (loss: Tensor, logits: Tensor, metrics: [String: Float]) {
        let publicLogits = model(images, ForwardContext(training: true, path: 0))
        let privateLogits = model(images, ForwardContext(training: true, path: 1))
        var loss = crossEntropy(publicLogits, labels: labels) + crossEntropy(privateLogits, labels: labels)
        var signLoss: Float = 0, signAcc = 0.0, layers = 0
        for block in privatePassportBlocks(in: model) {
            guard let gamma = block.lastScale else { continue }
            let l = block.signLoss(of: gamma)
            loss = loss + l
            signLoss += l.item
            signAcc += noGrad { block.signAccuracy(of: gamma) }
            layers += 1
        }
        let publicCorrect = zip(publicLogits.argmax(axis: 1), labels).filter { $0 == $1 }.count
        var metrics: [String: Float] = ["public_acc": Float(publicCorrect) / Float(max(labels.count, 1))]
        if layers > 0 { metrics["sign_loss"] = signLoss; metrics["sign_acc"] = Float(signAcc / Double(layers)) }
        return (loss, privateLogits, metrics)
    }
}

/// The private passport layers of a model, in state-dict order.
public func privatePassportBlocks(in model: any Module) -> [PassportPrivateBlock] {
    model.namedModules().compactMap { $0.module as? PassportPrivateBlock }
}
