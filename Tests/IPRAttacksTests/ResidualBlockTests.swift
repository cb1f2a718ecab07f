import Foundation
import IPRTestSupport
import IPRPassport
import IPRModels
import IPRTensor
import Testing
@testable import IPRAttacks

/// The ERB attack (Chen et al., CVPR 2023): its residual blocks and the attack on a tiny model.
@Suite struct ResidualBlockTests {
    @Test func blocksAreResidualPerChannelOrAcrossChannelsAndTrainable() throws {
        var rng = RNG(seed: 4)
        for combined in [false, true] {
            let block = ResidualScaleBlock(channels: 16, combined: combined, rng: &rng)
            let gamma = Tensor.parameter(.ones([16]))
            let out = block(gamma)
            #expect(out.shape == [16])
            // Changing one channel's γ moves only that channel (IERB) or others too (CERB).
            var moved = gamma.array
            moved[3] = -2
            let other = noGrad { block(Tensor(shape: [16], data: moved)) }.array
            let changed = zip(out.array, other).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            #expect(combined ? changed.count > 1 : changed == [3], "combined \(combined): \(changed)")
            out.sum().backward()
            #expect(gamma.grad != nil && block.parameters.allSatisfy { $0.grad != nil })
            // With the second layer at zero the block is the identity: the residual.
            block.w2.assign(.zeros(block.w2.shape)); block.b2.assign(.zeros(block.b2.shape))
            #expect(noGrad { block(Tensor(shape: [16], data: moved)) }.array == moved)
        }
    }

    @Test func theForgerTrainsOnlyItsBlocksAndGetsANetworkNotAPassport() throws {
        let attacker = AttackerData(batches: redSignData(count: 64, seed: 21), classes: 2)
        for name in ["ierb", "cerb"] {
            for (scheme, trained) in [(Scheme.v1, try Trained.v1.get()), (.v2, try Trained.v2.get())] {
                let context = try Trained.context(trained, scheme: scheme, attack: name, options: ["epochs": "3", "lr": "0.05"], attacker: attacker)
                let convs = context.model.namedParameters().filter { $0.name.hasSuffix("weight") }.map { $0.tensor.array }
                let outcome = try Attacks.registry.lookup(name).run(context)
                #expect(context.model.namedParameters().filter { $0.name.hasSuffix("weight") }.map { $0.tensor.array } == convs,
                        "\(name) \(scheme): every weight frozen")
                let r = outcome.report, forged = try #require(r.forged)
                #expect(r.steps.count == 3 && forged.verdict == .noPassport && forged.bdr >= 0 && forged.bdr <= 1)
                #expect(r.steps.last?.extra["bdr"] == forged.bdr)
                #expect(r.after.detection == r.before.detection, "\(name) \(scheme): the owner's passport runs through the same weights")
                // V2: the forger's γ'' is the released model's public γ; V1: a plain network's affine.
                let network = try #require(outcome.attackedModel)
                #expect(passportLayers(in: network).isEmpty == !scheme.hasPrivatePath && (outcome.attackedInfo == nil) == scheme.hasPrivatePath)
                if scheme == .v2, let v2 = passportLayers(in: context.model).first as? PassportPrivateBlock {
                    let signs = v2.publicScale.array.map { Float($0 > 0 ? 1 : -1) }
                    let owner = trained.passport.layers[0].bits
                    let dissimilar = Double(zip(signs, owner).filter { $0 != $1 }.count) / Double(owner.count)
                    #expect(dissimilar == forged.bdr && v2.freeAffine == nil)
                    #expect(r.after.publicAccuracy == forged.accuracy)
                }
            }
        }
        let none = try Trained.context(try Trained.v1.get(), scheme: .v1, attack: "cerb")
        #expect(throws: IPRAttacksError.self) { _ = try Attacks.registry.lookup("cerb").run(none) }
    }

    /// The V1 forger's file: a plain network with γ'' as its norms' affine, which computes what the
    /// attack measured; read back into the owner's V1 layers it verifies, and a random passport does not.
    @Test func theV1ForgersNetworkIsAPlainFileTheOwnersClaimStillHolds() throws {
        let trained = try Trained.v1.get()
        let attacker = AttackerData(batches: redSignData(count: 64, seed: 21), classes: 2)
        let context = try Trained.context(trained, scheme: .v1, attack: "ierb", options: ["epochs": "3", "lr": "0.05"], attacker: attacker)
        let outcome = try Attacks.registry.lookup("ierb").run(context)
        let forged = try #require(outcome.report.forged)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-erb-v1-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AttackFiles.write(outcome, to: dir, info: trained.info)
        let file = dir + "/model.safetensors"

        let (plain, plainInfo, scheme) = try PassportCheckpoint.load(file)
        #expect(scheme == nil && plainInfo.extra["deployed_from"] == "v1" && plainInfo.extra["attack"] == "ierb")
        #expect(try Evaluation.run(plain, on: Trained.evaluation).accuracy == forged.accuracy, "the file computes the forger's network")
        let gamma = try #require(plain.stateDict()["block.bn.weight"]).floats()
        let owner = trained.passport.layers[0].bits
        #expect(Double(zip(gamma, owner).filter { ($0 > 0 ? 1 : -1) != $1 }.count) / Double(owner.count) == forged.bdr)

        let (suspect, claimInfo, claimScheme, fromPlain) = try PassportCheckpoint.load(file, claimedBy: trained.passport)
        #expect(claimScheme == .v1 && fromPlain)
        var thresholds = VerificationThresholds()
        thresholds.nullSamples = 99
        thresholds.forgedAccuracySamples = 0
        let ownerReport = try Verifier.verify(model: suspect, passport: trained.passport, data: Trained.evaluation, thresholds: thresholds)
        #expect(ownerReport.verdict == .verified && ownerReport.signature.detection == outcome.report.after.detection)
        #expect(ownerReport.referenceAccuracy == forged.accuracy, "the model's own accuracy is the forger's network's")
        #expect(ownerReport.passportStatistics?.contains("re-estimated") == true, "the forger's statistics are not the passport's")
        #expect(try Evaluation.run(suspect, on: Trained.evaluation).accuracy == forged.accuracy, "verification leaves the suspect as it was")
        let random = try Verifier.verify(model: suspect, passport: trained.passport.randomized(seed: 8), data: Trained.evaluation, thresholds: thresholds)
        #expect(random.verdict == .notVerified)

        // The forger's own passport for its network (fake3 on the file, as `iprtool attack fake3` reads
        // it): the passport drives γ while it is optimised, and the network runs as it did afterwards.
        let fake3 = try Attacks.registry.lookup("fake3")
        let forgery = try fake3.run(AttackContext(model: suspect, info: claimInfo, scheme: .v1, ownerPassport: trained.passport,
                                                  evaluation: Trained.evaluation, attackerData: attacker,
                                                  options: try AttackOptions(["epochs": "2"], for: "fake3", taking: fake3.options), seed: 3,
                                                  thresholds: thresholds))
        #expect(forgery.report.before.verdict == .verified)
        #expect(try Evaluation.run(suspect, on: Trained.evaluation).accuracy == forged.accuracy, "the forger's network runs as it did")
        let blocks = passportLayers(in: suspect).compactMap { $0 as? PassportBlock }
        let carried = blocks.map(\.freeAffine)
        try #require(forgery.forgedPassport).install(into: suspect)
        for block in blocks { block.freeAffine = nil }
        let withForgery = try Evaluation.run(suspect, on: Trained.evaluation).accuracy
        for (block, affine) in zip(blocks, carried) { block.freeAffine = affine }
        #expect(forgery.report.steps.last?.accuracy == withForgery, "the optimised passport drove γ: \(forgery.report.steps), \(withForgery)")
    }

    @Test func aPlainFileWithForeignTensorsIsStructurallyModifiedForAV1Claim() throws {
        let trained = try Trained.v1.get()
        let (v1, _, _) = try PassportCheckpoint.load(trained.checkpoint)
        let (plain, plainInfo) = try PassportCheckpoint.deployedNetwork(of: v1, info: trained.info)
        var file = plain.stateDict(metadata: plainInfo.metadata)
        file.set("block.erb.w1", SafeTensor(floats: [1, 2], shape: [2]))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-foreign-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(file, to: path)
        let e = try #require(throws: IPRTensorError.self) { _ = try PassportCheckpoint.load(path, claimedBy: trained.passport) }
        #expect(e.message.contains("structurally modified") && e.message.contains("block.erb.w1"))
    }
}
