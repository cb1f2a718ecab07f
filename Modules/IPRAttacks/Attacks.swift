import Foundation
import IPRTensor

/// The attacks by name. Built-ins are registered here, one line each; an attack of your own
/// registers the same way (`Attacks.registry.register("mine", description: "…", MyAttack())`).
public enum Attacks {
    public static let registry: Registry<any Attack> = {
        let r = Registry<any Attack>(kind: "attack")
        r.register("prune", description: "global magnitude pruning of all weights, swept over the pruned fraction (pruning_attack.py)", PruneAttack())
        r.register("flip", description: "passport γ, β made free and the signs of a fraction of γ flipped, swept over the fraction (flip_attack.py)", FlipAttack())
        r.register("ftll", description: "fine-tune the last layer on the attacker's data", FineTuneAttack(resetClassifier: false, allLayers: false))
        r.register("ftal", description: "fine-tune all layers on the attacker's data", FineTuneAttack(resetClassifier: false, allLayers: true))
        r.register("rtll", description: "re-initialise the classifier, then train it on the attacker's data", FineTuneAttack(resetClassifier: true, allLayers: false))
        r.register("rtal", description: "re-initialise the classifier, then train all layers on the attacker's data", FineTuneAttack(resetClassifier: true, allLayers: true))
        r.register("fake1", description: "forged passports: random keys, claiming the signature they produce (passport_attack_1.py)", RandomPassportForgery())
        r.register("fake2", description: "weights frozen, γ/β reverse-engineered on the attacker's data from a flipped sign vector (passport_attack_2.py)", ReverseEngineeredAffine())
        r.register("fake3", description: "weights frozen, the passport itself optimised toward a flipped signature and away from the real one (passport_attack_3.py)", OptimisedPassport())
        r.register("forge", description: "weights frozen, random passports optimised for accuracy alone and claimed with the signature they produce (the strongest outsider forgery)", OutsiderForgery())
        r.register("ierb", description: "weights frozen, γ through a per-channel fully connected residual block, trained with cross-entropy (Chen et al., CVPR 2023)", ResidualBlockSubstitution(combined: false))
        r.register("cerb", description: "weights frozen, γ through one fully connected residual block across channels, trained with cross-entropy (Chen et al., CVPR 2023)", ResidualBlockSubstitution(combined: true))
        r.register("permute", description: "every layer's neurons permuted and positively rescaled: the same function, the signature's channels scrambled (Yan et al., KDD 2023)", PermuteAttack())
        r.register("widen", description: "dummy neurons in passport layers, zero weights out: the same function in another shape (Yan et al., USENIX Security 2023)", WidenAttack())
        r.register("channel-prune", description: "whole filters of passport layers removed by L1 norm, swept over the fraction", ChannelPruneAttack())
        r.register("quantize", description: "weights rounded per output channel to 16 (half), 8 or 4 bits, swept over the width", QuantizeAttack())
        r.register("resave", description: "the file re-saved by another tool: names under module., half precision, no metadata", ResaveAttack())
        r.register("distill", description: "model extraction: a fresh network trained only on the stolen model's predicted labels (the white-box claim cannot survive; a trigger set may)", DistillAttack())
        r.register("obfuscate", description: "all at once: filters pruned, dummy neurons, every neuron permuted and rescaled, re-saved without metadata", ObfuscateAttack())
        return r
    }()

    /// Runs the registered attack `name` with the options given (checked against those it takes),
    /// timing it into the report.
    public static func run(_ name: String, options given: [String: String],
                           context makeContext: (AttackOptions) throws -> AttackContext) throws -> AttackOutcome {
        let attack = try registry.lookup(name)
        let options = try AttackOptions(given, for: name, taking: attack.options)
        let context = try makeContext(options)
        let start = Date()
        var outcome = try attack.run(context)
        outcome.report.seconds = Date().timeIntervalSince(start)
        return outcome
    }
}
