import ArgumentParser
import Foundation
import IPRData
import IPRModels
import IPRPassport

extension IPRTool {
    struct Dispute: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Settle competing ownership claims on one suspect model: every claimed passport judged by the same rule.",
            discussion: """
            Each --claim is a passport file (the owner's from `iprtool train`, or a forger's, e.g. an attack's \
            forged-passport.safetensors). Every claim is verified as `iprtool verify --passport` does, on the \
            same images, with the same random passports and thresholds: the signature is read where the \
            scheme defines it, from the suspect's own convolution applied to the claimed passport, and \
            must beat random passports through the same weights while keeping the model's accuracy. \
            The decision is the one claim that holds; none when no claim holds, or when more than one \
            does (then the evidence does not settle it, and the table shows why). Exit status 0 when a \
            claim is decided, 1 otherwise.

            Example: iprtool dispute --checkpoint suspect.safetensors --claim runs/v2/passport.safetensors \\
              --claim attack/fake3/forged-passport.safetensors --data Fixtures/cifar10_subset
            """)

        @Option(help: "The suspect model (any checkpoint with passport layers: trained, released, attacked).")
        var checkpoint: String

        @Option(help: "A claimed passport file; give one per claimant (at least two).")
        var claim: [String] = []

        @Option(help: "A copy of the model the suspect is aligned to before a claim is read (as `verify --reference`): one for every claim, or one per claim in the order of --claim (each claimant's own copy).")
        var reference: [String] = []

        @OptionGroup var data: DataArguments
        @OptionGroup var rule: VerificationRule

        @Flag(help: "Print {checkpoint, claims: [{claim, verdict, reasons, evidence}], decision} as JSON on standard output.")
        var json = false

        func validate() throws {
            guard claim.count >= 2 else { throw ValidationError("a dispute needs at least two --claim files, got \(claim.count)") }
            guard reference.count <= 1 || reference.count == claim.count else {
                throw ValidationError("give one --reference for every claim or one per claim (\(claim.count)), got \(reference.count)")
            }
            try data.validateNames()
        }

        struct Judged {
            let path: String
            let report: VerificationReport
        }

        func run() throws {
            // A fresh copy for every claim, read as that claim needs it (aligned to its reference, a plain
            // copy into its passport layers): no claim sees what another installed.
            let judged = try claim.enumerated().map { k, path in
                let claimed = try Passport.read(path)
                let suspect = try PassportCheckpoint.loadSuspect(checkpoint, claimedBy: claimed,
                                                                 reference: reference.isEmpty ? nil : reference[reference.count == 1 ? 0 : k])
                return Judged(path: path, report: try rule.verify(suspect.model, passport: claimed, data: try data.testBatches(for: suspect.info, checkpoint: checkpoint),
                                                                  unreadable: suspect.unreadable, checks: suspect.checks))
            }
            let holding = judged.indices.filter { judged[$0].report.verdict == "verified" }
            let decision = holding.count == 1 ? holding[0] : nil
            let because = holding.isEmpty ? "no claim holds"
                : holding.count == 1 ? "only claim \(holding[0]) (\(judged[holding[0]].path)) holds"
                : "claims \(holding.map(String.init).joined(separator: ", ")) all hold: the evidence does not settle it"
            if json {
                let claims = try judged.map { j -> [String: Any] in
                    ["claim": j.path, "verdict": j.report.verdict, "reasons": j.report.reasons, "evidence": try jsonObject(j.report)]
                }
                let object: [String: Any] = ["checkpoint": checkpoint, "claims": claims, "decision": decision ?? NSNull(), "reason": because]
                say(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                say("dispute over \(checkpoint) (\(judged[0].report.scheme), \(judged[0].report.samples) test images, model's own accuracy "
                    + String(format: "%.1f%%", 100 * judged[0].report.referenceAccuracy) + "), one rule for every claim:")
                say("  claim  verdict       signature  random passports: max, z   accuracy with it  file")
                for (i, j) in judged.enumerated() {
                    let s = j.report.signature
                    let verdict = j.report.verdict.padding(toLength: 12, withPad: " ", startingAt: 0)
                    say(String(format: "  %-5d  ", i) + verdict + String(format: "  %8.1f%%  %8.3f, %6.1f          %6.1f%%       ", 100 * s.detection,
                                                                         s.nullMax, s.zScore, 100 * j.report.accuracy) + j.path)
                    for r in j.report.reasons where r.hasPrefix("FAIL") { say("         " + r) }
                }
                say("decision: " + (decision.map { "claim \($0) (\(judged[$0].path))" } ?? "none") + " — \(because)")
            }
            if decision == nil { throw ExitCode(1) }
        }
    }
}
