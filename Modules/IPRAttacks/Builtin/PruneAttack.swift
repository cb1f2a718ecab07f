import IPRModels
import IPRTensor

/// Global magnitude pruning (`pruning_attack.py`, after Han et al.): at level p, one threshold for the
/// whole model — the p-quantile of |w| over every trainable parameter — and every value at or below
/// it set to zero. The thief hopes the signature goes before the accuracy does.
struct PruneAttack: Attack {
    var options: [AttackOption] { [.levels(), .saveLevel] }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let levels = try context.options.levels()
        let saveLevel = try context.options.fraction("save-level")
        let parameters = context.model.trainableParameters()
        let original = parameters.map(\.array)
        let magnitudes = original.flatMap { $0.map { Double(abs($0)) } }.sorted()
        func restore() { for (p, values) in zip(parameters, original) { p.assign(Tensor(shape: p.shape, data: values)) } }

        let before = try context.measure()
        var steps: [AttackReport.Step] = []
        for (i, level) in levels.enumerated() {
            restore()
            if level > 0 {
                let threshold = Float(quantile(magnitudes, level))
                for p in parameters { p.assign(Tensor(shape: p.shape, data: p.array.map { abs($0) > threshold ? $0 : 0 })) }
            }
            let m = try context.measure()
            steps.append(.sweep(level: level, m))
            context.progress("prune \(i + 1)/\(levels.count): level \(level), accuracy \(percent(steps.last!.accuracy)), detection \(percent(m.detection))")
        }
        // The model a thief would keep: pruned at the save level.
        restore()
        let threshold = Float(quantile(magnitudes, saveLevel))
        if saveLevel > 0 { for p in parameters { p.assign(Tensor(shape: p.shape, data: p.array.map { abs($0) > threshold ? $0 : 0 })) } }
        let after = try context.measure()
        let report = AttackReport(attack: context.attack, levelMeaning: "pruned fraction of the weights", options: context.options.values, seed: context.seed, before: before, after: after, steps: steps)
        return AttackOutcome(report: report, attackedModel: context.model)
    }
}

/// numpy's default percentile: linear interpolation between the two nearest order statistics.
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let position = q * Double(sorted.count - 1)
    let lo = Int(position.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - Double(lo))
}

func percent(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }

extension AttackReport.Step {
    /// A sweep row from the owner's measurement: the attacker's accuracy is the deployed path's (the
    /// public one for V2/V3), and the owner's accuracy with the passport is kept beside it.
    static func sweep(level: Double, _ m: AttackReport.Measurement, extra: [String: Double] = [:]) -> Self {
        var columns = extra
        if m.publicAccuracy != nil { columns["passportAccuracy"] = m.accuracy }
        return .init(level: level, accuracy: m.publicAccuracy ?? m.accuracy, detection: m.detection, verdict: m.verdict, extra: columns)
    }
}
