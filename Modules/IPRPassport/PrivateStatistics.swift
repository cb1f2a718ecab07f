import IPRModels
import IPRTensor

/// The batch-norm statistics of the private path of V2/V3 passport layers, re-estimated on data.
///
/// Why verification re-estimates them rather than reading them from the model: they are a function of
/// the weights, the passport and the data. The released model holds none (they belong to the owner's
/// private path), and a copy a thief fine-tuned has weights its stored statistics no longer fit. Any
/// claim — the owner's passport or a forger's — gets the same treatment: its private path is
/// normalised with statistics measured on the verification images, with that claimed passport, in one
/// pass (no labels used). Group norm and V1 have no such statistics, and nothing is done for them.
public enum PrivateStatistics {
    /// The private-path statistics of a model as they are, to put back after a verification.
    public struct Snapshot {
        fileprivate let entries: [(norm: BatchNorm2d, mean: [Float], variance: [Float], batches: Int64)]
    }

    /// The private-path batch norms that keep statistics of their own.
    static func norms(in model: any Module) -> [(block: PassportPrivateBlock, norm: BatchNorm2d)] {
        model.namedModules().compactMap { m in
            // Only batch norm gives the private path statistics of its own (`bn_private`).
            guard let block = m.module as? PassportPrivateBlock, block.spec.norm == .bn,
                  let norm = block.privateNorm as? BatchNorm2d else { return nil }
            return (block, norm)
        }
    }

    public static func snapshot(of model: any Module) -> Snapshot {
        Snapshot(entries: norms(in: model).map { ($0.norm, $0.norm.runningMean.array, $0.norm.runningVar.array, $0.norm.numBatchesTracked.value) })
    }

    public static func restore(_ snapshot: Snapshot) {
        for e in snapshot.entries {
            e.norm.runningMean.assign(Tensor(shape: [e.mean.count], data: e.mean))
            e.norm.runningVar.assign(Tensor(shape: [e.variance.count], data: e.variance))
            e.norm.numBatchesTracked.value = e.batches
        }
    }

    /// Replaces the private path's running statistics by the mean and unbiased variance of each
    /// private norm's input over all of `data` (epoch-0 order), with the passport installed now.
    /// Returns how many layers were re-estimated.
    @discardableResult
    public static func reestimate(in model: any Layer, on data: any TrainingData) throws -> Int {
        let targets = norms(in: model)
        guard !targets.isEmpty else { return 0 }
        let batches = targets.map { $0.norm.numBatchesTracked.value }
        for t in targets { t.block.statisticsEstimate = BatchStatisticsEstimate(channels: t.norm.runningMean.count) }
        defer { for t in targets { t.block.statisticsEstimate = nil } }
        try noGrad {
            try data.forEachBatch(epoch: 0) { images, _ in _ = model(images, ForwardContext(training: false, path: 1)) }
        }
        for (t, count) in zip(targets, batches) {
            guard let estimate = t.block.statisticsEstimate, estimate.samples > 1 else {
                throw IPRPassportError(.invalidConfig, "re-estimating the private path's statistics needs at least 2 values per channel; the data gave \(t.block.statisticsEstimate?.samples ?? 0)")
            }
            t.norm.runningMean.assign(Tensor(shape: [estimate.mean.count], data: estimate.mean.map(Float.init)))
            t.norm.runningVar.assign(Tensor(shape: [estimate.mean.count], data: estimate.unbiasedVariance.map(Float.init)))
            t.norm.numBatchesTracked.value = count
        }
        return targets.count
    }
}

/// Per-channel mean and variance of `[N, C, H, W]` batches, pooled over batches in double precision
/// (Chan et al.'s parallel update: each batch's own mean and squared deviations, so a large mean
/// does not cancel the variance as Σx² − n·mean² would).
final class BatchStatisticsEstimate {
    private(set) var samples = 0
    private(set) var mean: [Double]
    private var m2: [Double]

    init(channels: Int) {
        mean = [Double](repeating: 0, count: channels)
        m2 = mean
    }

    func add(_ y: Tensor) {
        let c = y.shape[1], n = y.count / c
        let batchMean = y.mean(axes: [0, 2, 3], keepDims: true)
        let centred = y - batchMean
        let batchM2 = (centred * centred).sum(axes: [0, 2, 3]).array
        let means = batchMean.array
        let total = samples + n
        for k in 0..<c {
            let delta = Double(means[k]) - mean[k]
            mean[k] += delta * Double(n) / Double(total)
            m2[k] += Double(batchM2[k]) + delta * delta * Double(samples) * Double(n) / Double(total)
        }
        samples = total
    }

    /// What PyTorch's batch norm keeps as running variance: the unbiased estimate.
    var unbiasedVariance: [Double] { m2.map { $0 / Double(max(samples - 1, 1)) } }
}
