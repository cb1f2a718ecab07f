import IPRModels
import IPRPassport
import IPRTensor

/// Fake passport 2 (`passport_attack_2.py`): with every weight frozen, the forger replaces the passport
/// layers' γ by a sign vector — the signs γ has now, a fraction f of them flipped to make a signature of
/// its own — and β by 0, then trains only γ and β on its data to win the accuracy back. It obtains
/// free γ, β, not a passport, so its claim cannot be verified; the report gives how much accuracy and
/// how much of its own signature it keeps, and that the owner's passport still proves ownership.
struct ReverseEngineeredAffine: Attack {
    var options: [AttackOption] {
        [.epochs("epochs of training γ and β (the reference: 100)"), .lr("learning rate (SGD, momentum 0.9, weight decay 5e-4)"),
         .flipFraction("fraction of γ's signs the forger flips to make its signature")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let epochs = try context.options.int("epochs", atLeast: 1)
        let lr = try context.options.double("lr", in: 1e-8...10), fraction = try context.options.fraction("flip-fraction")
        let data = try context.requireAttackerData(does: "trains γ and β on the attacker's data")
        let before = try context.measure()
        let model = context.model
        let layers = try context.requirePassportLayers()
        let owner = ownerBits(context)

        // The forged signature: the signs γ has now, a random fraction flipped.
        let current = layers.map { signs(FreeAffine.deployed($0).scale) }
        var rng = RNG(seed: context.seed, stream: 0xFA2E)
        let target = flipping(current, fraction: fraction, rng: &rng)
        let free = FreeAffine(model) { layer in
            let k = layers.firstIndex { $0 === layer }!
            return (target[k], [Float](repeating: 0, count: target[k].count))
        }

        let frozen = model.trainableParameters().filter { p in !free.parameters.contains { $0 === p } }
        for p in frozen { p.requiresGrad = false }
        defer { for p in frozen { p.requiresGrad = true } }
        let sgd = SGD(parameters: free.parameters, learningRate: Float(lr), momentum: 0.9, weightDecay: 5e-4)
        var steps: [AttackReport.Step] = []
        free.use(true)
        func agreement(_ bits: [[Float]]) -> Double {
            let pairs = zip(free.scales, bits).flatMap { zip($0.0.array, $0.1) }
            return Double(pairs.filter { $0 * $1 > 0 }.count) / Double(max(pairs.count, 1))
        }
        for epoch in 1...epochs {
            try data.batches.forEachBatch(epoch: epoch - 1) { batch in
                let (images, labels) = (batch.images, batch.labels)
                sgd.zeroGrad()
                crossEntropy(model(images, .train), labels: labels).backward()
                sgd.step()
            }
            let accuracy = try Evaluation.run(model, on: data.evaluation ?? context.evaluation).accuracy
            steps.append(.init(level: Double(epoch), accuracy: accuracy, detection: agreement(target), verdict: .noPassport,
                               extra: ["ownerSignAgreement": agreement(owner)]))
            context.progress("fake2 epoch \(epoch)/\(epochs): accuracy \(percent(accuracy)), forged signature kept \(percent(steps.last!.detection))")
        }
        let forgedSignature = free.scales.map { signs($0.array) }
        free.use(false)
        let after = try context.measure()
        let forgery = AttackReport.Forgery(accuracy: steps.last!.accuracy, detection: steps.last!.detection,
                                           bdr: bitDissimilarity(forgedSignature, owner), verdict: .noPassport)
        let report = AttackReport(attack: context.attack, levelMeaning: "epoch of training γ, β", options: context.options.values,
                                  seed: context.seed, before: before, after: after, steps: steps, forged: forgery)
        // V2/V3's forged γ, β are the public path's, in the state dict; V1's go into a plain network's norms.
        return try .forgerNetwork(report, context) { free.use(true) }
    }
}

/// The owner's signature bits per passport layer of the model, in the model's layer order.
func ownerBits(_ context: AttackContext) -> [[Float]] {
    let byPath = Dictionary(context.ownerPassport.layers.map { ($0.path, $0.bits) }, uniquingKeysWith: { a, _ in a })
    return context.model.namedModules().compactMap { m in (m.module as? any PassportLayer).map { byPath[m.path] ?? $0.b.array } }
}
