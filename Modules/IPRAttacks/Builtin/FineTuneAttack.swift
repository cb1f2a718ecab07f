import IPRModels
import IPRPassport
import IPRTensor

/// Fine-tuning by a thief on data of its own (the reference's `--transfer-learning` runs and the
/// FTLL / FTAL / RTLL / RTAL attacks of Uchida et al.): train the last layer only (`*ll`) or all
/// layers (`*al`), from the stolen classifier (`ft*`) or a freshly initialised one (`rt*`), with
/// cross-entropy on the deployed path. The thief keeps no passport: V1's passport layers become free
/// γ, β (initialised from the passport, trained with the rest); V2/V3's public path already is that.
/// After each epoch the owner checks the claim, for V1 on the fine-tuned conv weights with the
/// passport ("weights back"). Attacker data of another task with the same number of classes
/// (Fashion-MNIST for a CIFAR-10 model) is a transfer; `accuracy` is then the attacker's own task's.
struct FineTuneAttack: Attack {
    /// rt*: the classifier is re-initialised before training.
    let resetClassifier: Bool
    /// *al: every layer trains; *ll: only the classifier.
    let allLayers: Bool

    var options: [AttackOption] {
        [.epochs("epochs of fine-tuning"), .lr("learning rate (SGD, momentum 0.9, constant as lr_configs/finetune.json)"),
         AttackOption("weight-decay", default: "5e-4", "L2 weight decay")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let epochs = try context.options.int("epochs", atLeast: 1)
        let lr = try context.options.double("lr", in: 1e-8...10), decay = try context.options.double("weight-decay", in: 0...1)
        let data = try context.requireAttackerData()
        guard data.classes == nil || data.classes == context.info.config.classes else {
            throw IPRAttacksError(.unsuitableInput, "attack '\(context.attack)' fine-tunes the model's \(context.info.config.classes)-class classifier; the attacker data has \(data.classes!) classes")
        }
        let model = context.model
        guard let classifier = model.namedModules().compactMap({ $0.module as? Linear }).last else {
            throw IPRAttacksError(.unsuitableInput, "attack '\(context.attack)': the model has no linear classifier to fine-tune")
        }
        let before = try context.measure()

        // The thief's model: free γ, β in the passport layers; a new classifier for rt*.
        let free = FreeAffine(model)
        var rng = RNG(seed: context.seed, stream: 0xF7E7)
        if resetClassifier {
            let bound = 1 / Float(classifier.weight.shape[1]).squareRoot()
            classifier.weight.assign(Tensor.uniform(classifier.weight.shape, low: -bound, high: bound, rng: &rng))
            if let b = classifier.bias { b.assign(Tensor.uniform(b.shape, low: -bound, high: bound, rng: &rng)) }
        }
        let trained = allLayers ? unique(model.trainableParameters() + free.parameters) : classifier.namedParameters().map(\.tensor)
        let sgd = SGD(parameters: trained, learningRate: Float(lr), momentum: 0.9, weightDecay: Float(decay))

        var steps: [AttackReport.Step] = []
        var after = before
        for epoch in 1...epochs {
            free.use(true)
            var loss = 0.0, seen = 0
            try data.batches.forEachBatch(epoch: epoch - 1) { batch in
                let (images, labels) = (batch.images, batch.labels)
                sgd.zeroGrad()
                let l = crossEntropy(model(images, .train), labels: labels)
                l.backward()
                sgd.step()
                loss += Double(l.item) * Double(labels.count)
                seen += labels.count
            }
            let accuracy = try Evaluation.run(model, on: data.evaluation ?? context.evaluation).accuracy
            free.use(false)
            after = try context.measure()
            steps.append(.init(level: Double(epoch), accuracy: accuracy, detection: after.detection, verdict: after.verdict,
                               extra: ["trainLoss": loss / Double(max(seen, 1)), "ownerAccuracy": after.accuracy]))
            context.progress("\(context.attack) epoch \(epoch)/\(epochs): loss \(String(format: "%.4f", loss / Double(max(seen, 1)))), accuracy \(percent(accuracy)), owner's detection \(percent(after.detection)), \(after.verdict)")
        }
        let report = AttackReport(attack: context.attack, levelMeaning: "epoch of fine-tuning", options: context.options.values, seed: context.seed,
                                  before: before, after: after, steps: steps)
        return AttackOutcome(report: report, attackedModel: model)
    }
}

/// Each tensor once, in first-seen order (V2's free γ, β are already among the model's parameters).
func unique(_ tensors: [Tensor]) -> [Tensor] {
    var seen = Set<ObjectIdentifier>()
    return tensors.filter { seen.insert(ObjectIdentifier($0)).inserted }
}
