import IPRModels

/// The file as another tool re-saves it: `safetensors.torch.save_file` of an `nn.DataParallel`
/// model in half precision — every name under a prefix, values in F16, and no metadata (no
/// architecture, no scheme). The owner reads it with the passport file's model description, or the
/// reference's.
struct ResaveAttack: Attack {
    var options: [AttackOption] {
        [AttackOption("prefix", default: "module.", "put before every tensor name"),
         AttackOption("half", default: "1", "1: store values in half precision (F16); 0: as they are")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let edit = try EditedModel(context)
        let before = try context.measure()
        let file = try ChannelEdit.resave(edit.stolen, prefix: context.options.string("prefix"), half: try context.options.int("half") != 0)
        let (step, after) = try edit.step(0, file)
        let report = AttackReport(attack: "resave", options: context.options.values, seed: context.seed, before: before, after: after, steps: [step])
        return AttackOutcome(report: report, attackedFile: file)
    }
}
