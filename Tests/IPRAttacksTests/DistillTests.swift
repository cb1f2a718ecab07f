import Foundation
import Testing
import IPRAttacks
import IPRBackdoor
import IPRData
import IPRModels
import IPRPassport
import IPRTensor
import IPRTestSupport

/// Model extraction: the student learns the stolen model's answers, and the owner's white-box claim
/// does not follow it (new weights), with the alignment saying so; the trigger set's accuracy is
/// reported on both models.
@Suite struct DistillTests {
    @Test func theStudentAnswersLikeTheStolenModelButCarriesNoSignature() throws {
        let trained = try Trained.v2.get()
        let attacker = AttackerData(batches: redSignData(count: 128, seed: 21), classes: 2)
        let context = try Trained.context(trained, scheme: .v2, attack: "distill", options: ["epochs": "4", "lr": "0.05"],
                                          attacker: attacker, triggers: ColourTriggers(count: 20, classes: 2, seed: 5))
        let outcome = try Attacks.registry.lookup("distill").run(context)
        let r = outcome.report
        #expect(r.before.verdict == .verified)
        #expect(r.steps.map(\.level) == [1, 2, 3, 4])
        let last = try #require(r.steps.last)
        #expect(last.extra["agreement"].map { $0 >= 0.9 } == true, "the student learned the stolen model's answers: \(last)")
        #expect(last.accuracy >= 0.9, "\(last)")
        // Channels the alignment cannot match are unreadable; those it matches by chance read at chance.
        #expect(r.ownerVerdict == .notVerified && r.after.detection < 0.75, "new weights carry no signature: \(r.after)")
        #expect(last.extra["matchedFraction"].map { $0 < 0.5 } == true, "the alignment finds no copy of the owner's model: \(last)")

        let student = try #require(outcome.attackedModel), info = try #require(outcome.attackedInfo)
        #expect(info.extra["scheme"] == nil && passportLayers(in: student).isEmpty, "the thief ships a plain network")
        let stolen = try trained.load().stateDict(), extracted = student.stateDict()
        #expect(extracted["block.conv.weight"]?.shape == stolen["block.conv.weight"]?.shape)
        #expect(extracted["block.conv.weight"] != stolen["block.conv.weight"])

        // The trigger claim is the trigger accuracies of the two models, measured here independently.
        let triggers = ColourTriggers(count: 20, classes: 2, seed: 5).batches(inputSize: 8, normalize: trained.info.normalize)
        let claim = try #require(r.trigger)
        #expect(claim.before == Double(try BlackBoxVerifier.matches(ModelOracle(try trained.load()), triggers: triggers).matched) / 20)
        #expect(claim.after == Double(try BlackBoxVerifier.matches(ModelOracle(student), triggers: triggers).matched) / 20)
        #expect(claim.verdict == .notVerified, "20 triggers at 1/2 each cannot reach p ≤ 1e-6: \(claim)")
    }

    @Test func itNeedsTheAttackersImages() throws {
        let context = try Trained.context(try Trained.v2.get(), scheme: .v2, attack: "distill")
        #expect(throws: IPRAttacksError.self) { try Attacks.registry.lookup("distill").run(context) }
    }
}

/// Solid-colour 8×8 images with labels from a seed: a trigger set of one's own (the `TriggerSource` seam).
struct ColourTriggers: TriggerSource {
    struct Images: Dataset {
        let colours: [[UInt8]], labels: [Int], classNames: [String]
        var count: Int { labels.count }
        func sample(at index: Int) throws -> (image: Image, label: Int) {
            try checkIndex(index)
            return (Image(width: 8, height: 8, pixels: (0..<64).flatMap { _ in colours[index] }), labels[index])
        }
    }
    let samples: any Dataset
    var name: String { "colour triggers" }
    init(count: Int, classes: Int, seed: UInt64) {
        var rng = RNG(seed: seed)
        let colours = (0..<count).map { _ in (0..<3).map { _ in UInt8(rng.next() % 256) } }
        let labels = (0..<count).map { _ in Int(rng.next() % UInt64(classes)) }
        samples = Images(colours: colours, labels: labels, classNames: (0..<classes).map { "class \($0)" })
    }
}
