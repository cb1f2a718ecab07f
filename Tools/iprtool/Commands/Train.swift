import ArgumentParser
import Foundation
import IPRData
import IPRModels
import IPRTensor

extension IPRTool {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a model and write last/best checkpoints and a history CSV.",
            discussion: """
            Writes OUT/last.safetensors (every epoch), OUT/best.safetensors (best test accuracy), \
            OUT/optimizer.safetensors (momentum, for --resume) and OUT/history.csv (one row per epoch). \
            Ctrl-C stops at the next batch and keeps the last finished epoch; --resume continues from it.

            Example: iprtool train --model alexnet --dataset cifar10 --data Fixtures/cifar10_subset --epochs 20 --out runs/alexnet
            """)

        @Option(help: "Architecture (see `iprtool models`).")
        var model = "alexnet"

        @OptionGroup var data: DataArguments

        @Option(help: "Epochs to train.")
        var epochs = 200

        @Option(help: "Initial learning rate.")
        var lr: Float = 0.01

        @Option(help: "SGD momentum.")
        var momentum: Float = 0.9

        @Option(help: "L2 weight decay.")
        var weightDecay: Float = 1e-4

        @Option(help: "Learning-rate schedule in the reference's lr_configs JSON format ({\"epochs\", \"type\": \"steps\", \"steps\", \"gamma\"}); default: ×0.1 at 50 % and 75 % of the epochs.")
        var lrConfig: String?

        @Option(help: "Normalisation in the conv blocks: bn, gn, in or none.")
        var norm: NormKind = .bn

        @Option(help: "Input image size (32 for CIFAR-style data, 224 for ImageNet-style).")
        var inputSize = 32

        @Option(help: "Seed for initialisation, shuffling and augmentation.")
        var seed: UInt64 = 0

        @Option(help: "Output folder.")
        var out: String

        @Flag(help: "Continue from OUT/last.safetensors.")
        var resume = false

        @Flag(help: "No progress output.")
        var quiet = false

        func validate() throws {
            try data.validateNames()
            guard Models.registry.names.contains(model) else {
                throw ValidationError("unknown model '\(model)'; known: \(Models.registry.names.joined(separator: ", "))")
            }
            guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
            guard lr > 0 else { throw ValidationError("--lr must be positive, got \(lr)") }
        }

        func run() throws {
            let start = Date()
            let progress = ProgressReporter()
            progress.quiet = quiet
            let trainSet = try data.open(.train)
            let testSet: (any Dataset)?
            do { testSet = try data.open(.test) } catch let error as IPRDataError where error.code == .missingFile {
                progress.line("note: no test split (\(error.message)); training without evaluation")
                testSet = nil
            }
            let classes = trainSet.classNames.count
            let config = ModelConfig(classes: classes, inputSize: inputSize, norm: norm)
            let network = try Models.make(model, config: config, seed: seed)
            let normalize = Normalize.imageNet
            let (trainTransform, testTransform) = transforms(dataset: data.dataset, inputSize: inputSize, normalize: normalize)
            let trainLoader = DataLoader(dataset: trainSet, batchSize: data.batchSize, shuffle: true, seed: seed,
                                         transform: trainTransform, workers: data.workers)
            let testData = testSet.map {
                LoaderTrainingData(loader: DataLoader(dataset: $0, batchSize: data.batchSize, transform: testTransform,
                                                      workers: data.workers), samples: $0.count)
            }
            var options = TrainingOptions(epochs: epochs, outputDirectory: out)
            options.learningRate = lr
            options.momentum = momentum
            options.weightDecay = weightDecay
            options.resume = resume
            options.schedule = try lrConfig.map { try LRSchedule.load(path: $0) }
                ?? LRSchedule(epochs: epochs, steps: [epochs / 2, epochs * 3 / 4].filter { $0 > 0 }, gamma: 0.1)
            let info = CheckpointInfo(arch: model, config: config, dataset: data.dataset, mean: normalize.mean, std: normalize.std)
            progress.line("training \(model) (\(network.trainableParameters().reduce(0) { $0 + $1.count }) parameters) on \(data.dataset): \(trainSet.count) train / \(testSet?.count ?? 0) test images, \(classes) classes, \(epochs) epochs → \(out)")
            let trainer = Trainer(model: network, info: info, options: options, progress: progress)
            let outcome = try trainer.fit(train: LoaderTrainingData(loader: trainLoader, samples: trainSet.count), test: testData)
            if case .interrupted = outcome { throw ExitCode(130) }
            progress.line("done in \(elapsed(since: start)); best test accuracy \(String(format: "%.1f%%", 100 * trainer.info.bestAccuracy)); checkpoints in \(out)")
        }
    }
}

extension NormKind: ExpressibleByArgument {}
