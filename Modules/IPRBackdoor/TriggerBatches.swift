import IPRData
import IPRModels
import IPRTensor

extension CheckpointInfo {
    /// The input normalisation the checkpoint was trained with (ImageNet's when it records none).
    public var normalize: Normalize { mean.count == 3 && std.count == 3 ? Normalize(mean: mean, std: std) : .imageNet }
}

extension TriggerSource {
    /// The trigger set as model inputs, in file order, for evaluation and verification.
    public func batches(inputSize: Int, normalize: Normalize, batchSize: Int = 100) -> DataLoader {
        DataLoader(dataset: samples, batchSize: batchSize, transform: transform(inputSize: inputSize, normalize: normalize))
    }

    /// Training batches of `base` extended by `perBatch` trigger samples each, cycling through the
    /// trigger set (the reference's 2 per batch): the backdoor watermark, and with the V2 objective,
    /// scheme V3.
    public func mixed(into base: DataLoader, perBatch: Int = 2, inputSize: Int, normalize: Normalize, seed: UInt64) throws -> TriggerMixLoader {
        guard perBatch > 0 else { throw IPRBackdoorError(.invalidOption, "trigger samples per batch must be positive, got \(perBatch)") }
        return TriggerMixLoader(base: base, trigger: samples, perBatch: perBatch,
                                transform: transform(inputSize: inputSize, normalize: normalize), seed: seed)
    }
}
