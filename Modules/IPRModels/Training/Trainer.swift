import Foundation
import IPRTensor

/// Settings of a training run (defaults: the reference's CIFAR recipe, scaled to what you pass).
public struct TrainingOptions: Sendable {
    public var epochs: Int
    public var learningRate: Float = 0.01
    public var momentum: Float = 0.9
    public var weightDecay: Float = 1e-4
    /// Multi-step schedule (reference `lr_configs` format); nil keeps the rate constant.
    public var schedule: LRSchedule?
    /// Clip the global gradient norm to this value when set.
    public var maxGradNorm: Float?
    /// Where `last.safetensors`, `best.safetensors`, `optimizer.safetensors` and `history.csv` go.
    public var outputDirectory: String
    /// Continue from `outputDirectory/last.safetensors` and its optimiser state.
    public var resume = false
    /// Compute each batch's gradient in this many slices, one after another, and sum them weighted by
    /// their share (gradient accumulation): less memory per step, and the very arithmetic of as many
    /// data-parallel ranks, so one process reproduces a 2-rank run bit for bit. Batch norm normalises
    /// each slice alone (its running statistics see the slices in turn). A last batch with fewer
    /// images than slices is skipped.
    public var microBatches = 1

    public init(epochs: Int, outputDirectory: String) {
        self.epochs = epochs
        self.outputDirectory = outputDirectory
    }
}

/// One row of `history.csv`.
public struct EpochRecord: Sendable, Equatable {
    public var epoch: Int
    public var learningRate: Float
    public var trainLoss: Double, trainAccuracy: Double
    public var testLoss: Double?, testAccuracy: Double?
    public var seconds: Double
    public var imagesPerSecond: Double
    public var metrics: [String: Double]
}

/// How a run ended.
public enum TrainingOutcome: Sendable, Equatable {
    case completed
    /// Ctrl-C: the last checkpoint holds the last completed epoch; `--resume` continues.
    case interrupted(atEpoch: Int)
}

/// Trains a model with SGD, evaluates every epoch, writes checkpoints (atomically) and history.
public final class Trainer {
    public let model: any Layer
    public let options: TrainingOptions
    public var info: CheckpointInfo
    public let objective: any TrainingObjective
    public let progress: ProgressReporter
    public private(set) var history: [EpochRecord] = []
    private let optimizer: SGD
    /// Data-parallel training over a group of processes (nil: this process alone).
    private let parallel: DataParallel?
    /// Rank 0 alone writes checkpoints, history and progress.
    private var writes: Bool { parallel.map { $0.group.rank == 0 } ?? true }

    /// - Parameter group: train data-parallel in this group (`mpirun`); every rank runs the same
    ///   trainer on the same data, and only rank 0 writes.
    public init(model: any Layer, info: CheckpointInfo, options: TrainingOptions,
                objective: any TrainingObjective = CrossEntropyObjective(), progress: ProgressReporter = ProgressReporter(),
                group: (any TrainingGroup)? = nil) {
        self.model = model
        self.info = info
        self.options = options
        self.objective = objective
        self.progress = progress
        parallel = group.flatMap { $0.size > 1 ? DataParallel(group: $0) : nil }
        if let group, group.rank != 0 { progress.quiet = true }
        optimizer = SGD(parameters: model.trainableParameters(), learningRate: options.learningRate,
                        momentum: options.momentum, weightDecay: options.weightDecay)
    }

    var lastPath: String { options.outputDirectory + "/last.safetensors" }
    var bestPath: String { options.outputDirectory + "/best.safetensors" }
    var optimizerPath: String { options.outputDirectory + "/optimizer.safetensors" }
    var historyPath: String { options.outputDirectory + "/history.csv" }

    /// Runs the remaining epochs. Returns `.interrupted` when Ctrl-C stopped it (after saving).
    /// Each monitor is evaluated after every epoch like the test set, its accuracy logged as the
    /// metric `NAME_acc` (e.g. `trigger_acc`, a watermark's trigger-set accuracy).
    @discardableResult
    public func fit(train: any BatchSource, test: (any BatchSource)?, monitors: [Monitor] = []) throws -> TrainingOutcome {
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        var start = 0
        if options.resume { start = try restore() }
        try parallel?.broadcastState(of: model)
        Interrupt.install()
        defer { Interrupt.reset() }
        for epoch in start..<options.epochs {
            let lr = options.schedule?.learningRate(base: options.learningRate, epoch: epoch) ?? options.learningRate
            optimizer.learningRate = lr
            guard var record = try trainEpoch(epoch, lr: lr, train: train, test: test) else {
                progress.line("interrupted: epoch \(epoch + 1) not finished; \(lastPath) holds epoch \(epoch) — rerun with --resume to continue")
                return .interrupted(atEpoch: epoch)
            }
            history.append(record)
            info.epoch = epoch
            guard writes else { continue }   // the other ranks go on to the next epoch's first allreduce
            for m in monitors { record.metrics[m.name + "_acc"] = try Evaluation.run(model, on: m.data, context: m.context).accuracy }
            history[history.count - 1] = record
            if let acc = record.testAccuracy, acc >= info.bestAccuracy || epoch == 0 {
                info.bestAccuracy = acc
                try Checkpoint.save(model, info: info, to: bestPath)
            }
            try Checkpoint.save(model, info: info, to: lastPath)
            try saveOptimizer()
            try writeHistory()
            progress.line(summary(record))
        }
        return .completed
    }

    /// One epoch; nil when interrupted.
    private func trainEpoch(_ epoch: Int, lr: Float, train: any BatchSource, test: (any BatchSource)?) throws -> EpochRecord? {
        let t0 = Date()
        var lossSum = 0.0, correct = 0, seen = 0, batches = 0
        var metricSums: [String: Double] = [:]
        var interrupted = false
        var reduceSeconds = 0.0
        struct Stop: Error {}
        do {
            try train.forEachBatch(epoch: epoch) { batch in
                let (images, labels) = (batch.images, batch.labels)
                if parallel?.anyStops(Interrupt.requested) ?? Interrupt.requested { interrupted = true; throw Stop() }
                // Every slice needs an image (the allreduce carries each slice's metrics): a final batch with
                // fewer images than slices is skipped, on every rank alike.
                let ranks = parallel?.group.size ?? 1, rank = parallel?.group.rank ?? 0
                let slices = ranks * options.microBatches
                if labels.count < slices { return }
                var l = 0.0, right = 0, metrics: [String: Float] = [:]
                if slices == 1 {
                    optimizer.zeroGrad()
                    (l, right, metrics) = step(images, labels)
                } else {
                    // This rank's slices of the global batch, each weighted by its share; summed here and
                    // over ranks in one allreduce: the gradients and the step's numbers.
                    var sums: GradientSum?
                    for k in 0..<options.microBatches {
                        let rows = GradientSum.slice(rank * options.microBatches + k, of: slices, count: labels.count)
                        optimizer.zeroGrad()
                        let x = images.narrow(dim: 0, start: rows.lowerBound, length: rows.count)
                        let (sliceLoss, sliceRight, sliceMetrics) = step(x, Array(labels[rows]))
                        let share = Float(rows.count) / Float(labels.count)
                        let keys = sliceMetrics.keys.sorted()
                        let part = GradientSum(optimizer.parameters, share: share, statistics: [Float(sliceLoss) * share, Float(sliceRight)]
                                               + keys.map { sliceMetrics[$0]! * share }, keys: keys)
                        if sums == nil { sums = part } else { sums!.add(part) }
                    }
                    let t = Date()
                    if let parallel { sums!.allreduce(over: parallel.group) }
                    if parallel != nil { reduceSeconds += Date().timeIntervalSince(t) }
                    let totals = sums!.write(to: optimizer.parameters)
                    l = Double(totals[0]); right = Int(totals[1].rounded())
                    metrics = Dictionary(uniqueKeysWithValues: zip(sums!.keys, totals.dropFirst(2)))
                }
                if let maxNorm = options.maxGradNorm { clipGradNorm(optimizer.parameters, maxNorm: maxNorm) }
                optimizer.step()
                guard l.isFinite else {
                    throw IPRTensorError(.invalidConfiguration, "training diverged: loss is \(l) at epoch \(epoch + 1), batch \(batches + 1); lower the learning rate (now \(lr))")
                }
                lossSum += l * Double(labels.count)
                correct += right
                seen += labels.count
                batches += 1
                for (k, v) in metrics { metricSums[k, default: 0] += Double(v) }
                let elapsed = Date().timeIntervalSince(t0)
                let rate = Double(seen) / max(elapsed, 1e-9)
                let eta = Double(train.sampleCount - seen) / rate
                progress.batch(batches - 1, of: train.batchCount, text: String(
                    format: "epoch %d/%d  batch %d/%d  loss %.4f  acc %.1f%%  %.0f img/s  ETA %@",
                    epoch + 1, options.epochs, batches, train.batchCount, lossSum / Double(seen),
                    100 * Double(correct) / Double(seen), rate, formatDuration(eta)))
            }
        } catch is Stop {}
        if interrupted { return nil }
        try parallel?.averageRunningStatistics(of: model)
        let trainSeconds = Date().timeIntervalSince(t0)
        let eval = writes ? try test.map { try Evaluation.run(model, on: $0) } : nil
        if parallel != nil { metricSums["allreduce_ms"] = 1000 * reduceSeconds }
        return EpochRecord(epoch: epoch, learningRate: lr, trainLoss: lossSum / Double(max(seen, 1)),
                           trainAccuracy: Double(correct) / Double(max(seen, 1)), testLoss: eval?.loss,
                           testAccuracy: eval?.accuracy, seconds: Date().timeIntervalSince(t0),
                           imagesPerSecond: Double(seen) / max(trainSeconds, 1e-9),
                           metrics: metricSums.mapValues { $0 / Double(max(batches, 1)) })
    }

    /// Forward and backward of one slice: its mean loss, correct predictions and metrics.
    private func step(_ images: Tensor, _ labels: [Int]) -> (loss: Double, right: Int, metrics: [String: Float]) {
        let (loss, logits, metrics) = objective.step(model: model, images: images, labels: labels)
        loss.backward()
        return (Double(loss.item), zip(logits.argmax(axis: 1), labels).filter { $0 == $1 }.count, metrics)
    }

    private func summary(_ r: EpochRecord) -> String {
        var s = String(format: "epoch %d/%d  lr %.4g  train loss %.4f acc %.1f%%", r.epoch + 1, options.epochs,
                       r.learningRate, r.trainLoss, 100 * r.trainAccuracy)
        if let tl = r.testLoss, let ta = r.testAccuracy { s += String(format: "  test loss %.4f acc %.1f%%", tl, 100 * ta) }
        for (k, v) in r.metrics.sorted(by: { $0.key < $1.key }) { s += String(format: "  %@ %.4g", k, v) }
        s += String(format: "  %.1fs  %.0f img/s", r.seconds, r.imagesPerSecond)
        return s
    }

    // MARK: - Files

    private static let historyColumns = ["epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "images_per_s"]

    private func writeHistory() throws {
        let extra = Array(Set(history.flatMap { $0.metrics.keys })).sorted()
        var text = (Self.historyColumns + extra).joined(separator: ",") + "\n"
        for r in history {
            var row = [String(r.epoch + 1), "\(r.learningRate)", "\(r.trainLoss)", "\(r.trainAccuracy)",
                       r.testLoss.map { "\($0)" } ?? "", r.testAccuracy.map { "\($0)" } ?? "",
                       String(format: "%.3f", r.seconds), String(format: "%.1f", r.imagesPerSecond)]
            row += extra.map { k in r.metrics[k].map { "\($0)" } ?? "" }
            text += row.joined(separator: ",") + "\n"
        }
        try AtomicFile.write(Array(text.utf8), to: historyPath)
    }

    private func saveOptimizer() throws {
        var file = SafeTensorsFile(metadata: ["epoch": String(info.epoch)])
        for (name, p) in model.namedParameters() {
            if let buf = optimizer.momentumBuffer(for: p) { file.set("momentum." + name, SafeTensor(floats: buf.array, shape: buf.shape)) }
        }
        try SafeTensors.write(file, to: optimizerPath)
    }

    /// Loads last checkpoint, optimiser state and history; returns the first epoch to run.
    private func restore() throws -> Int {
        guard FileManager.default.fileExists(atPath: lastPath) else {
            throw IPRTensorError(.io, "--resume: \(lastPath) does not exist; start without --resume")
        }
        let (saved, file) = try Checkpoint.read(lastPath)
        guard saved.arch == info.arch, saved.config == info.config else {
            throw IPRTensorError(.invalidConfiguration, "--resume: \(lastPath) holds \(saved.arch) \(saved.config), this run is \(info.arch) \(info.config)")
        }
        try model.load(file, source: lastPath)
        info.epoch = saved.epoch
        info.bestAccuracy = saved.bestAccuracy
        if FileManager.default.fileExists(atPath: optimizerPath) {
            let opt = try SafeTensors.read(contentsOf: optimizerPath)
            for (name, p) in model.namedParameters() {
                if let st = opt["momentum." + name], st.shape == p.shape {
                    optimizer.setMomentumBuffer(Tensor(shape: st.shape, data: try st.floats()), for: p)
                }
            }
        }
        history = try readHistory().filter { $0.epoch <= saved.epoch }
        return saved.epoch + 1
    }

    private func readHistory() throws -> [EpochRecord] {
        guard let text = try? String(contentsOfFile: historyPath, encoding: .utf8) else { return [] }
        var lines = text.split(separator: "\n").map(String.init)
        guard !lines.isEmpty else { return [] }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == header.count, let e = Int(f[0]) else { return nil }
            var metrics: [String: Double] = [:]
            for (k, v) in zip(header.dropFirst(Self.historyColumns.count), f.dropFirst(Self.historyColumns.count)) { metrics[k] = Double(v) }
            return EpochRecord(epoch: e - 1, learningRate: Float(f[1]) ?? 0, trainLoss: Double(f[2]) ?? .nan,
                               trainAccuracy: Double(f[3]) ?? .nan, testLoss: Double(f[4]), testAccuracy: Double(f[5]),
                               seconds: Double(f[6]) ?? 0, imagesPerSecond: Double(f[7]) ?? 0, metrics: metrics)
        }
    }
}
