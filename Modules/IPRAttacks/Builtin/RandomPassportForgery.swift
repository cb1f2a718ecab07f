import IPRModels
import IPRPassport
import IPRTensor

/// Fake passport 1 (`passport_attack_1.py`): a forger without the owner's passport installs random
/// passports (uniform keys, as the owner's random keys are) and claims the signature they produce —
/// the signs of γ, which such a passport matches perfectly by construction. The claim must still fail:
/// the network does not work with a wrong passport (fidelity), which `verify` checks.
struct RandomPassportForgery: Attack {
    var options: [AttackOption] { [AttackOption("samples", default: "5", "random passports the forger tries")] }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let samples = try context.options.int("samples", atLeast: 1)
        let before = try context.measure()
        var claims: [(passport: Passport, report: VerificationReport, bdr: Double)] = []
        for k in 0..<samples {
            var forged = context.ownerPassport.randomized(seed: context.seed &+ 0xFA4E &+ UInt64(k))
            try forged.install(into: context.model)
            let modules = Dictionary(context.model.namedModules().map { ($0.path, $0.module) }, uniquingKeysWith: { a, _ in a })
            var differing = 0, bits = 0
            for i in forged.layers.indices {
                guard let layer = modules[forged.layers[i].path] as? any PassportLayer else { continue }
                let claimed = signs(noGrad { layer.scale() }.array)
                differing += zip(claimed, context.ownerPassport.layers[i].bits).filter { $0 != $1 }.count
                bits += claimed.count
                forged.layers[i].bits = claimed
                forged.layers[i].text = nil
            }
            try context.ownerPassport.install(into: context.model)   // the model as stolen; verify installs the claim itself
            forged.metadata = ["forged_by": "fake1", "forgery": String(k)]
            let report = try Verifier.verify(model: context.model, passport: forged, data: context.evaluation,
                                             thresholds: context.thresholds, seed: context.seed)
            claims.append((forged, report, Double(differing) / Double(max(bits, 1))))
            context.progress("fake1 \(k + 1)/\(samples): accuracy with the forged passport \(percent(report.accuracy)), \(report.verdict)")
        }
        let best = claims.max { $0.report.accuracy < $1.report.accuracy }!
        let mean = { (f: ((passport: Passport, report: VerificationReport, bdr: Double)) -> Double) in
            claims.map(f).reduce(0, +) / Double(claims.count)
        }
        let forgery = AttackReport.Forgery(accuracy: mean { $0.report.accuracy }, detection: mean { $0.report.signature.detection },
                                           bdr: mean { $0.bdr },
                                           verdict: Verdict(passed: claims.contains { $0.report.verdict == .verified }))
        let after = try context.measure()
        let report = AttackReport(attack: context.attack, options: context.options.values, seed: context.seed, before: before, after: after,
                                  forged: forgery)
        return AttackOutcome(report: report, forgedPassport: best.passport)
    }
}
