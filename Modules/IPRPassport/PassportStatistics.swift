import IPRModels
import IPRTensor

/// The batch-norm statistics of the passport path — V2/V3's private path, a V1 layer's only one —
/// re-estimated on data.
///
/// Why verification re-estimates them rather than reading them from the model: they are a function of
/// the weights, the passport and the data. The released model holds none (they belong to the owner's
/// private path); a copy a thief fine-tuned has weights its stored statistics no longer fit; and a
/// forger who trained its own γ, β in place of a V1 passport (the ERB attack) left statistics of its
/// network, not the passport's. Any claim — the owner's passport or a forger's — gets the same
/// treatment: its passport path is normalised with statistics measured on the verification images,
/// with that claimed passport, in one pass (no labels used). Group norm has no such statistics, and
/// nothing is done for it; plain blocks keep theirs.
public enum PassportStatistics {
    /// The passport-path statistics of a model as they are, to put back after a verification.
    public struct Snapshot {
        fileprivate let entries: [(norm: BatchNorm2d, mean: [Float], variance: [Float], batches: Int64)]
    }

    /// The passport-path batch norms that keep statistics: V2/V3's `bn_private`, V1's `bn`.
    static func norms(in model: any Module) -> [(block: any StatisticsEstimating, norm: BatchNorm2d)] {
        model.namedModules().compactMap { m -> (block: any StatisticsEstimating, norm: BatchNorm2d)? in
            let block: any StatisticsEstimating, norm: (any FusedReLUNorm)?
            switch m.module {
            case let v2 as PassportPrivateBlock: block = v2; norm = v2.privateNorm
            case let v1 as PassportBlock: block = v1; norm = v1.norm
            default: return nil
            }
            // Only batch norm keeps statistics (V2's `bn_private` exists for it alone).
            return (norm as? BatchNorm2d).map { (block, $0) }
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

    /// Replaces the passport path's running statistics by the mean and unbiased variance of each
    /// such norm's input over all of `data` (epoch-0 order), with the passport installed now.
    /// Returns how many layers were re-estimated.
    @discardableResult
    public static func reestimate(in model: any Layer, on data: any BatchSource) throws -> Int {
        let targets = norms(in: model)
        guard !targets.isEmpty else { return 0 }
        let batches = targets.map { $0.norm.numBatchesTracked.value }
        for t in targets { t.block.statisticsEstimate = BatchStatisticsEstimate(channels: t.norm.runningMean.count) }
        defer { for t in targets { t.block.statisticsEstimate = nil } }
        try noGrad {
            try data.forEachBatch(epoch: 0) { _ = model($0.images, ForwardContext(training: false, path: 1)) }
        }
        for (t, count) in zip(targets, batches) {
            guard let estimate = t.block.statisticsEstimate, estimate.samples > 1 else {
                throw IPRPassportError(.invalidConfig, "re-estimating the passport path's statistics needs at least 2 values per channel; the data gave \(t.block.statisticsEstimate?.samples ?? 0)")
            }
            t.norm.runningMean.assign(Tensor(shape: [estimate.mean.count], data: estimate.mean.map(Float.init)))
            t.norm.runningVar.assign(Tensor(shape: [estimate.mean.count], data: estimate.unbiasedVariance.map(Float.init)))
            t.norm.numBatchesTracked.value = count
        }
        return targets.count
    }
}

/// A passport layer whose norm can measure the statistics of its input during a forward pass: while
/// `statisticsEstimate` is set, its passport path adds each batch to it and normalises with that
/// batch's statistics.
protocol StatisticsEstimating: AnyObject {
    var statisticsEstimate: BatchStatisticsEstimate? { get set }
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
