import IPRModels

/// Dummy neurons ("neural structural obfuscation", Yan et al., USENIX Security 2023): extra channels
/// in passport layers with random filters in and zero weights out. The network computes what it
/// computed, but its file no longer fits the architecture, and the passport layers have channels the
/// signature has no bits for.
struct WidenAttack: Attack {
    var options: [AttackOption] {
        [AttackOption("fraction", default: "0.125", "extra channels per widened layer, as a fraction of its channels"),
         AttackOption("layers", default: "2", "how many passport layers are widened (the first ones; 0: all)")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let edit = try EditedModel(context)
        let fraction = try context.options.double("fraction", in: 0...4), count = try context.options.int("layers")
        let groups = edit.groups(count)
        let before = try context.measure()
        var file = edit.stolen
        for group in groups {
            let producer = edit.graph.layers.first { $0.output == group }!
            let n = try ChannelAlignment.weight(of: producer, in: file, "the model").shape[0]
            file = try ChannelEdit.widen(file, graph: edit.graph, groups: [group], extra: max(1, Int((Double(n) * fraction).rounded())), seed: context.seed)
        }
        let (step, after) = try edit.step(fraction, file)
        let report = AttackReport(attack: context.attack, levelMeaning: "dummy channels per widened layer (fraction)", options: context.options.values,
                                  seed: context.seed, before: before, after: after, steps: [step])
        return AttackOutcome(report: report, attackedFile: file)
    }
}
