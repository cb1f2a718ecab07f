import ArgumentParser
import Foundation
import IPRData
import IPRModels
import IPRTensor

extension IPRTool {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a small AlexNet on the CIFAR-10 images in Fixtures/ and evaluate it (under a minute on 2 cores).",
            discussion: """
            The README's main job. It runs what `iprtool train` and `iprtool evaluate` do, on the 700 training \
            and 200 test images of Fixtures/cifar10_subset, and prints each step. Accuracy on so few images is \
            far below full-CIFAR numbers but well above chance (10 %).
            """)

        @Option(help: "Epochs to train.")
        var epochs = 15

        @Option(help: "Seed for initialisation, shuffling and augmentation.")
        var seed: UInt64 = 1

        @Option(help: "Output folder.")
        var out = "runs/demo"

        @Option(help: "CIFAR-10 folder (default: Fixtures/cifar10_subset of this checkout).")
        var data: String?

        func run() throws {
            guard let root = data ?? Self.findFixtures() else {
                throw ValidationError("cannot find Fixtures/cifar10_subset from \(FileManager.default.currentDirectoryPath); run from the repository root or pass --data")
            }
            let start = Date()
            say("swift-deepipr demo: AlexNet on real CIFAR-10 images")
            say("  data: \(root)")
            say("  BLAS: OpenBLAS \(BLASInfo.coreName) kernel, \(BLASInfo.threads) threads; convolutions: \(Convolution.kernels.name)")
            let train = try Train.parse(["--model", "alexnet", "--dataset", "cifar10", "--data", root, "--epochs", String(epochs),
                                         "--batch-size", "64", "--lr", "0.01", "--seed", String(seed), "--out", out])
            say("\n[1/2] iprtool train --model alexnet --dataset cifar10 --data \(root) --epochs \(epochs) --seed \(seed) --out \(out)")
            try train.run()
            say("\n[2/2] iprtool evaluate --checkpoint \(out)/best.safetensors --dataset cifar10 --data \(root)")
            let evaluate = try Evaluate.parse(["--checkpoint", out + "/best.safetensors", "--dataset", "cifar10", "--data", root])
            try evaluate.run()
            say("\nDemo finished in \(elapsed(since: start)). Chance is 10 %. Files: \(out)/{best,last}.safetensors, \(out)/history.csv")
        }

        /// `Fixtures/cifar10_subset` in the current directory or above the executable (`.build/<config>/iprtool`).
        static func findFixtures() -> String? {
            let fm = FileManager.default
            var candidates = [fm.currentDirectoryPath]
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<5 { candidates.append(dir.path); dir.deleteLastPathComponent() }
            return candidates.map { $0 + "/Fixtures/cifar10_subset" }.first { fm.fileExists(atPath: $0) }
        }
    }
}
