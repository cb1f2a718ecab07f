import ArgumentParser
import Foundation
import IPRWorkflows

extension IPRTool {
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure a checkpoint's loss and accuracy on a dataset's test split.",
            discussion: """
            The checkpoint records its architecture and input normalisation, so only the data is needed.
            Example: iprtool evaluate --checkpoint runs/alexnet/best.safetensors --dataset cifar10 --data Fixtures/cifar10_subset --json
            """)

        @Option(help: "Checkpoint (.safetensors) written by `iprtool train` or the reference converter.")
        var checkpoint: String

        @OptionGroup var data: DataArguments

        @Flag(help: "Print one JSON object ({accuracy, loss, samples, …}) on standard output.")
        var json = false

        func validate() throws { try data.validateNames() }

        func run() throws {
            let report = try ModelEvaluation.run(checkpoint, data: data.request)
            if let note = report.note { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            if json { return say(try ReportJSON.encode(report)) }
            say(String(format: "%@ on %@ (%d test images): accuracy %.2f%%, loss %.4f", checkpoint, report.dataset,
                       report.samples, 100 * report.accuracy, report.loss))
        }
    }
}
