import Foundation
import Testing
import IPRAttacks
import IPRModels
import IPRPassport
import IPRTensor
import IPRTestSupport

/// The outsider's strongest forgery — passports optimised for accuracy alone, claimed with the signature
/// they produce — passes every test but one: its signature is not committed to its passports.
@Suite struct ForgeryCommitmentTests {
    @Test(arguments: [Scheme.v1, .v2]) func anOptimisedPassportsOwnSignatureIsNotACommittedOne(_ scheme: Scheme) throws {
        let trained = try scheme == .v1 ? Trained.v1.get() : Trained.v2.get()
        let attacker = AttackerData(batches: redSignData(count: 128, seed: 23), classes: 2)
        let context = try Trained.context(trained, scheme: scheme, attack: "forge", options: ["epochs": "3", "lr": "0.05"], attacker: attacker)
        let outcome = try Attacks.registry.lookup("forge").run(context)
        let r = outcome.report
        #expect(r.before.verdict == .verified && r.ownerVerdict == .verified, "the owner's claim is untouched")
        let forged = try #require(outcome.forgedPassport)

        var thresholds = VerificationThresholds()
        thresholds.nullSamples = 99
        thresholds.forgedAccuracySamples = 0
        let claim = try Verifier.verify(model: try trained.load(), passport: forged, data: Trained.evaluation, thresholds: thresholds)
        #expect(claim.signature.detection == 1, "the claim is what its passports produce")
        #expect(claim.verdict == .notVerified && r.forged?.verdict == .notVerified)
        let failed = claim.reasons.filter { $0.hasPrefix("FAIL") }
        #expect(failed.count == 1 && failed[0].contains("signature committed"), "only the commitment refuses it: \(claim.reasons)")

        // The owner's passport is committed; the same passport with one bit flipped is not.
        #expect(SignatureCommitment.check(trained.passport).passed)
        var flipped = trained.passport
        flipped.layers[0].bits[5] *= -1
        #expect(!SignatureCommitment.check(flipped).passed)
    }
}
