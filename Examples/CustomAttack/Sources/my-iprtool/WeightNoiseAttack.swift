import Foundation
import IPRAttacks
import IPRTensor

/// The thief adds Gaussian noise to every weight, hoping the signature goes before the accuracy:
/// at level L each tensor gets noise of L times its own standard deviation. Seeded by the attack's
/// seed, so a run repeats.
struct WeightNoiseAttack: Attack {
    var options: [AttackOption] {
        [.levels("0,0.1,0.25,0.5,1"), AttackOption("save-level", default: "0.25", "the level whose noisy model is written (one of the levels)")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let levels = try context.options.levels()
        let saveLevel = try context.options.fraction("save-level")
        let parameters = context.model.trainableParameters()
        let original = parameters.map(\.array)
        func apply(_ level: Double) {
            var rng = RNG(seed: context.seed)
            for (p, values) in zip(parameters, original) {
                let mean = values.reduce(0, +) / Float(max(values.count, 1))
                let spread = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(max(values.count, 1))).squareRoot()
                let scale = Float(level) * spread
                p.assign(Tensor(shape: p.shape, data: values.map { $0 + scale * rng.normal() }))
            }
        }

        let before = try context.measure()
        var steps: [AttackReport.Step] = []
        for level in levels {
            apply(level)
            let m = try context.measure()
            // The accuracy the thief gets: the deployed (public) path's where the model has one.
            let accuracy = m.publicAccuracy ?? m.accuracy
            steps.append(.init(level: level, accuracy: accuracy, detection: m.detection, verdict: m.verdict))
            context.progress(String(format: "%@: level %.2f, accuracy %.1f%%, owner's detection %.1f%%", context.attack, level, 100 * accuracy, 100 * m.detection))
        }
        apply(saveLevel)   // the model the thief keeps
        let after = try context.measure()
        let report = AttackReport(attack: context.attack, levelMeaning: "noise / weight spread", options: context.options.values,
                                  seed: context.seed, before: before, after: after, steps: steps)
        return AttackOutcome(report: report, attackedModel: context.model)
    }
}
