import ArgumentParser
import Foundation
import IPRAttacks
@testable import IPRCommands
import IPRModels
import Testing

/// What a package of its own relies on (Examples/CustomAttack): an attack or a model registered
/// before `IPRTool.main()` is one the command line accepts, and an unregistered one is refused
/// with the registry's names.
@Suite struct PluginTests {
    /// Never run here: the tests only parse.
    struct PluginAttack: Attack {
        var options: [AttackOption] { [AttackOption("strength", default: "1", "how hard")] }
        func run(_ context: AttackContext) throws -> AttackOutcome { throw CancellationError() }
    }

    static let target = ["--checkpoint", "suspect.safetensors", "--passport", "passport.safetensors",
                         "--data", "Fixtures/cifar10_subset", "--out", "out"]

    @Test func aRegisteredAttackIsAcceptedByAttackAndAudit() throws {
        Attacks.registry.register("plugin-noise", description: "a test's own attack", PluginAttack())
        _ = try IPRTool.parseAsRoot(["attack", "plugin-noise"] + Self.target + ["--option", "strength=2"])
        _ = try IPRTool.parseAsRoot(["audit", "--attacks", "plugin-noise,prune"] + Self.target)
        let refused = #expect(throws: (any Error).self) {
            _ = try IPRTool.parseAsRoot(["attack", "not-registered"] + Self.target)
        }
        let message = refused.map { IPRTool.message(for: $0) } ?? ""
        #expect(message.contains("unknown attack 'not-registered'") && message.contains("plugin-noise"), "\(message)")
    }

    @Test func aRegisteredModelIsAcceptedByTrain() throws {
        Models.registry.register("plugin-net", description: "a test's own model") { config, blocks, rng in
            try AlexNet(classes: config.classes, inputSize: config.inputSize, norm: config.norm, blocks: blocks, rng: &rng)
        }
        _ = try IPRTool.parseAsRoot(["train", "--model", "plugin-net", "--data", "Fixtures/cifar10_subset", "--out", "out"])
        let refused = #expect(throws: (any Error).self) {
            _ = try IPRTool.parseAsRoot(["train", "--model", "not-registered", "--data", "Fixtures/cifar10_subset", "--out", "out"])
        }
        let message = refused.map { IPRTool.message(for: $0) } ?? ""
        #expect(message.contains("plugin-net"), "\(message)")
    }

    @Test func listingsPrintEveryNameWhole() {
        // Registered names of any length (a package's own, `channel-prune`) are printed whole, the
        // descriptions aligned after the longest.
        #expect(listing([("weight-noise", "noise"), ("prune", "pruning")]) == ["weight-noise  noise", "prune         pruning"])
        #expect(listing([]) == [])
    }
}
