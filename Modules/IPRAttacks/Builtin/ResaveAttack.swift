import IPRModels
import IPRTensor

/// The file as another tool re-saves it: `safetensors.torch.save_file` of an `nn.DataParallel`
/// model in half precision — every name under a prefix, values in F16 (or BF16), and no metadata (no
/// architecture, no scheme). The owner reads it with the passport file's model description, or the
/// reference's.
struct ResaveAttack: Attack {
    var options: [AttackOption] {
        [AttackOption("prefix", default: "module.", "put before every tensor name"),
         AttackOption("dtype", default: "F16", "how float values are stored: F16 (half), BF16 (brain float) or F32 (as they are)")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let edit = try EditedModel(context)
        let before = try context.measure()
        let name = context.options.string("dtype").uppercased()
        guard let precision = SafeTensorsDType(rawValue: name), [.f32, .f16, .bf16].contains(precision) else {
            throw IPRAttacksError(.invalidOption, "attack 'resave': dtype '\(context.options.string("dtype"))' is not F16, BF16 or F32")
        }
        let file = try ChannelEdit.resave(edit.stolen, prefix: context.options.string("prefix"), precision: precision)
        let (step, after) = try edit.step(0, file)
        let report = AttackReport(attack: context.attack, options: context.options.values, seed: context.seed, before: before, after: after, steps: [step])
        return AttackOutcome(report: report, attackedFile: file)
    }
}
