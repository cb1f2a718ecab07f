import IPRTensor

/// What one training step minimises. The plain objective is cross-entropy; passport schemes add
/// sign losses or run several forward paths, without the trainer knowing.
public protocol TrainingObjective {
    /// The loss of one batch (to backpropagate), the logits that accuracy is measured on, and any
    /// extra numbers to log per epoch (averaged over batches), e.g. `sign_loss`.
    func step(model: any Layer, images: Tensor, labels: [Int]) -> (loss: Tensor, logits: Tensor, metrics: [String: Float])
}

/// Cross-entropy on the default forward path in training mode.
public struct CrossEntropyObjective: TrainingObjective {
    public init() {}
    public func step(model: any Layer, images: Tensor, labels: [Int]) -> (loss: Tensor, logits: Tensor, metrics: [String: Float]) {
        let logits = model(images, .train)
        return (crossEntropy(logits, labels: labels), logits, [:])
    }
}

/// Loss and accuracy of a model over a whole batch source, in evaluation mode, without gradients.
public struct Evaluation: Sendable, Equatable, Codable {
    /// Mean cross-entropy.
    public var loss: Double
    /// Fraction of samples whose arg-max logit is the label (0…1).
    public var accuracy: Double
    public var samples: Int

    /// Evaluates `model` on `source` (epoch 0 order) along `context` (path 0 unless told).
    public static func run(_ model: any Layer, on source: any BatchSource,
                           context: ForwardContext = .eval) throws -> Evaluation {
        var loss = 0.0, correct = 0, n = 0
        try noGrad {
            try source.forEachBatch(epoch: 0) { batch in
                let (images, labels) = (batch.images, batch.labels)
                let logits = model(images, context)
                loss += Double(crossEntropy(logits, labels: labels, reduction: .sum).item)
                correct += zip(logits.argmax(axis: 1), labels).filter { $0 == $1 }.count
                n += labels.count
            }
        }
        return Evaluation(loss: n > 0 ? loss / Double(n) : .nan, accuracy: n > 0 ? Double(correct) / Double(n) : .nan, samples: n)
    }
}

/// Data evaluated after every epoch beside the test set, along `context`; `Trainer` logs its
/// accuracy as `NAME_acc` (a trigger set's, or the test set's through a passport path).
public struct Monitor {
    public var name: String
    public var data: any BatchSource
    public var context: ForwardContext

    public init(name: String, data: any BatchSource, context: ForwardContext = .eval) {
        self.name = name; self.data = data; self.context = context
    }
}
