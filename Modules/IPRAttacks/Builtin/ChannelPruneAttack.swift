import IPRModels

/// Structured pruning: whole filters of passport layers removed, the smallest L1 norm first, with
/// the next layer's weights that read them — a smaller, faster network whose file no longer fits the
/// architecture. Unlike the other structural edits it changes the function; the sweep shows how much.
/// The bits of removed channels are unreadable to the owner, never counted as matches.
struct ChannelPruneAttack: Attack {
    var options: [AttackOption] {
        [.levels("0,0.125,0.25,0.5"), AttackOption("save-level", default: "0.25", "the level whose pruned model is written (one of the levels)"),
         AttackOption("layers", default: "2", "how many passport layers are pruned (the first ones; 0: all)")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let edit = try EditedModel(context)
        let levels = try context.options.levels(), saveLevel = try context.options.fraction("save-level")
        let groups = edit.groups(try context.options.int("layers"))
        let before = try context.measure()
        var steps: [AttackReport.Step] = [], after = before, kept = edit.stolen
        for level in levels {
            let file = try ChannelEdit.removeChannels(edit.stolen, graph: edit.graph, groups: groups, fraction: level)
            let (step, measured) = try edit.step(level, file)
            steps.append(step)
            if level == saveLevel { (after, kept) = (measured, file) }
        }
        let report = AttackReport(attack: context.attack, levelMeaning: "filters removed from each pruned passport layer (fraction)",
                                  options: context.options.values, seed: context.seed, before: before, after: after, steps: steps)
        return AttackOutcome(report: report, attackedFile: kept)
    }
}
