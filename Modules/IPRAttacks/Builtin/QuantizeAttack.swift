import IPRModels
import IPRTensor

/// Weight quantisation, as a thief compresses a model to ship it: every weight matrix and filter
/// bank rounded per output channel — to half precision (16 bits), or symmetric integers of 8 or 4
/// bits (scale = the channel's largest magnitude / (2^(bits−1) − 1)) — then read back as floats.
struct QuantizeAttack: Attack {
    var options: [AttackOption] {
        [AttackOption("bits", default: "16,8,4", "comma-separated widths swept: 16 (half precision), 8 or 4 (integers per channel)"),
         AttackOption("save-bits", default: "8", "the width whose model is written (one of bits)")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let widths = context.options.string("bits").split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !widths.isEmpty, widths.allSatisfy({ $0.map { [16, 8, 4].contains($0) } ?? false }) else {
            throw IPRAttacksError(.invalidOption, "attack 'quantize': bits '\(context.options.string("bits"))' must list widths of 16, 8 or 4")
        }
        let save = try context.options.int("save-bits", atLeast: 4)
        guard widths.contains(save) else { throw IPRAttacksError(.invalidOption, "attack 'quantize': save-bits \(save) is not one of bits") }
        let weights = context.model.trainableParameters().filter { $0.rank >= 2 }
        let original = weights.map(\.array)
        func quantize(_ bits: Int) {
            for (w, values) in zip(weights, original) { w.assign(Tensor(shape: w.shape, data: Self.rounded(values, rows: w.shape[0], bits: bits))) }
        }
        let before = try context.measure()
        var steps: [AttackReport.Step] = []
        for bits in widths.map({ $0! }) {
            quantize(bits)
            let m = try context.measure()
            steps.append(.sweep(level: Double(bits), m))
            context.progress("quantize to \(bits) bits: accuracy \(percent(steps.last!.accuracy)), detection \(percent(m.detection)), \(m.verdict)")
        }
        quantize(save)
        let after = try context.measure()
        let report = AttackReport(attack: context.attack, levelMeaning: "bits per weight", options: context.options.values, seed: context.seed,
                                  before: before, after: after, steps: steps)
        return AttackOutcome(report: report, attackedModel: context.model)
    }

    /// `values` (rows of a weight) rounded to `bits`.
    static func rounded(_ values: [Float], rows: Int, bits: Int) -> [Float] {
        if bits == 16 { return values.map { Float(Float16($0)) } }
        let per = values.count / max(rows, 1), top = Float((1 << (bits - 1)) - 1)
        var out = values
        for r in 0..<rows {
            let row = values[(r * per)..<((r + 1) * per)]
            let scale = (row.map(abs).max() ?? 0) / top
            guard scale > 0 else { continue }
            for k in (r * per)..<((r + 1) * per) { out[k] = (values[k] / scale).rounded().clamped(-top, top) * scale }
        }
        return out
    }
}

private extension Float {
    func clamped(_ low: Float, _ high: Float) -> Float { Swift.min(Swift.max(self, low), high) }
}
