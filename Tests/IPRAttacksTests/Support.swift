import Foundation
import IPRAttacks
import IPRModels
import IPRPassport
import IPRTensor
import IPRTestSupport

/// Trained passport models, built once for the suite (training is the slow part in a debug build).
enum Trained {
    static let config = ModelConfig(classes: 2, inputSize: 8)

    struct Model: @unchecked Sendable {
        let checkpoint: String
        let passport: Passport
        let info: CheckpointInfo
        /// A fresh copy, as an attack receives it.
        func load() throws -> any Layer { try PassportCheckpoint.load(checkpoint).model }
    }

    static let v1 = Result { try train(.v1) }
    static let v2 = Result { try train(.v2) }

    static func train(_ scheme: Scheme) throws -> Model {
        _ = TwoBlockNet.registered
        let (model, factory) = try PassportBlockFactory.makeModel("twoblocknet", config: config, scheme: scheme,
                                                                  passports: try PassportConfig.parse(#"{"block": true}"#), signLossRatio: 0.3, seed: 1, passportSeed: 1)
        let sgd = SGD(parameters: model.trainableParameters(), learningRate: 0.05, momentum: 0.9)
        let objective: any TrainingObjective = scheme == .v1 ? PassportObjective() : PrivatePassportObjective()
        let data = redSignData(count: 64, seed: 1)
        for epoch in 0..<10 {
            try data.forEachBatch(epoch: epoch) { images, labels in
                sgd.zeroGrad()
                objective.step(model: model, images: images, labels: labels).loss.backward()
                sgd.step()
            }
        }
        let info = CheckpointInfo(arch: "twoblocknet", config: config, dataset: "synthetic", mean: [0, 0, 0], std: [1, 1, 1],
                                  extra: try PassportCheckpoint.metadata(scheme: scheme, factory: factory))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-attacks-\(scheme)-\(UUID()).safetensors").path
        try Checkpoint.save(model, info: info, to: path)
        return Model(checkpoint: path, passport: try Passport.extract(from: model), info: info)
    }

    static var evaluation: InMemoryBatches { redSignData(count: 64, seed: 9) }

    /// An attack context on a fresh copy of `trained`, with `options` as given.
    static func context(_ trained: Model, scheme: Scheme, attack: String, options: [String: String] = [:],
                        attacker: AttackerData? = nil) throws -> AttackContext {
        var thresholds = AttackContext.defaultThresholds
        thresholds.nullSamples = 99
        let taken = try Attacks.registry.lookup(attack).options
        return AttackContext(model: try trained.load(), info: trained.info, scheme: scheme, ownerPassport: trained.passport,
                             evaluation: evaluation, attackerData: attacker, options: try AttackOptions(options, for: attack, taking: taken), seed: 3,
                             thresholds: thresholds)
    }
}
