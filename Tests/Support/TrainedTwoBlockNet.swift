import IPRModels
import IPRPassport
import IPRTensor

/// A passport TwoBlockNet (8×8 inputs, 2 classes; `block` the passport layer) trained in a second
/// on `redSignData` and saved as a checkpoint, with its passport.
public enum TrainedTwoBlockNet {
    public static let config = ModelConfig(classes: 2, inputSize: 8)

    public static func model(_ scheme: Scheme, seed: UInt64) throws -> (model: any Layer, factory: PassportBlockFactory) {
        _ = TwoBlockNet.registered
        return try PassportBlockFactory.makeModel("twoblocknet", config: config, scheme: scheme,
                                                  passports: try PassportConfig.parse(#"{"block": true}"#), signLossRatio: 0.3, seed: seed, passportSeed: seed)
    }

    /// Trains `epochs` epochs and writes the checkpoint to `path`.
    public static func train(_ scheme: Scheme, seed: UInt64, epochs: Int = 12, to path: String) throws -> (passport: Passport, info: CheckpointInfo) {
        let (model, factory) = try model(scheme, seed: seed)
        let objective: any TrainingObjective = scheme.hasPrivatePath ? PrivatePassportObjective() : PassportObjective()
        let sgd = SGD(parameters: model.trainableParameters(), learningRate: 0.05, momentum: 0.9)
        let data = redSignData(count: 64, seed: seed)
        for epoch in 0..<epochs {
            try data.forEachBatch(epoch: epoch) { batch in
                let (images, labels) = (batch.images, batch.labels)
                sgd.zeroGrad()
                objective.step(model: model, images: images, labels: labels).loss.backward()
                sgd.step()
            }
        }
        let info = CheckpointInfo(arch: "twoblocknet", config: config, dataset: "synthetic", mean: [0, 0, 0], std: [1, 1, 1],
                                  extra: try PassportCheckpoint.metadata(scheme: scheme, factory: factory))
        try Checkpoint.save(model, info: info, to: path)
        var passport = try Passport.extract(from: model)
        passport.scheme = scheme
        return (passport, info)
    }

    /// `train` into `dir/SCHEME-SEED.safetensors`.
    public static func train(_ scheme: Scheme, seed: UInt64, dir: String) throws -> (checkpoint: String, passport: Passport) {
        let path = dir + "/\(scheme.rawValue)-\(seed).safetensors"
        return (path, try train(scheme, seed: seed, to: path).passport)
    }
}
