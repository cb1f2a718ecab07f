import IPRModels

/// Every cheap edit at once, as a thief who read the papers would: structured pruning of two
/// passport layers, dummy neurons in them, every neuron permuted and rescaled, and the file re-saved
/// under `module.` in half precision without metadata.
struct ObfuscateAttack: Attack {
    var options: [AttackOption] {
        [AttackOption("prune", default: "0.25", "filters removed from each edited passport layer (fraction)"),
         AttackOption("widen", default: "0.125", "dummy channels added to each edited passport layer (fraction)"),
         AttackOption("layers", default: "2", "how many passport layers are pruned and widened (the first ones; 0: all)")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let edit = try EditedModel(context)
        let prune = try context.options.fraction("prune"), widen = try context.options.double("widen", in: 0...4)
        let groups = edit.groups(try context.options.int("layers"))
        let before = try context.measure()
        var file = try ChannelEdit.removeChannels(edit.stolen, graph: edit.graph, groups: groups, fraction: prune)
        for group in groups {
            let producer = edit.graph.layers.first { $0.output == group }!
            let n = try ChannelAlignment.weight(of: producer, in: file, "the model").shape[0]
            file = try ChannelEdit.widen(file, graph: edit.graph, groups: [group], extra: max(1, Int((Double(n) * widen).rounded())), seed: context.seed)
        }
        file = try ChannelEdit.permute(file, graph: edit.graph, seed: context.seed, rescale: true)
        file = try ChannelEdit.resave(file, prefix: "module.", precision: .f16)
        let (step, after) = try edit.step(prune, file)
        let report = AttackReport(attack: context.attack, levelMeaning: "filters removed from each edited passport layer (fraction)",
                                  options: context.options.values, seed: context.seed, before: before, after: after, steps: [step])
        return AttackOutcome(report: report, attackedFile: file)
    }
}
