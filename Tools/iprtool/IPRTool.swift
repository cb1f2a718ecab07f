import ArgumentParser
import Foundation
import IPRTensor

/// `iprtool`: train, evaluate and (later) protect and verify models. Parsing and wiring only — the
/// work is in the libraries.
@main
struct IPRTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iprtool",
        abstract: "Train deep networks and prove their ownership with DeepIPR passports.",
        discussion: """
        Start with `iprtool demo`: it trains a small AlexNet on the CIFAR-10 images in Fixtures/ and \
        evaluates it. `iprtool models` and `iprtool datasets` list what can be named in --model and --dataset.

        Seeded commands are reproducible: the same command and seed give the same bytes on a CPU, \
        however busy it is. IPR_CONV_ALGORITHM=measured times two convolution algorithms per layer \
        and keeps the faster (sometimes faster, not reproducible under load); IPR_CONV_CHOICES=FILE \
        then keeps its choices in FILE so that a run can be repeated.
        """,
        version: "0.1.0",
        subcommands: [Train.self, Evaluate.self, Verify.self, Dispute.self, Release.self, Serve.self, AttackCommand.self, AttacksCommand.self, AuditCommand.self, Demo.self,
                      ModelsCommand.self, DatasetsCommand.self])

    static func main() {
        ProcessTuning.apply()   // fast OpenBLAS kernel, quiet idle threads (re-executes once)
        if let problem = OneDNNConvolution.Algorithm.environmentProblem {
            exit(withError: ValidationError(problem))
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
