import ArgumentParser
import Foundation
import IPRWorkflows

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

        func run() throws {
            let dispute = try OwnershipDispute.settle(suspect: checkpoint, claims: claim, references: reference, data: data.request,
                                                      thresholds: rule.thresholds, nullSeed: rule.seed)
            if json {
                say(try ReportJSON.encode(dispute))
            } else {
                let first = dispute.claims[0].evidence
                say("dispute over \(checkpoint) (\(first.scheme), \(first.samples) test images, model's own accuracy "
                    + String(format: "%.1f%%", 100 * first.referenceAccuracy) + "), one rule for every claim:")
                say("  claim  verdict       signature  random passports: max, z   accuracy with it  file")
                for (i, c) in dispute.claims.enumerated() {
                    let s = c.evidence.signature
                    let verdict = c.verdict.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                    say(String(format: "  %-5d  ", i) + verdict + String(format: "  %8.1f%%  %8.3f, %6.1f          %6.1f%%       ", 100 * s.detection,
                                                                         s.nullMax, s.zScore, 100 * c.evidence.accuracy) + c.claim)
                    for r in c.reasons where r.hasPrefix("FAIL") { say("         " + r) }
                }
                say("decision: " + (dispute.decision.map { "claim \($0) (\(dispute.claims[$0].claim))" } ?? "none") + " — \(dispute.reason)")
            }
            if dispute.decision == nil { throw ExitCode(1) }
        }
    }
}
