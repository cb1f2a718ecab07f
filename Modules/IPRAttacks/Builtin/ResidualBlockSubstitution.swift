import IPRModels
import IPRPassport
import IPRTensor

/// The ERB ambiguity attack (Chen, Tian, Chen and Zhou, CVPR 2023, arXiv 2303.11595, Algorithm 1):
/// every weight frozen, each passport layer's γ, β replaced by free ones (γ = 1, β = 0) with γ passed
/// through a fully connected residual block (`ResidualScaleBlock`: IERB per channel, CERB across
/// channels), and only γ, β and the blocks trained on the attacker's data with cross-entropy alone.
/// The forger's signature is whatever signs γ'' ends with; the paper finds them far from the owner's
/// at almost no cost in accuracy. What it obtains is a network (`model.safetensors`), not a passport:
/// no input through the owner's conv weights is shown to give γ'', so there is nothing of the
/// forger's that `verify` can check, while the owner's passport still runs through the weights the
/// forger had to keep.
struct ResidualBlockSubstitution: Attack {
    /// CERB (one block across channels) or IERB (one per channel).
    let combined: Bool

    var options: [AttackOption] {
        [.epochs("epochs of training γ, β and the residual blocks"), .lr("learning rate (SGD, momentum 0.9, weight decay 5e-4)")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let epochs = try context.options.int("epochs", atLeast: 1)
        let lr = try context.options.double("lr", in: 1e-8...10)
        let data = try context.requireAttackerData()
        let before = try context.measure()
        let model = context.model
        let layers = try context.requirePassportLayers()
        let owner = ownerBits(context)

        var rng = RNG(seed: context.seed, stream: combined ? 0xCE2B : 0x1E2B)
        let channels = layers.map { FreeAffine.deployed($0).scale.count }
        let gammas = channels.map { Tensor.parameter(.ones([$0])) }, betas = channels.map { Tensor.parameter(.zeros([$0])) }
        let blocks = channels.map { ResidualScaleBlock(channels: $0, combined: combined, rng: &rng) }
        let trained = gammas + betas + blocks.flatMap(\.parameters)
        let frozen = model.trainableParameters()
        for p in frozen { p.requiresGrad = false }
        defer { for p in frozen { p.requiresGrad = true } }

        /// Puts γ'' = block(γ), β on every passport layer (nil: back to what the model had).
        func substitute(_ on: Bool) {
            for (k, layer) in layers.enumerated() {
                let affine = on ? (blocks[k](gammas[k]), betas[k]) : nil
                layer.freeAffine = affine
            }
        }
        func substituted() -> [Tensor] { noGrad { zip(blocks, gammas).map { $0($1) } } }

        let sgd = SGD(parameters: trained, learningRate: Float(lr), momentum: 0.9, weightDecay: 5e-4)
        var steps: [AttackReport.Step] = []
        for epoch in 1...epochs {
            try data.batches.forEachBatch(epoch: epoch - 1) { batch in
                let (images, labels) = (batch.images, batch.labels)
                sgd.zeroGrad()
                substitute(true)  // a fresh graph through the blocks every step
                crossEntropy(model(images, .train), labels: labels).backward()
                sgd.step()
            }
            noGrad { substitute(true) }
            let accuracy = try Evaluation.run(model, on: data.evaluation ?? context.evaluation).accuracy
            let bdr = bitDissimilarity(substituted().map { signs($0.array) }, owner)
            steps.append(.init(level: Double(epoch), accuracy: accuracy, detection: 1 - bdr, verdict: .noPassport, extra: ["bdr": bdr]))
            context.progress("\(context.attack) epoch \(epoch)/\(epochs): accuracy \(percent(accuracy)), forged signature differs from the owner's in \(percent(bdr))")
        }
        // The forger's network: γ'' is a constant once trained, so the blocks fold into it — a V2/V3
        // model carries it as its public γ, β (a released file like any other), a V1 forger runs a
        // plain network with it as the norms' affine. Unfolded, the blocks' tensors would only mark
        // the file as structurally modified; folded is the stronger attack, and the one measured.
        let final = substituted()
        let forged = final.map { signs($0.array) }
        substitute(false)
        for (k, layer) in layers.enumerated() {
            if let deployed = layer.publicAffine { deployed.scale.assign(final[k]); deployed.bias.assign(betas[k]) }
        }
        let after = try context.measure()
        let forgery = AttackReport.Forgery(accuracy: steps.last!.accuracy, detection: 1, bdr: bitDissimilarity(forged, owner), verdict: .noPassport)
        let report = AttackReport(attack: context.attack, levelMeaning: "epoch of training γ, β and the residual blocks", options: context.options.values,
                                  seed: context.seed, before: before, after: after, steps: steps, forged: forgery)
        return try .forgerNetwork(report, context) {
            for (k, layer) in layers.enumerated() where layer.publicAffine == nil { layer.freeAffine = (final[k], betas[k]) }
        }
    }
}
