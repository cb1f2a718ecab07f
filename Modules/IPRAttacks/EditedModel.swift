import Foundation
import IPRModels
import IPRPassport
import IPRTensor

/// The owner's claim on a model a thief re-wrote as a file (its channels permuted, added or removed),
/// measured as `iprtool verify` does: aligned to the stolen model as the owner's reference
/// (`--reference`), and as it is, without one.
struct EditedModel {
    let context: AttackContext
    /// The stolen model as a file: what the thief edits, and the owner's reference (the owner holds
    /// the same model).
    let stolen: SafeTensorsFile
    let graph: ChannelGraph

    init(_ context: AttackContext) throws {
        self.context = context
        stolen = PassportCheckpoint.contents(of: context.model, info: context.info)
        graph = try ChannelGraph.registry.lookup(context.info.arch)(context.info.config)
    }

    /// The channel groups the passport layers write, in the graph's order (the signature's channels).
    var passportGroups: [String] {
        let paths = Set(context.ownerPassport.layers.map(\.path))
        return graph.layers.filter { paths.contains($0.path) }.map(\.output)
    }

    /// The passport groups an option `layers` picks: the first N, or all with 0.
    func groups(_ count: Int) -> [String] { count == 0 ? passportGroups : Array(passportGroups.prefix(count)) }

    /// The owner's measurement of `file` with the stolen model as reference (nil: without one), and
    /// the alignment. A file no architecture holds without alignment is `not-loadable`.
    func measure(_ file: SafeTensorsFile, aligned: Bool) throws -> (AttackReport.Measurement, AlignmentReport?) {
        let suspect: Suspect
        do {
            suspect = try PassportCheckpoint.loadSuspect(file, source: "the edited model", claimedBy: context.ownerPassport,
                                                         reference: aligned ? (stolen, "the stolen model") : nil)
        } catch let error as IPRTensorError where !aligned && error.code == .stateDictMismatch {
            return (.init(accuracy: .nan, detection: .nan, publicAccuracy: nil, verdict: .notLoadable), nil)
        }
        let r = try Verifier.verify(model: suspect.model, passport: context.ownerPassport, data: context.evaluation,
                                    thresholds: context.thresholds, seed: context.seed, unreadable: suspect.unreadable, checks: suspect.checks)
        return (.init(accuracy: r.accuracy, detection: r.signature.detection, publicAccuracy: r.publicAccuracy, verdict: r.verdict), suspect.alignment)
    }

    /// A sweep row: the owner with the reference (the row's verdict), and without it in the extra
    /// columns (`verifiedWithoutReference` 1 or 0, `detectionWithoutReference`), and the alignment's
    /// `matchedFraction` and `meanSimilarity`.
    func step(_ level: Double, _ file: SafeTensorsFile) throws -> (AttackReport.Step, AttackReport.Measurement) {
        let (with, alignment) = try measure(file, aligned: true)
        let (without, _) = try measure(file, aligned: false)
        var extra = ["detectionWithoutReference": without.detection, "verifiedWithoutReference": without.verdict == .verified ? 1 : 0]
        if let alignment { extra["matchedFraction"] = alignment.matchedFraction; extra["meanSimilarity"] = alignment.meanSimilarity }
        context.progress(String(format: "level %g: with the reference %@ (detection %.1f%%), without %@", level, with.verdict.rawValue, 100 * with.detection, without.verdict.rawValue))
        return (.sweep(level: level, with, extra: extra), with)
    }
}
