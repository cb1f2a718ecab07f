import Foundation
import IPRAttacks
import IPRBackdoor
import IPRData
import IPRModels
import IPRPassport
import IPRTensor

/// What an attack, or an audit of many, is run on: the suspect, the owner's passport that measures
/// it, the owner's test images, and what the attacker holds.
public struct AttackRequest: Sendable {
    /// The stolen model's file: a passport checkpoint, a released file, a thief's re-saved copy.
    public var suspect: String
    /// The owner's passport file: it only measures (detection and the owner's verdict).
    public var ownerPassport: String
    /// The owner's evaluation images (the test split; `DataRequest.evaluation`).
    public var data: DataRequest
    /// The attacker's own images, for the attacks that train; nil: none (those attacks refuse).
    public var attackerData: DataRequest?
    /// The attacker holds this fraction (0…1] of its training images, drawn with `seed`.
    public var attackerFraction: Double?
    /// The owner's trigger set: an attack that makes a new model reports its trigger accuracy.
    public var triggerSet: String?
    /// Random passports behind each owner's verdict.
    public var nullSamples = 999
    /// Seed of the attacks' draws (and of the attacker's fraction).
    public var seed: UInt64 = 0

    public init(suspect: String, ownerPassport: String, data: DataRequest) {
        self.suspect = suspect; self.ownerPassport = ownerPassport; self.data = data
    }

    /// Checks the values (and that every attack in `attacks` is registered) before anything is read.
    /// - Throws: `WorkflowError` naming the value.
    public func validate(attacks: [String]) throws {
        try data.validate()
        if let attackerData, !Datasets.registry.names.contains(attackerData.dataset) {
            throw WorkflowError("unknown dataset '\(attackerData.dataset)'; known: \(Datasets.registry.names.joined(separator: ", "))")
        }
        for name in attacks where !Attacks.registry.names.contains(name) {
            throw WorkflowError("unknown attack '\(name)'; known: \(Attacks.registry.names.joined(separator: ", "))")
        }
        guard nullSamples >= 0 else { throw WorkflowError("the number of random passports must be ≥ 0, got \(nullSamples)") }
        if let attackerFraction, !(attackerFraction > 0 && attackerFraction <= 1) {
            throw WorkflowError("the attacker's fraction must be in (0, 1], got \(attackerFraction)")
        }
    }
}

/// A suspect, its data and the owner's passport read once; each attack then gets a fresh copy of the
/// suspect. `run` is `iprtool attack`, `audit` is `iprtool audit`.
public struct PreparedAttack {
    public let request: AttackRequest
    /// The suspect's description.
    public let info: CheckpointInfo
    /// The suspect's scheme as read (a plain network read into the claim's passport layers is the
    /// claim's).
    public let scheme: Scheme
    /// What a reader should know about the data (a folder evaluated whole, the attacker's images).
    public let notes: [String]
    private let owner: Passport
    private let evaluation: DataLoader
    private let attacker: AttackerData?
    private let triggers: TriggerFolder?

    /// Reads the owner's passport, the suspect's description and the images.
    /// - Throws: `WorkflowError` for bad values; the readers' errors for unreadable files.
    public init(_ request: AttackRequest) throws {
        try request.validate(attacks: [])
        self.request = request
        owner = try Passport.read(request.ownerPassport)
        // As `verify` and `dispute` read it: a passport checkpoint as it is, a plain network (a V1
        // forger's, a thief's re-saved copy) into the owner's passport layers, which the claim names.
        let read = try PassportCheckpoint.load(request.suspect, claimedBy: owner)
        (info, scheme) = (read.info, read.scheme)
        var notes: [String] = []
        let evaluation = try request.data.evaluation(for: read.info, model: request.suspect)
        if let note = evaluation.note { notes.append(note) }
        self.evaluation = evaluation.batches
        attacker = try request.attackerData.map { try Self.attackerSets($0, request: request, info: read.info, notes: &notes) }
        triggers = try request.triggerSet.map { try TriggerFolder(root: $0) }
        self.notes = notes
    }

    /// The attacker's training and held-out batches, transformed as the model expects.
    private static func attackerSets(_ data: DataRequest, request: AttackRequest, info: CheckpointInfo, notes: inout [String]) throws -> AttackerData {
        let all = try data.open(.train)
        let train = try request.attackerFraction.map { try Subset(all, fraction: $0, seed: request.seed) } ?? all
        let test = try data.openTest()
        let batches = try data.loader(train, for: info, shuffle: true, seed: request.seed)
        let held = try test.map { try data.loader($0, for: info) }
        notes.append("attacker's data: \(data.dataset), \(train.count) training images"
                     + (request.attackerFraction.map { " (a random \($0) of \(all.count))" } ?? "")
                     + (test.map { ", \($0.count) held out" } ?? ""))
        return AttackerData(batches: batches, evaluation: held, classes: train.classNames.count)
    }

    /// A fresh copy of the suspect with the owner's passport installed, and everything an attack reads.
    public func context(_ options: AttackOptions, progress: @escaping (String) -> Void = { _ in }) throws -> AttackContext {
        let model = try PassportCheckpoint.load(request.suspect, claimedBy: owner).model
        try owner.install(into: model)   // a passport of another model fails here, naming the layer
        var thresholds = AttackContext.defaultThresholds
        thresholds.nullSamples = request.nullSamples
        return AttackContext(model: model, info: info, scheme: scheme, ownerPassport: owner, evaluation: evaluation,
                             attackerData: attacker, triggers: triggers, options: options, seed: request.seed,
                             thresholds: thresholds, progress: progress)
    }

    /// Runs the registered attack `name` with `options` (checked against those it takes) and writes
    /// its files to `out` (`report.json`, and as the attack makes them `model.safetensors`, the
    /// forged passport, `steps.csv` and the plots).
    /// - Returns: the outcome and the files written.
    public func run(_ name: String, options: [String: String], out: String,
                    progress: @escaping (String) -> Void = { _ in }) throws -> (outcome: AttackOutcome, files: [String]) {
        try request.validate(attacks: [name])
        let outcome = try Attacks.run(name, options: options) { try context($0, progress: progress) }
        return (outcome, try AttackFiles.write(outcome, to: out, info: info))
    }

    /// Runs `suite` one attack after another into `out/NAME/`, summarised in `out/audit.json` and
    /// `out/audit.md` after each; Ctrl-C stops after the running attack (`Audit.run`).
    public func audit(_ suite: [Audit.Item], out: String, resume: Bool = false,
                      progress: @escaping (String) -> Void = { _ in }) throws -> Audit.Report {
        try request.validate(attacks: suite.map(\.attack))
        Interrupt.install()
        defer { Interrupt.reset() }
        return try Audit.run(suite, out: out, checkpoint: request.suspect, info: info, scheme: scheme.rawValue, resume: resume,
                             context: { _, options in try context(options, progress: progress) }, progress: progress)
    }
}
