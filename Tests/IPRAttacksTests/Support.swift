import Foundation
import IPRBackdoor
import IPRAttacks
import IPRModels
import IPRPassport
import IPRTensor
import IPRTestSupport

/// Trained passport models, built once for the suite (training is the slow part in a debug build).
enum Trained {
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
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-attacks-\(scheme)-\(UUID()).safetensors").path
        let (passport, info) = try TrainedTwoBlockNet.train(scheme, seed: 1, epochs: 10, to: path)
        return Model(checkpoint: path, passport: passport, info: info)
    }

    static var evaluation: InMemoryBatches { redSignData(count: 64, seed: 9) }

    /// An attack context on a fresh copy of `trained`, with `options` as given.
    static func context(_ trained: Model, scheme: Scheme, attack: String, options: [String: String] = [:],
                        attacker: AttackerData? = nil, triggers: (any TriggerSource)? = nil) throws -> AttackContext {
        var thresholds = AttackContext.defaultThresholds
        thresholds.nullSamples = 99
        let taken = try Attacks.registry.lookup(attack).options
        return AttackContext(model: try trained.load(), info: trained.info, scheme: scheme, ownerPassport: trained.passport,
                             evaluation: evaluation, attackerData: attacker, triggers: triggers, options: try AttackOptions(options, for: attack, taking: taken), seed: 3,
                             thresholds: thresholds)
    }
}
