import ArgumentParser
import Foundation
import IPRBackdoor
import IPRData
import IPRModels
import IPRPassport
import IPRTensor

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
            let (model, info, _) = try PassportCheckpoint.load(checkpoint)
            let result = try Evaluation.run(model, on: try data.testBatches(for: info, checkpoint: checkpoint))
            if json {
                let object: [String: Any] = ["accuracy": result.accuracy, "loss": result.loss, "samples": result.samples,
                                             "checkpoint": checkpoint, "arch": info.arch, "dataset": data.dataset]
                let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                say(String(decoding: bytes, as: UTF8.self))
            } else {
                say(String(format: "%@ on %@ (%d test images): accuracy %.2f%%, loss %.4f", checkpoint, data.dataset,
                             result.samples, 100 * result.accuracy, result.loss))
            }
        }
    }
}
