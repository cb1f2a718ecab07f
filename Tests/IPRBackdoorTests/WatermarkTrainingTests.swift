import Foundation
import Testing
import IPRBackdoor
import IPRData
import IPRModels
import IPRPassport
import IPRTensor

/// Scheme V3 composed as iprtool composes it: the V2 objective (IPRPassport) over batches extended by
/// trigger samples (IPRBackdoor), neither knowing the other.
@Suite struct WatermarkTrainingTests {
    static let identity = Normalize(mean: [0, 0, 0], std: [1, 1, 1])

    /// A V2 passport block on 8×8 images, pooled into a linear classifier of 4 classes.
    func model(seed: UInt64) -> any Layer {
        var rng = RNG(seed: seed)
        let spec = ConvBlockSpec(path: "0", inChannels: 3, outChannels: 32, kernel: 3, norm: .bn, inputHeight: 8, inputWidth: 8)
        return Sequential([PassportPrivateBlock(spec, signature: (0..<32).map { $0 % 3 == 0 ? 1 : -1 }, rng: &rng),
                           AdaptiveAvgPool2d(1), Flatten(), Linear(32, 4, rng: &rng)])
    }

    func train(_ model: any Layer, on data: any BatchSource, epochs: Int) throws {
        let sgd = SGD(parameters: model.trainableParameters(), learningRate: 0.05, momentum: 0.9)
        let objective = PrivatePassportObjective()
        for epoch in 0..<epochs {
            try data.forEachBatch(epoch: epoch) { batch in
                let (images, labels) = (batch.images, batch.labels)
                sgd.zeroGrad()
                objective.step(model: model, images: images, labels: labels).loss.backward()
                sgd.step()
            }
        }
    }

    @Test func v3TrainingWatermarksThePublicPathAndOnlyWithTheTriggers() throws {
        let base = DataLoader(dataset: ColourDataset(count: 16, classes: 4, seed: 1), batchSize: 8, shuffle: true, seed: 3,
                              transform: SampleTransform([]))
        let triggers = ColourTriggers(count: 8, classes: 4, seed: 2)
        let triggerBatches = triggers.batches(inputSize: 8, normalize: Self.identity)
        var thresholds = TriggerThresholds()
        thresholds.maxPValue = 1e-3   // 8 triggers of 4 classes: all 8 by chance is 1.5e-5

        let watermarked = model(seed: 4)
        try train(watermarked, on: try triggers.mixed(into: base, perBatch: 4, inputSize: 8, normalize: Self.identity, seed: 5), epochs: 60)
        let owner = try BlackBoxVerifier.verify(ModelOracle(watermarked), triggers: triggerBatches, classes: 4,
                                                triggerSet: triggers.name, thresholds: thresholds)
        #expect(owner.verdict == .verified, "\(owner.reasons)")

        let plain = model(seed: 4)
        try train(plain, on: base, epochs: 60)
        let other = try BlackBoxVerifier.verify(ModelOracle(plain), triggers: triggerBatches, classes: 4, triggerSet: triggers.name,
                                                nullModels: [], thresholds: thresholds)
        #expect(other.verdict == .notVerified, "\(other.reasons)")
        #expect(other.trigger.accuracy < owner.trigger.accuracy)
        // The model trained without the trigger set is the null model the owner's claim must beat.
        let withNull = try BlackBoxVerifier.verify(ModelOracle(watermarked), triggers: triggerBatches, classes: 4, triggerSet: triggers.name,
                                                   nullModels: [ModelOracle(plain)], thresholds: thresholds)
        #expect(withNull.verdict == .verified && withNull.trigger.nullAccuracies == [other.trigger.accuracy])
    }
}
