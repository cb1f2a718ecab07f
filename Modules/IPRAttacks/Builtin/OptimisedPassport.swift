import IPRModels
import IPRPassport
import IPRTensor

/// Fake passport 3 (`passport_attack_3.py`): an insider who holds the passport and the weights looks
/// for a *different* passport that carries a signature of its own. Weights frozen; the passports
/// become trainable, starting from the real ones plus N(0, 0.001²) noise; the target signature is the
/// owner's with a fraction f of the bits flipped; the loss is cross-entropy on the passport path, plus
/// the sign loss toward the target, plus Σ 1 / MSE(real, forged) over the passports (pushing the
/// forgery away from the real one); gradients clipped to norm 2. The forgery is a passport file, so
/// the forger's claim is verified like any other.
struct OptimisedPassport: Attack {
    var options: [AttackOption] {
        [.epochs("epochs of optimising the passport (the reference: 100)"), .lr("learning rate (SGD, momentum 0.9, weight decay 5e-4)"),
         .flipFraction("fraction of the owner's signature bits the target flips")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let epochs = try context.options.int("epochs", atLeast: 1)
        let lr = try context.options.double("lr", in: 1e-8...10), fraction = try context.options.fraction("flip-fraction")
        let data = try context.requireAttackerData(does: "optimises the passport on the attacker's data")
        let before = try context.measure()
        let model = context.model
        try context.ownerPassport.install(into: model)   // the insider's starting point
        let layers = passportLayers(in: model)
        // A V1 forger's network read from a plain file runs with γ, β of its own; a passport claim
        // gives them through the convolution, so the optimised passport must drive them here.
        let carried = layers.map { ($0, $0.freeAffine) }
        for (block, _) in carried { block.freeAffine = nil }
        defer { for (block, affine) in carried { block.freeAffine = affine } }
        let owner = ownerBits(context)
        let real = layers.flatMap { [$0.key.copy(), $0.skey.copy()] }
        let savedBits = layers.map { $0.b.array }

        var rng = RNG(seed: context.seed, stream: 0xFA3E)
        let target = flipping(owner, fraction: fraction, rng: &rng)
        for (layer, bits) in zip(layers, target) { layer.b.assign(Tensor(shape: [bits.count], data: bits)) }
        let forged = layers.flatMap { [$0.key, $0.skey] }
        for p in forged { p.assign(p + Tensor.normal(p.shape, rng: &rng) * 0.001); p.requiresGrad = true }
        let frozen = model.trainableParameters()
        for p in frozen { p.requiresGrad = false }
        defer {
            for p in frozen { p.requiresGrad = true }
            for p in forged { p.requiresGrad = false; p.grad = nil }
        }

        let path = context.scheme.hasPrivatePath ? 1 : 0
        let sgd = SGD(parameters: forged, learningRate: Float(lr), momentum: 0.9, weightDecay: 5e-4)
        var steps: [AttackReport.Step] = []
        func detection() -> Double {
            let pairs = zip(layers, target).flatMap { layer, bits in zip(noGrad { layer.scale() }.array, bits) }
            return Double(pairs.filter { $0 * $1 > 0 }.count) / Double(max(pairs.count, 1))
        }
        for epoch in 1...epochs {
            try data.batches.forEachBatch(epoch: epoch - 1) { batch in
                let (images, labels) = (batch.images, batch.labels)
                sgd.zeroGrad()
                var loss = crossEntropy(model(images, ForwardContext(training: true, path: path)), labels: labels)
                for layer in layers { loss = loss + layer.signLoss(of: layer.scale()) }
                for (r, f) in zip(real, forged) { loss = loss + (f - r).pow(2).mean().pow(-1) }
                loss.backward()
                _ = clipGradNorm(forged, maxNorm: 2)
                sgd.step()
            }
            let accuracy = try Evaluation.run(model, on: data.evaluation ?? context.evaluation,
                                              context: ForwardContext(training: false, path: path)).accuracy
            var distance = 0.0
            for (r, f) in zip(real, forged) { distance += Double(noGrad { (f - r).pow(2).mean() }.item) / Double(real.count) }
            steps.append(.init(level: Double(epoch), accuracy: accuracy, detection: detection(), verdict: .unmeasured, extra: ["passportMSE": distance]))
            context.progress("fake3 epoch \(epoch)/\(epochs): accuracy with the forged passport \(percent(accuracy)), target signature \(percent(steps.last!.detection))")
        }

        // The forgery as a passport file, then the model back as stolen, and the forger's claim checked.
        var passport = try Passport.extract(from: model)
        passport.scheme = context.ownerPassport.scheme
        passport.metadata = ["forged_by": "fake3", "flip_fraction": String(fraction)]
        for (layer, bits) in zip(layers, savedBits) { layer.b.assign(Tensor(shape: [bits.count], data: bits)) }
        try context.ownerPassport.install(into: model)
        let claim = try Verifier.verify(model: model, passport: passport, data: context.evaluation, thresholds: context.thresholds, seed: context.seed)
        let bdr = bitDissimilarity(passport.layers.map(\.bits), owner)
        let after = try context.measure()
        let report = AttackReport(attack: context.attack, levelMeaning: "epoch of optimising the passport", options: context.options.values,
                                  seed: context.seed, before: before, after: after, steps: steps,
                                  forged: .init(accuracy: claim.accuracy, detection: claim.signature.detection, bdr: bdr, verdict: claim.verdict))
        return AttackOutcome(report: report, forgedPassport: passport)
    }
}
