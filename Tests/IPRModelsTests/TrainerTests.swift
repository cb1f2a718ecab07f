import Foundation
import Testing
import IPRTensor
@testable import IPRModels

/// A tiny conv net registered for trainer tests (a user architecture, plugged in by name).
final class TinyNet: Layer {
    let block: any Layer, fc: Linear
    init(_ c: ModelConfig, _ blocks: any ConvBlockFactory, _ rng: inout RNG) throws {
        block = try blocks.makeBlock(ConvBlockSpec(path: "block", inChannels: 3, outChannels: 8, kernel: 3, padding: 1, norm: c.norm,
                                                   inputHeight: c.inputSize, inputWidth: c.inputSize), rng: &rng)
        fc = Linear(8, c.classes, rng: &rng)
    }
    func visit(_ v: inout StateVisitor) { v.child("block", block); v.child("fc", fc) }
    func forward(_ x: Tensor, _ ctx: ForwardContext) -> Tensor { fc(adaptiveAvgPool2d(block(x, ctx), outputSize: (1, 1)).flatten(), ctx) }
}

/// A linear classifier on the flattened pixels: smooth (no ReLU or max-pool whose branch a rounding
/// difference could flip), so two ways of summing one gradient differ by rounding alone.
final class SoftmaxRegression: Layer {
    let fc: Linear
    init(_ c: ModelConfig, _ rng: inout RNG) { fc = Linear(3 * c.inputSize * c.inputSize, c.classes, rng: &rng) }
    func visit(_ v: inout StateVisitor) { v.child("fc", fc) }
    func forward(_ x: Tensor, _ ctx: ForwardContext) -> Tensor { fc(x.flatten(), ctx) }
}

/// SoftmaxRegression whose forward path 1 negates the logits: a second path that predicts the other class.
final class TwoPathRegression: Layer {
    let inner: SoftmaxRegression
    init(_ c: ModelConfig, _ rng: inout RNG) { inner = SoftmaxRegression(c, &rng) }
    func visit(_ v: inout StateVisitor) { v.child("inner", inner) }
    func forward(_ x: Tensor, _ ctx: ForwardContext) -> Tensor { ctx.path == 1 ? -inner(x, ctx) : inner(x, ctx) }
}

/// Two classes told apart by the sign of the mean of the red channel.
func separableData(count: Int, seed: UInt64) -> InMemoryBatches {
    var rng = RNG(seed: seed)
    let images = Tensor.normal([count, 3, 8, 8], rng: &rng)
    let labels = (0..<count).map { $0 % 2 }
    for (i, l) in labels.enumerated() { for k in 0..<64 { images.pointer[i * 192 + k] += l == 1 ? 1.5 : -1.5 } }
    return InMemoryBatches(images: images, labels: labels, batchSize: 16, shuffleSeed: seed)
}

/// Serialized: the trainer installs a process-wide Ctrl-C handler.
@Suite(.serialized) struct TrainerTests {
    init() {
        Models.registry.register("tinynet", description: "test-only conv net") { c, b, rng in try TinyNet(c, b, &rng) }
        Models.registry.register("softmaxregression", description: "test-only linear classifier") { c, _, rng in SoftmaxRegression(c, &rng) }
    }

    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ipr-trainer-\(UUID())").path
    }

    func makeTrainer(_ dir: String, epochs: Int, resume: Bool = false, objective: any TrainingObjective = CrossEntropyObjective()) throws -> Trainer {
        let config = ModelConfig(classes: 2, inputSize: 8)
        let model = try Models.make("tinynet", config: config, seed: 1)
        var options = TrainingOptions(epochs: epochs, outputDirectory: dir)
        options.learningRate = 0.05
        options.resume = resume
        options.schedule = LRSchedule(epochs: epochs, steps: [3], gamma: 0.1)
        let info = CheckpointInfo(arch: "tinynet", config: config, dataset: "synthetic", mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        let quiet = ProgressReporter(output: { _ in })
        return Trainer(model: model, info: info, options: options, objective: objective, progress: quiet)
    }

    @Test func learnsWritesCheckpointsAndHistory() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trainer = try makeTrainer(dir, epochs: 4)
        let outcome = try trainer.fit(train: separableData(count: 64, seed: 2), test: separableData(count: 32, seed: 3))
        #expect(outcome == .completed)
        #expect(trainer.history.count == 4)
        #expect(trainer.history.last!.testAccuracy! > 0.9)
        #expect(trainer.history[3].learningRate < trainer.history[2].learningRate)   // schedule step at epoch 3
        let csv = try String(contentsOfFile: dir + "/history.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds,images_per_s")
        #expect(csv.count == 5)

        let (model, info) = try Checkpoint.load(dir + "/last.safetensors")
        #expect(info.arch == "tinynet" && info.epoch == 3 && info.mean == [0.5, 0.5, 0.5] && info.dataset == "synthetic")
        let eval = try Evaluation.run(model, on: separableData(count: 32, seed: 3))
        #expect(Swift.abs(eval.accuracy - trainer.history.last!.testAccuracy!) < 1e-9)
        let best = try Checkpoint.load(dir + "/best.safetensors").info
        #expect(best.bestAccuracy == trainer.history.compactMap(\.testAccuracy).max())
    }

    /// Micro-batches sum the slices' gradients weighted by their share: one step of 16 images in 2 or
    /// 3 slices (5 + 5 + 6) is the whole batch's step. The same 16 products are summed in another
    /// grouping, so each gradient element differs by a few float roundings of the sum (16 terms:
    /// ≤ 16 · 2⁻²⁴ ≈ 1e-6 of the sum of their magnitudes); 1e-4 of the step leaves a hundredfold
    /// margin, while summing instead of averaging (a step 2–3× too long) or dropping a slice (a
    /// third to a half of it) is off by the step's own size.
    @Test func monitorsAreEvaluatedAlongTheirOwnPath() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = ModelConfig(classes: 2, inputSize: 8)
        var rng = RNG(seed: 1)
        var options = TrainingOptions(epochs: 2, outputDirectory: dir)
        options.learningRate = 0.05
        let info = CheckpointInfo(arch: "twopath", config: config, dataset: "synthetic", mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        let trainer = Trainer(model: TwoPathRegression(config, &rng), info: info, options: options, progress: ProgressReporter(output: { _ in }))
        let test = separableData(count: 32, seed: 3)
        try trainer.fit(train: separableData(count: 64, seed: 2), test: test,
                        monitors: [Monitor(name: "other", data: test, context: ForwardContext(training: false, path: 1)),
                                   Monitor(name: "same", data: test)])
        for record in trainer.history {
            let accuracy = try #require(record.testAccuracy)
            #expect(accuracy > 0.9)
            #expect(record.metrics["same_acc"] == accuracy)
            #expect(abs(record.metrics["other_acc"]! - (1 - accuracy)) < 1e-12)
        }
        let header = try String(contentsOfFile: dir + "/history.csv", encoding: .utf8).split(separator: "\n")[0]
        #expect(header.hasSuffix(",images_per_s,other_acc,same_acc"))
    }

    @Test(arguments: [2, 3]) func microBatchesTakeTheWholeBatchStep(_ slices: Int) throws {
        func step(_ microBatches: Int) throws -> (before: [Float], after: [Float]) {
            let dir = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let config = ModelConfig(classes: 2, inputSize: 8)
            let model = try Models.make("softmaxregression", config: config, seed: 4)
            var options = TrainingOptions(epochs: 1, outputDirectory: dir)
            options.learningRate = 0.1
            options.microBatches = microBatches
            let info = CheckpointInfo(arch: "softmaxregression", config: config, dataset: "synthetic", mean: [0, 0, 0], std: [1, 1, 1])
            let before = try model.stateDict()["fc.weight"]!.floats()
            let trainer = Trainer(model: model, info: info, options: options, progress: ProgressReporter(output: { _ in }))
            let data = separableData(count: 16, seed: 5)
            try trainer.fit(train: InMemoryBatches(images: data.images, labels: data.labels, batchSize: 16), test: nil)
            return (before, try model.stateDict()["fc.weight"]!.floats())
        }
        let whole = try step(1), sliced = try step(slices)
        #expect(whole.before == sliced.before)
        let update = zip(whole.after, whole.before).map { abs($0 - $1) }.max()!
        #expect(update > 1e-3, "the step moved the weights")
        let worst = zip(whole.after, sliced.after).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-4 * update, "micro-batches: \(worst) against a step of \(update)")
    }

    @Test func resumeContinuesWhereItStopped() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = separableData(count: 64, seed: 2), test = separableData(count: 32, seed: 3)
        try makeTrainer(dir, epochs: 2).fit(train: train, test: test)
        let resumed = try makeTrainer(dir, epochs: 4, resume: true)
        try resumed.fit(train: train, test: test)
        #expect(resumed.history.map(\.epoch) == [0, 1, 2, 3])
        // Same result as an uninterrupted run: momentum and weights were restored exactly.
        let dir2 = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        let straight = try makeTrainer(dir2, epochs: 4)
        try straight.fit(train: train, test: test)
        #expect(straight.history.last!.trainLoss == resumed.history.last!.trainLoss)
        #expect(throws: IPRTensorError.self) { try makeTrainer(temporaryDirectory(), epochs: 1, resume: true).fit(train: train, test: nil) }
    }

    @Test func ctrlCStopsAtABatchBoundaryAndKeepsTheLastEpoch() throws {
        struct InterruptingObjective: TrainingObjective {
            let after: Int
            let counter = Counter()
            final class Counter: @unchecked Sendable { var n = 0 }
            func step(model: any Layer, images: Tensor, labels: [Int]) -> (loss: Tensor, logits: Tensor, metrics: [String: Float]) {
                counter.n += 1
                if counter.n == after { Interrupt.simulate() }
                let logits = model(images, .train)
                return (crossEntropy(logits, labels: labels), logits, ["batches": 1])
            }
        }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trainer = try makeTrainer(dir, epochs: 5, objective: InterruptingObjective(after: 6))   // 4 batches per epoch
        let outcome = try trainer.fit(train: separableData(count: 64, seed: 2), test: nil)
        #expect(outcome == .interrupted(atEpoch: 1))
        #expect(try Checkpoint.read(dir + "/last.safetensors").info.epoch == 0)
        let csv = try String(contentsOfFile: dir + "/history.csv", encoding: .utf8)
        #expect(csv.hasPrefix("epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds,images_per_s,batches\n"))
    }

    @Test func checkpointMetadataErrorsNameTheFile() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/plain.safetensors"
        try SafeTensors.write(SafeTensorsFile(), to: path)
        let e = try #require(throws: IPRTensorError.self) { try Checkpoint.load(path) }
        #expect(e.message.contains(path) && e.message.contains("'arch'"))
    }
}
