import IPRModels

/// Neuron permutation (Yan et al., KDD 2023): every layer's output channels in a random order, the
/// next layer's inputs with them, and each channel's weights scaled by a positive factor that batch
/// norm cancels. The network computes exactly what it computed; the signature's bits, read channel by
/// channel, are scrambled unless the owner aligns the copy to the reference first.
struct PermuteAttack: Attack {
    var options: [AttackOption] {
        [AttackOption("rescale", default: "1", "1: also scale each channel's weights by a positive factor in [0.5, 2]; 0: permute only")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let edit = try EditedModel(context)
        let rescale = try context.options.int("rescale") != 0
        let before = try context.measure()
        var steps: [AttackReport.Step] = [], after = before, kept = edit.stolen
        for (level, scaled) in [(0.0, false), (1.0, true)] {
            let file = try ChannelEdit.permute(edit.stolen, graph: edit.graph, seed: context.seed, rescale: scaled)
            let (step, measured) = try edit.step(level, file)
            steps.append(step)
            if scaled == rescale { (after, kept) = (measured, file) }
        }
        let report = AttackReport(attack: context.attack, levelMeaning: "0: permuted, 1: permuted and rescaled", options: context.options.values,
                                  seed: context.seed, before: before, after: after, steps: steps)
        return AttackOutcome(report: report, attackedFile: kept)
    }
}
