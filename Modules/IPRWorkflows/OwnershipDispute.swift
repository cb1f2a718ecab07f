import IPRModels
import IPRPassport

/// Competing ownership claims on one suspect and the rule that settles them; its JSON is
/// `iprtool dispute --json`'s.
public struct DisputeReport: Sendable, Encodable {
    public struct Claim: Sendable, Encodable {
        /// The claimed passport file.
        public var claim: String
        public var verdict: Verdict
        public var reasons: [String]
        public var evidence: VerificationReport
    }
    public var checkpoint: String
    public var claims: [Claim]
    /// The index of the one claim that holds; nil when none or several do.
    public var decision: Int?
    /// Why the decision is what it is.
    public var reason: String

    enum Key: String, CodingKey { case checkpoint, claims, decision, reason }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encode(claims, forKey: .claims)
        try c.encode(decision, forKey: .decision)   // null: undecided
        try c.encode(reason, forKey: .reason)
    }
}

/// A dispute as one call: every claimed passport verified on the same suspect by the same rule,
/// on the same images with the same random passports; the decision is the one claim that holds.
public enum OwnershipDispute {
    /// - Parameters:
    ///   - claims: passport files, one per claimant (at least two).
    ///   - references: the copy the suspect is aligned to before a claim is read: none, one for every
    ///     claim, or one per claim (each claimant's own copy).
    public static func settle(suspect: String, claims: [String], references: [String] = [], data: DataRequest,
                              thresholds: VerificationThresholds = VerificationThresholds(), nullSeed: UInt64 = 0) throws -> DisputeReport {
        guard claims.count >= 2 else { throw WorkflowError("a dispute needs at least two claims, got \(claims.count)") }
        guard references.count <= 1 || references.count == claims.count else {
            throw WorkflowError("give one reference for every claim or one per claim (\(claims.count)), got \(references.count)")
        }
        // A fresh copy for every claim, read as that claim needs it (aligned to its reference, a plain
        // copy into its passport layers): no claim sees what another installed.
        let judged = try claims.enumerated().map { k, path -> DisputeReport.Claim in
            let claimed = try Passport.read(path)
            let read = try PassportCheckpoint.loadSuspect(suspect, claimedBy: claimed,
                                                          reference: references.isEmpty ? nil : references[references.count == 1 ? 0 : k])
            let report = try Verifier.verify(model: read.model, passport: claimed, data: data.evaluation(for: read.info, model: suspect).batches,
                                             thresholds: thresholds, seed: nullSeed, unreadable: read.unreadable, checks: read.checks)
            return .init(claim: path, verdict: report.verdict, reasons: report.reasons, evidence: report)
        }
        let holding = judged.indices.filter { judged[$0].verdict == .verified }
        let reason = holding.isEmpty ? "no claim holds"
            : holding.count == 1 ? "only claim \(holding[0]) (\(judged[holding[0]].claim)) holds"
            : "claims \(holding.map(String.init).joined(separator: ", ")) all hold: the evidence does not settle it"
        return DisputeReport(checkpoint: suspect, claims: judged, decision: holding.count == 1 ? holding[0] : nil, reason: reason)
    }
}
