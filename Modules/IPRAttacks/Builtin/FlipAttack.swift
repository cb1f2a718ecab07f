import IPRModels
import IPRPassport
import IPRTensor

/// The sign-flip attack (`flip_attack.py`): the thief turns every passport layer's γ and β into free
/// parameters holding the values the model uses now (V1: from its passport; V2/V3: the public path's
/// learned γ, β, all a released copy has), then flips the sign of a random fraction f of all γ. The
/// signature would then read differently from the free γ — but the network no longer works, while the
/// owner's passport, through the untouched weights, still gives the signature.
struct FlipAttack: Attack {
    var options: [AttackOption] { [.levels()] }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let levels = try context.options.levels()
        let layers = try context.requirePassportLayers()
        let bitsByPath = Dictionary(context.ownerPassport.layers.map { ($0.path, $0.bits) }, uniquingKeysWith: { a, _ in a })
        let paths = context.model.namedModules().compactMap { m in (m.module as? any PassportLayer).map { _ in m.path } }

        // The free γ, β: what the deployed path computes now.
        let free = layers.map(FreeAffine.deployed)
        let total = free.reduce(0) { $0 + $1.scale.count }
        var rng = RNG(seed: context.seed, stream: 0xF11B)
        let order = rng.permutation(total)   // flipping a fraction f flips the first f·total of one order

        /// Installs the free γ with the first `count` entries of `order` negated; nil restores the model.
        func install(flipping count: Int?) -> Double {
            let flipped = Set(order.prefix(count ?? 0))
            var offset = 0, agree = 0, bits = 0
            for (k, layer) in layers.enumerated() {
                let c = free[k].scale.count
                let gamma = (0..<c).map { flipped.contains(offset + $0) ? -free[k].scale[$0] : free[k].scale[$0] }
                if let owner = bitsByPath[paths[k]] {
                    agree += zip(gamma, owner).filter { $0 * $1 > 0 }.count
                    bits += owner.count
                }
                let scale = Tensor(shape: [c], data: count == nil ? free[k].scale : gamma)
                if let deployed = layer.publicAffine { deployed.scale.assign(scale) }
                else { layer.freeAffine = count == nil ? nil : (scale, Tensor(shape: [c], data: free[k].bias)) }
                offset += c
            }
            return Double(agree) / Double(max(bits, 1))
        }
        /// The attacked model's accuracy as the thief runs it, and the owner's claim on it (V1's owner
        /// computes γ from the passport, not from the thief's free γ).
        func measure(flipping count: Int) throws -> (accuracy: Double, owner: AttackReport.Measurement, agreement: Double) {
            let agreement = install(flipping: count)
            let accuracy = try Evaluation.run(context.model, on: context.evaluation).accuracy
            for layer in layers where layer.publicAffine == nil { layer.freeAffine = nil }
            let owner = try context.measure()
            return (accuracy, owner, agreement)
        }

        let before = try context.measure()
        var steps: [AttackReport.Step] = []
        var last: AttackReport.Measurement = before
        for (i, level) in levels.enumerated() {
            let (accuracy, owner, agreement) = try measure(flipping: Int((Double(total) * level).rounded(.down)))
            steps.append(.init(level: level, accuracy: accuracy, detection: owner.detection, verdict: owner.verdict,
                               extra: ["modelSignAgreement": agreement]))
            last = owner
            context.progress("flip \(i + 1)/\(levels.count): fraction \(level), accuracy \(percent(accuracy)), owner's detection \(percent(owner.detection))")
        }
        _ = install(flipping: nil)
        let report = AttackReport(attack: context.attack, levelMeaning: "fraction of γ with flipped sign", options: context.options.values, seed: context.seed, before: before, after: last, steps: steps)
        return AttackOutcome(report: report)
    }
}
