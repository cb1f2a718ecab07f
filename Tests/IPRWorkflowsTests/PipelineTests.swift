import Foundation
import IPRModels
import IPRPassport
import IPRTensor
import IPRWorkflows
import Testing

/// The README's pipeline as a Swift program: protect (train V2), release, a thief prunes the released
/// file and permutes its neurons, the owner verifies it — all library calls, no `iprtool`.
@Suite struct PipelineTests {
    @Test func trainV2ReleaseAPrunedPermutedCopyVerifiesAgainstTheOwnersReference() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-pipeline-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/passport.json"
        try #"{"0": false, "2": false, "4": true, "5": true, "6": "ok!"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        var data = DataRequest(dataset: "cifar10", root: OwnershipVerificationTests.fixtures + "/cifar10_subset")
        (data.limit, data.batchSize) = (96, 32)

        // Protect.
        var request = TrainingRequest(model: "alexnet", data: data, out: dir + "/v2", epochs: 2)
        request.protection = PassportProtection(scheme: .v2, config: config)
        request.protection!.signLoss = 1
        request.protection!.passportSeed = 4   // seeded: every draw of the test is the same
        let progress = ProgressReporter()
        progress.quiet = true
        let trained = try ProtectedTraining.run(request, progress: progress)
        #expect(trained.outcome == .completed && trained.info.extra["scheme"] == "v2")
        let passport = try #require(trained.passport)
        #expect(trained.info.extra["passport_sha256"] == (try Passport.fingerprint(ofFile: passport)), "the checkpoint commits to its passport")

        // Release; the thief prunes the released file (the registered attack, as `iprtool attack
        // prune` runs it), then permutes and rescales every layer's neurons (same function).
        let released = dir + "/public.safetensors", stolen = dir + "/stolen.safetensors"
        try PassportCheckpoint.release(dir + "/v2/best.safetensors", to: released)
        var attack = AttackRequest(suspect: released, ownerPassport: passport, data: data)
        attack.nullSamples = 99
        let pruned = try PreparedAttack(attack).run("prune", options: ["levels": "0.3", "save-level": "0.3"], out: dir + "/prune")
        #expect(pruned.outcome.report.attack == "prune" && pruned.files.contains { $0.hasSuffix("model.safetensors") })
        let prunedWeights = try SafeTensors.read(contentsOf: dir + "/prune/model.safetensors")
        let conv = try prunedWeights.tensor("features.4.conv.weight").floats()
        #expect(conv.filter { $0 == 0 }.count > conv.count / 10, "the pruned copy has weights set to zero")
        let graph = try ChannelGraph.registry.lookup("alexnet")(trained.info.config)
        try SafeTensors.write(ChannelEdit.permute(prunedWeights, graph: graph, seed: 7, rescale: true), to: stolen)

        // Verify: with the owner's released file as the reference the copy is the owner's; without
        // it the signature reads as chance and the report says what to do.
        var claim = OwnershipClaim(suspect: stolen, passport: passport, data: data)
        (claim.thresholds.maxAccuracyDrop, claim.thresholds.nullSamples, claim.thresholds.forgedAccuracySamples) = (1, 199, 1)
        claim.reference = released
        let aligned = try OwnershipVerification.verify(claim)
        #expect(aligned.verdict == .verified, "\(aligned.whitebox?.reasons ?? [])")
        #expect(aligned.whitebox?.signature.detection == 1 && aligned.whitebox?.signature.text == "ok!")
        #expect(aligned.alignment?.isCopy == true && aligned.passportSha256 == aligned.checkpointPassportSha256)
        claim.reference = nil
        let unaligned = try OwnershipVerification.verify(claim)
        #expect(unaligned.verdict == .notVerified && unaligned.whitebox!.reasons.contains { $0.contains("--reference FILE") })
    }
}
