import IPRData
import IPRModels
import IPRTensor

/// Any IPRData batch source seen as the trainer's `TrainingData` (IPRModels knows no loader, IPRData
/// no trainer; this library uses both, so the adapter lives here for every caller).
public struct LoaderTrainingData: TrainingData {
    public let loader: any BatchSource
    public let samples: Int

    /// - Parameter samples: images per epoch (with trigger samples, if the source appends any).
    public init(loader: any BatchSource, samples: Int) {
        self.loader = loader
        self.samples = samples
    }

    public var batchesPerEpoch: Int { loader.batchCount }
    public var samplesPerEpoch: Int { samples }
    public func forEachBatch(epoch: Int, _ body: (Tensor, [Int]) throws -> Void) throws {
        try loader.forEachBatch(epoch: epoch) { try body($0.images, $0.labels) }
    }
}

extension CheckpointInfo {
    /// The input normalisation the checkpoint was trained with (ImageNet's when it records none).
    public var normalize: Normalize { mean.count == 3 && std.count == 3 ? Normalize(mean: mean, std: std) : .imageNet }
}

extension TriggerSource {
    /// The trigger set as model inputs, in file order, for evaluation and verification.
    public func batches(inputSize: Int, normalize: Normalize, batchSize: Int = 100) -> LoaderTrainingData {
        let loader = DataLoader(dataset: samples, batchSize: batchSize, transform: transform(inputSize: inputSize, normalize: normalize))
        return LoaderTrainingData(loader: loader, samples: samples.count)
    }

    /// Training batches of `base` extended by `perBatch` trigger samples each, cycling through the
    /// trigger set (the reference's 2 per batch): the backdoor watermark, and with the V2 objective,
    /// scheme V3.
    public func mixed(into base: DataLoader, perBatch: Int = 2, inputSize: Int, normalize: Normalize, seed: UInt64) throws -> LoaderTrainingData {
        guard perBatch > 0 else { throw IPRBackdoorError(.invalidOption, "trigger samples per batch must be positive, got \(perBatch)") }
        let mix = TriggerMixLoader(base: base, trigger: samples, perBatch: perBatch,
                                   transform: transform(inputSize: inputSize, normalize: normalize), seed: seed)
        return LoaderTrainingData(loader: mix, samples: base.dataset.count + perBatch * base.batchCount)
    }
}
