import ArgumentParser
import Foundation
import IPRTensor

/// `iprtool`: train, protect, release, attack and verify models. Parsing and printing only — each
/// command calls one workflow (IPRWorkflows). A package of your own ships its own `iprtool` with its
/// attacks and models in it: register them, then call `IPRTool.main()` (Examples/CustomAttack).
public struct IPRTool: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "iprtool",
        abstract: "Train deep networks and prove their ownership with DeepIPR passports.",
        discussion: """
        Start with `iprtool demo`: it protects a small AlexNet with a passport on the CIFAR-10 images in \
        Fixtures/, releases it, lets a thief permute the released file, verifies the stolen copy and refuses \
        a forger. `iprtool models`, `iprtool datasets` and `iprtool attacks` list what --model, --dataset \
        and `attack` accept.

        Seeded commands are reproducible: the same command and seed give the same bytes on a CPU, \
        however busy it is. IPR_CONV_ALGORITHM=measured times two convolution algorithms per layer \
        and keeps the faster (sometimes faster, not reproducible under load); IPR_CONV_CHOICES=FILE \
        then keeps its choices in FILE so that a run can be repeated.
        """,
        version: "0.1.0",
        subcommands: [Train.self, Evaluate.self, Verify.self, Dispute.self, Release.self, Serve.self, AttackCommand.self, AttacksCommand.self, AuditCommand.self, Demo.self,
                      ModelsCommand.self, DatasetsCommand.self])

    public init() {}

    /// Parses the command line and runs the command; exits with its status.
    public static func main() {
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
