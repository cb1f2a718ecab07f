import Foundation
import IPRTestSupport
import IPRPassport
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
                #expect(r.steps.count == 3 && forged.verdict == "no-passport" && forged.bdr >= 0 && forged.bdr <= 1)
                #expect(r.steps.last?.extra["bdr"] == forged.bdr)
                #expect(r.after.detection == r.before.detection, "\(name) \(scheme): the owner's passport runs through the same weights")
                // V2: the forger's γ'' is the released model's public γ; V1 has no file for free γ, β.
                #expect((outcome.attackedModel != nil) == scheme.hasPrivatePath)
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
}
