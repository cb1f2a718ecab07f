import Foundation
import IPRBackdoor
import IPRData
import IPRModels
import IPRPassport
import IPRServe
import IPRTensor

/// What an ownership check is asked: a suspect, the claim (a passport, a trigger set, or both), and
/// the rule it is judged by.
public struct OwnershipClaim: Sendable {
    /// The suspect's file: a training checkpoint, a released file, a thief's re-saved or edited copy.
    public var suspect: String
    /// The claimed passport file (white-box).
    public var passport: String?
    /// The owner's own copy of the model: the suspect is aligned to it first (from weights alone).
    public var reference: String?
    /// The trigger set the model was watermarked with (black-box).
    public var triggerSet: String?
    /// Models trained without the trigger set: their trigger accuracies are the empirical null.
    public var nullModels: [String] = []
    /// The images a white-box claim is judged on.
    public var data: DataRequest?
    /// The white-box rule: detection, random passports, accuracy.
    public var thresholds = VerificationThresholds()
    /// Seed of the random passports.
    public var nullSeed: UInt64 = 0
    /// The black-box rule.
    public var trigger = TriggerThresholds()

    public init(suspect: String, passport: String? = nil, triggerSet: String? = nil, data: DataRequest? = nil) {
        self.suspect = suspect; self.passport = passport; self.triggerSet = triggerSet; self.data = data
    }
}

/// The evidence and the combined verdict of one ownership check; its JSON is `iprtool verify --json`'s.
public struct OwnershipReport: Sendable, Encodable {
    /// `verified` only when every stage asked for is.
    public var verdict: Verdict
    /// The suspect's file (nil for a deployed suspect).
    public var checkpoint: String?
    public var whitebox: VerificationReport?
    public var blackbox: BlackBoxReport?
    /// How the suspect was aligned to the reference.
    public var alignment: AlignmentReport?
    /// SHA-256 of the claimed passport file, and the one the suspect's metadata records (its owner's
    /// passport at training time), when it records one.
    public var passportSha256: String?
    public var checkpointPassportSha256: String?
    /// A deployed suspect: its endpoint, model name and the images sent.
    public var endpoint: String?
    public var model: String?
    public var queries: Int?
    /// How the suspect was read (its description's source, a prefix removed, a plain network read
    /// into the claim's passport layers): for the reader, not part of the verdict.
    public var notes: [String] = []

    enum Key: String, CodingKey {
        case verdict, checkpoint, whitebox, blackbox, trigger, alignment, passportSha256, checkpointPassportSha256, endpoint, model, queries
    }

    /// The white-box report's keys at the top level (as `verify --json` has always written a
    /// white-box claim), `whitebox` and `blackbox` nested when both stages ran, `trigger` the
    /// black-box evidence.
    public func encode(to encoder: Encoder) throws {
        if let whitebox { try whitebox.encode(to: encoder) }
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(verdict, forKey: .verdict)
        if let endpoint {
            try c.encode(endpoint, forKey: .endpoint)
            try c.encodeIfPresent(model, forKey: .model)
            try c.encodeIfPresent(queries, forKey: .queries)
        } else {
            try c.encodeIfPresent(checkpoint, forKey: .checkpoint)
        }
        if whitebox != nil {
            try c.encodeIfPresent(passportSha256, forKey: .passportSha256)
            try c.encode(checkpointPassportSha256, forKey: .checkpointPassportSha256)   // null: the suspect records none
            try c.encodeIfPresent(alignment, forKey: .alignment)
            if blackbox != nil { try c.encode(whitebox, forKey: .whitebox) }
        }
        if let blackbox {
            try c.encode(blackbox.trigger, forKey: .trigger)
            try c.encode(blackbox, forKey: .blackbox)
        }
    }
}

/// Ownership verification as one call: black-box (trigger set) and white-box (passport) stages on a
/// suspect file or a deployed model, the suspect read as a thief ships it, one combined verdict.
public enum OwnershipVerification {
    /// Checks `claim` on its suspect file.
    /// - Throws: `WorkflowError` for a claim with nothing to check or null models that do not fit;
    ///   the domain libraries' errors for unreadable files.
    public static func verify(_ claim: OwnershipClaim) throws -> OwnershipReport {
        guard claim.passport != nil || claim.triggerSet != nil else {
            throw WorkflowError("a claim needs a passport (white-box), a trigger set (black-box), or both")
        }
        let claimed = try claim.passport.map { try Passport.read($0) }
        // A white-box claim reads the suspect as thieves ship it (aligned to the reference, without
        // metadata, a plain copy read into the claim's layers); black-box alone needs only a model.
        let suspect = try claimed.map { try PassportCheckpoint.loadSuspect(claim.suspect, claimedBy: $0, reference: claim.reference) }
        let (model, info) = try suspect.map { ($0.model, $0.info) } ?? { let l = try PassportCheckpoint.load(claim.suspect); return (l.model, l.info) }()
        var report = OwnershipReport(verdict: .notVerified, checkpoint: claim.suspect)
        report.blackbox = try claim.triggerSet.map {
            try blackBox(ModelOracle(model), classes: info.config.classes, inputSize: info.config.inputSize, normalize: info.normalize,
                         suspect: claim.suspect, arch: info.arch, triggerSet: $0, claim: claim)
        }
        if let claimed, let suspect, let path = claim.passport {
            guard let data = claim.data else { throw WorkflowError("a passport claim is judged on images: give the data to verify on") }
            let evaluation = try data.evaluation(for: suspect.info, model: claim.suspect)
            report.notes += suspect.notes + (evaluation.note.map { [$0] } ?? [])
            if suspect.fromPlain {
                report.notes.append("\(claim.suspect) is a plain model; its weights are read into the claim's \(claimed.scheme.rawValue) passport layers (\(claimed.layers.map(\.path).joined(separator: ", ")))")
            }
            var whitebox = try Verifier.verify(model: suspect.model, passport: claimed, data: evaluation.batches, thresholds: claim.thresholds,
                                               seed: claim.nullSeed, unreadable: suspect.unreadable, checks: suspect.checks)
            if claim.reference == nil && whitebox.signature.nullPValue > claim.thresholds.maxNullPValue {
                whitebox.reasons.append("the signature reads as chance: a copy with its neurons permuted, widened or pruned reads so too — --reference FILE (the owner's copy) aligns it first")
            }
            report.whitebox = whitebox
            report.alignment = suspect.alignment
            report.passportSha256 = try Passport.fingerprint(ofFile: path)
            report.checkpointPassportSha256 = try info.passportMetadata(source: claim.suspect).passportSha256
        }
        report.verdict = Verdict(passed: [report.blackbox?.verdict, report.whitebox?.verdict].compactMap { $0 }.allSatisfy { $0 == .verified })
        return report
    }

    /// Black-box verification of a model deployed behind an Open Inference Protocol endpoint: the
    /// trigger images go as pixels (the server normalises them as its model expects); the report is
    /// the one a file gets, with the endpoint and the images sent.
    public static func verify(deployed remote: RemoteModel, triggerSet: String, claim: OwnershipClaim) throws -> OwnershipReport {
        let label = "\(remote.endpoint) (\(remote.name))"
        let blackbox = try blackBox(remote, classes: remote.classes, inputSize: remote.inputSize, normalize: nil, suspect: label,
                                    arch: nil, triggerSet: triggerSet, claim: claim)
        var report = OwnershipReport(verdict: blackbox.verdict, blackbox: blackbox)
        (report.endpoint, report.model, report.queries) = (remote.endpoint, remote.name, remote.queried)
        return report
    }

    /// The suspect's and the null models' predictions on the trigger set (images of `inputSize`,
    /// normalised with `normalize`: the suspect's statistics, or none for a remote suspect, which
    /// takes pixels — the null models then normalise with their own).
    static func blackBox(_ oracle: any LabelOracle, classes: Int, inputSize: Int, normalize: Normalize?, suspect: String,
                         arch: String?, triggerSet: String, claim: OwnershipClaim) throws -> BlackBoxReport {
        let triggers = try TriggerFolder(root: triggerSet)
        try triggers.check(classes: classes, model: suspect)
        let nulls = try claim.nullModels.map { path -> any LabelOracle in
            let (null, nullInfo, _) = try PassportCheckpoint.load(path)
            // A remote suspect's architecture is unknown: its null models need only take the same images.
            guard arch.map({ $0 == nullInfo.arch }) ?? true, nullInfo.config.classes == classes, nullInfo.config.inputSize == inputSize else {
                throw IPRBackdoorError(.nullModelMismatch, "null model \(path) is \(nullInfo.arch) (\(nullInfo.config.classes) classes, \(nullInfo.config.inputSize) px); the suspect \(suspect) is \(arch ?? "a remote model") (\(classes) classes, \(inputSize) px)")
            }
            return normalize == nil ? PixelOracle(model: null, normalize: nullInfo.normalize) : ModelOracle(null)
        }
        return try BlackBoxVerifier.verify(oracle, triggers: triggers.batches(inputSize: inputSize, normalize: normalize ?? RemoteModel.pixelInput),
                                           classes: classes, triggerSet: triggerSet, nullModels: nulls, thresholds: claim.trigger)
    }
}

/// A deployed model answers as black-box verification asks: labels of images (IPRServe knows
/// nothing of watermarks).
extension RemoteModel: LabelOracle {}

/// A local model asked with pixel images (values / 255, as a remote suspect gets them): it normalises
/// them with its own statistics first.
struct PixelOracle: LabelOracle {
    let model: any Layer
    let normalize: Normalize
    func predict(_ images: Tensor) throws -> [Int] { try ModelOracle(model).predict(normalize(images)) }
}
