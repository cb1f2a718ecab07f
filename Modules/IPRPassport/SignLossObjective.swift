import IPRModels
import IPRTensor

/// Scheme-V1 training: cross-entropy on the passport path plus the sign loss of every passport
/// layer; logs `sign_loss` and `sign_acc` (mean over passport layers) per epoch.
public struct PassportObjective: TrainingObjective {
    public init() {}

    public func step(model: any Layer, images: Tensor, labels: [Int]) -> (loss: Tensor, logits: Tensor, metrics: [String: Float]) {
        let logits = model(images, .train)
        let (loss, metrics) = addSignLosses(crossEntropy(logits, labels: labels), model)
        return (loss, logits, metrics)
    }
}

/// Scheme-V2 training: every batch goes through the public path and the private path;
/// loss = CE(public) + CE(private) + Σ sign loss of the private γ. The training accuracy is the
/// private path's; the public path's on the same batches is logged as `train_public_acc`.
///
/// The layers before the first passport layer are the same on both paths: they run once per batch
/// (`ForwardMemo`) and both paths' gradients flow back through the one result. Their batch-norm
/// running statistics therefore take one update per batch (the reference, running two full passes,
/// applies the same batch statistics twice).
public struct PrivatePassportObjective: TrainingObjective {
    /// Share the path-independent prefix between the two passes (on by default).
    public var sharePrefix = true
    public init(sharePrefix: Bool = true) { self.sharePrefix = sharePrefix }

    public func step(model: any Layer, images: Tensor, labels: [Int]) -> (loss: Tensor, logits: Tensor, metrics: [String: Float]) {
        let memo = sharePrefix ? ForwardMemo() : nil
        let publicLogits = model(images, ForwardContext(training: true, path: 0, memo: memo))
        let privateLogits = model(images, ForwardContext(training: true, path: 1, memo: memo))
        var (loss, metrics) = addSignLosses(crossEntropy(publicLogits, labels: labels) + crossEntropy(privateLogits, labels: labels), model)
        let publicCorrect = zip(publicLogits.argmax(axis: 1), labels).filter { $0 == $1 }.count
        metrics["train_public_acc"] = Float(publicCorrect) / Float(max(labels.count, 1))
        return (loss, privateLogits, metrics)
    }
}

/// `loss` plus the sign loss of every passport layer that ran its passport path in this step, and
/// the metrics `sign_loss` (sum) and `sign_acc` (mean over layers).
private func addSignLosses(_ loss: Tensor, _ model: any Layer) -> (Tensor, [String: Float]) {
    var total = loss
    var signLoss: Float = 0, signAcc = 0.0, layers = 0
    for layer in passportLayers(in: model) {
        guard let gamma = layer.lastScale else { continue }
        let l = layer.signLoss(of: gamma)
        total = total + l
        signLoss += l.item
        signAcc += noGrad { layer.signAccuracy(of: gamma) }
        layers += 1
    }
    return (total, layers > 0 ? ["sign_loss": signLoss, "sign_acc": Float(signAcc / Double(layers))] : [:])
}
