import Foundation
import Testing
import IPRAttacks
import IPRModels
import IPRPassport
import IPRTensor

/// The thief's structural edits as attacks: each writes the file a thief ships and reports the
/// owner's verdict aligned to the stolen copy (the reference) and without it.
@Suite struct StructuralEditTests {
    func run(_ attack: String, _ scheme: Scheme, _ trained: Trained.Model, _ options: [String: String] = [:]) throws -> AttackOutcome {
        try Attacks.registry.lookup(attack).run(try Trained.context(trained, scheme: scheme, attack: attack, options: options))
    }

    @Test func permutationKeepsTheFunctionAndTheAlignedClaim() throws {
        let trained = try Trained.v2.get()
        let outcome = try run("permute", .v2, trained)
        let r = outcome.report
        #expect(r.steps.map(\.level) == [0, 1])
        for step in r.steps {
            #expect(step.verdict == .verified && step.extra["verifiedWithoutReference"] == 0, "\(step)")
            #expect(step.extra["matchedFraction"] == 1 && step.accuracy == r.before.publicAccuracy, "the same function: \(step)")
        }
        #expect(r.ownerVerdict == .verified)
        let file = try #require(outcome.attackedFile)
        #expect(file["block.conv.weight"] != nil && file.metadata["arch"] == "twoblocknet")
    }

    @Test(arguments: [Scheme.v1, .v2]) func dummyNeuronsChangeTheShapeNotTheClaim(_ scheme: Scheme) throws {
        let trained = try scheme == .v1 ? Trained.v1.get() : Trained.v2.get()
        let outcome = try run("widen", scheme, trained, ["fraction": "0.25", "layers": "0"])
        let step = try #require(outcome.report.steps.first)
        #expect(step.verdict == .verified && step.detection == outcome.report.before.detection, "\(step)")
        #expect(step.extra["detectionWithoutReference"]?.isNaN == true, "the widened file fits no architecture of ours")
        #expect(try #require(outcome.attackedFile)["block.conv.weight"]?.shape == [80, 48, 3, 3])
    }

    @Test func channelPruningSweepsAndItsBitsAreUnreadable() throws {
        let trained = try Trained.v2.get()
        let outcome = try run("channel-prune", .v2, trained, ["levels": "0,0.25", "save-level": "0.25"])
        let r = outcome.report
        #expect(r.steps.map(\.level) == [0, 0.25])
        #expect(r.steps[0].verdict == .verified && r.steps[0].extra["verifiedWithoutReference"] == 1)
        #expect(r.steps[1].extra["matchedFraction"].map { abs($0 - 96.0 / 112) < 1e-9 } == true, "\(r.steps[1])")
        #expect(try #require(outcome.attackedFile)["block.conv.weight"]?.shape == [48, 48, 3, 3])
    }

    @Test func quantisationSweepsTheWidths() throws {
        let trained = try Trained.v2.get()
        let outcome = try run("quantize", .v2, trained, ["bits": "16,8,4", "save-bits": "8"])
        let r = outcome.report
        #expect(r.steps.map(\.level) == [16, 8, 4])
        #expect(r.steps[0].verdict == .verified && r.steps[1].verdict == .verified, "\(r.steps)")
        // 8 bits per channel: every filter holds at most 255 distinct values.
        let weight = try #require(outcome.attackedModel).namedParameters().first { $0.name == "block.conv.weight" }!.tensor.array
        #expect(Set(weight.prefix(48 * 9)).count <= 255)
        #expect(throws: IPRAttacksError.self) { try run("quantize", .v2, trained, ["bits": "3"]) }
    }
}
