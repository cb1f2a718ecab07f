import IPRModels
import IPRPassport
import IPRTensor

/// The strongest forgery by an outsider (who holds the stolen model, not the passport): fake1's claim
/// with fake3's optimisation. Weights frozen; passports drawn at random (as fake1's) and then trained
/// for accuracy alone — cross-entropy on the passport path, no target signature — and claimed with
/// the signature they produce, the signs of γ. That claim matches its own γ by construction, beats
/// random passports and keeps the accuracy the optimisation bought, so detection, the null test and
/// fidelity cannot refuse it; what refuses it is the commitment (`SignatureCommitment`): its signature
/// is not the hash of its passports. The report's `forged` is the claim's verification; `steps` its
/// accuracy after each epoch.
struct OutsiderForgery: Attack {
    var options: [AttackOption] {
        [.epochs("epochs of optimising the passport for accuracy"), .lr("learning rate (SGD, momentum 0.9, weight decay 5e-4)")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let epochs = try context.options.int("epochs", atLeast: 1)
        let lr = try context.options.double("lr", in: 1e-8...10)
        let data = try context.requireAttackerData(does: "optimises the passport on the attacker's data")
        let before = try context.measure()
        let model = context.model
        var forged = context.ownerPassport.randomized(seed: context.seed &+ 0x0075_1DE4)
        try forged.install(into: model)
        let layers = passportLayers(in: model)
        let carried = layers.map { ($0, $0.freeAffine) }   // a V1 network read from a plain file
        for (block, _) in carried { block.freeAffine = nil }
        let passports = layers.flatMap { [$0.key, $0.skey] }
        for p in passports { p.requiresGrad = true }
        let frozen = model.trainableParameters()
        for p in frozen { p.requiresGrad = false }
        defer {
            for p in frozen { p.requiresGrad = true }
            for p in passports { p.requiresGrad = false; p.grad = nil }
            for (block, affine) in carried { block.freeAffine = affine }
        }

        let path = context.scheme.hasPrivatePath ? 1 : 0
        let sgd = SGD(parameters: passports, learningRate: Float(lr), momentum: 0.9, weightDecay: 5e-4)
        var steps: [AttackReport.Step] = []
        for epoch in 1...epochs {
            try data.batches.forEachBatch(epoch: epoch - 1) { batch in
                let (images, labels) = (batch.images, batch.labels)
                sgd.zeroGrad()
                crossEntropy(model(images, ForwardContext(training: true, path: path)), labels: labels).backward()
                _ = clipGradNorm(passports, maxNorm: 2)
                sgd.step()
            }
            let accuracy = try Evaluation.run(model, on: data.evaluation ?? context.evaluation,
                                              context: ForwardContext(training: false, path: path)).accuracy
            steps.append(.init(level: Double(epoch), accuracy: accuracy, detection: 1, verdict: .unmeasured))
            context.progress("forge epoch \(epoch)/\(epochs): accuracy with the optimised passport \(percent(accuracy))")
        }

        // The claim: the optimised passports and the signs of γ they produce.
        let modules = Dictionary(model.namedModules().map { ($0.path, $0.module) }, uniquingKeysWith: { a, _ in a })
        for i in forged.layers.indices {
            guard let layer = modules[forged.layers[i].path] as? any PassportLayer else { continue }
            forged.layers[i].key = layer.key.copy()
            forged.layers[i].skey = layer.skey.copy()
            forged.layers[i].bits = signs(noGrad { layer.scale() }.array)
            forged.layers[i].text = nil
        }
        forged.metadata = ["forged_by": "forge"]
        try context.ownerPassport.install(into: model)   // the model as stolen; verify installs the claim itself
        let claim = try Verifier.verify(model: model, passport: forged, data: context.evaluation, thresholds: context.thresholds, seed: context.seed)
        context.progress("forge: the claim reads \(percent(claim.signature.detection)) of its bits at accuracy \(percent(claim.accuracy)): \(claim.verdict)")
        let after = try context.measure()
        let report = AttackReport(attack: context.attack, levelMeaning: "epoch of optimising the passport", options: context.options.values,
                                  seed: context.seed, before: before, after: after, steps: steps,
                                  forged: .init(accuracy: claim.accuracy, detection: claim.signature.detection,
                                                bdr: bitDissimilarity(forged.layers.map(\.bits), ownerBits(context)), verdict: claim.verdict))
        return AttackOutcome(report: report, forgedPassport: forged)
    }
}
