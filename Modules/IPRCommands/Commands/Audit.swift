import ArgumentParser
import Foundation
import IPRAttacks
import IPRWorkflows

extension IPRTool {
    struct AuditCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "The robustness card of a protected model: a suite of attacks, each measured by the owner's verify.",
            discussion: """
            Runs, by default, \(Audit.defaultSuite.map { $0.attack + ($0.options["epochs"].map { " (\($0) epochs)" } ?? "") }.joined(separator: ", ")), \
            each into OUT/NAME/ as `iprtool attack` would, and writes OUT/audit.json and OUT/audit.md \
            (a table with the owner's detection and verdict after each attack, what the attacker gets, the plots \
            linked) after every attack. An attack that fails is reported as failed and the audit goes on. \
            Ctrl-C stops after the running attack and keeps every finished one; --resume skips the attacks whose \
            report is already in OUT. Without --attacker-data the training split of --data stands in for the \
            thief's own data.

            Example: iprtool audit --checkpoint alexnet-public.safetensors --passport runs/v2/passport.safetensors \\
              --data Fixtures/cifar10_subset --out runs/audit
            """)

        @OptionGroup var target: AttackTarget

        @Option(help: "Where audit.md, audit.json and the attacks' folders go.")
        var out: String

        @Option(help: ArgumentHelp("The attacks to run, comma-separated (default: \(Audit.defaultSuite.map(\.attack).joined(separator: ",")))."))
        var attacks: String?

        @Option(help: "Epochs of the attacks that train (default 3).")
        var epochs: Int?

        @Flag(help: "Skip the attacks whose OUT/NAME/report.json is already there.")
        var resume = false

        var suite: [Audit.Item] {
            Audit.suite(attacks?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }, epochs: epochs)
        }

        func validate() throws {
            try target.validateNames(suite.map(\.attack))
            if let epochs, epochs < 1 { throw ValidationError("--epochs must be positive, got \(epochs)") }
        }

        func run() throws {
            let report = try target.prepare().audit(suite, out: out, resume: resume, progress: target.progress)
            say(try String(contentsOfFile: out + "/audit.md", encoding: .utf8).trimmingCharacters(in: .newlines))
            if report.interrupted {
                say("interrupted: finished attacks are in \(out); rerun with --resume to continue")
                throw ExitCode(130)
            }
        }
    }
}
