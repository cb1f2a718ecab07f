import Foundation
import Testing
import IPRAttacks
import IPRModels
import IPRPassport
import IPRTensor
import IPRTestSupport

/// An attack written outside the library: scales every weight, registered at run time.
struct ShrinkAttack: Attack {
    var options: [AttackOption] { [AttackOption("factor", default: "0.5", "what every weight is multiplied by")] }
    func run(_ context: AttackContext) throws -> AttackOutcome {
        let factor = try context.options.double("factor", in: 0...1)
        let before = try context.measure()
        for p in context.model.trainableParameters() { p.assign(p * Float(factor)) }
        let after = try context.measure()
        return AttackOutcome(report: AttackReport(attack: "shrink", options: context.options.values, seed: context.seed,
                                                  before: before, after: after), attackedModel: context.model)
    }
}

@Suite(.serialized) struct AttackTests {
    func temporaryDirectory() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("ipr-attack-\(UUID())").path }

    @Test func anAttackFromOutsideThePluginSeamRunsAndWritesItsFiles() throws {
        Attacks.registry.register("shrink", description: "multiplies every weight (test)", ShrinkAttack())
        #expect(Attacks.registry.names.contains("shrink") && Attacks.registry.names.contains("prune"))
        let trained = try Trained.v1.get()
        let outcome = try Attacks.run("shrink", options: ["factor": "0"]) { options in
            try Trained.context(trained, scheme: .v1, attack: "shrink", options: options.values)
        }
        #expect(outcome.report.before.verdict == .verified && outcome.report.after.detection == 0)
        #expect(outcome.report.seconds > 0 && outcome.report.ownerVerdict == .notVerified)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try AttackFiles.write(outcome, to: dir, info: trained.info)
        #expect(files == [dir + "/report.json", dir + "/model.safetensors"])   // no sweep: no steps, no plot
        let (model, info, scheme) = try PassportCheckpoint.load(dir + "/model.safetensors")
        #expect(scheme == .v1 && info.extra["attack"] == "shrink")
        #expect(model.trainableParameters().allSatisfy { $0.array.allSatisfy { $0 == 0 } })
    }

    @Test func optionsAreCheckedByTheAttack() throws {
        let prune = try Attacks.registry.lookup("prune")
        let unknown = try #require(throws: IPRAttacksError.self) { try AttackOptions(["epochs": "3"], for: "prune", taking: prune.options) }
        #expect(unknown.message == "attack 'prune' takes no option 'epochs'; it takes levels, save-level")
        let options = try AttackOptions(["levels": "0,1.5"], for: "prune", taking: prune.options)
        let range = try #require(throws: IPRAttacksError.self) { _ = try options.levels() }
        #expect(range.code == .invalidOption && range.message.contains("fractions in 0…1"))
        #expect(try AttackOptions([:], for: "prune", taking: prune.options).levels().count == 11)
        // The known names, sorted (attacks other tests register stand among them).
        let name = try #require(throws: IPRTensorError.self) { _ = try Attacks.registry.lookup("erase") }
        #expect(name.message.hasPrefix("unknown attack 'erase'; known: "))
        let known = name.message.components(separatedBy: "known: ").last!.components(separatedBy: ", ")
        #expect(known == known.sorted())
        #expect(Set(["cerb", "channel-prune", "distill", "fake1", "fake2", "fake3", "flip", "forge", "ftal", "ftll", "ierb", "obfuscate",
                     "permute", "prune", "quantize", "resave", "rtal", "rtll", "widen"]).isSubset(of: known))
    }

    @Test func pruningSweepsFromNothingToEverything() throws {
        for (scheme, trained) in [(Scheme.v1, try Trained.v1.get()), (.v2, try Trained.v2.get())] {
            let context = try Trained.context(trained, scheme: scheme, attack: "prune", options: ["levels": "0,0.5,1", "save-level": "0.5"])
            let outcome = try Attacks.registry.lookup("prune").run(context)
            let r = outcome.report
            #expect(r.steps.map(\.level) == [0, 0.5, 1])
            #expect(r.steps[0].accuracy == (r.before.publicAccuracy ?? r.before.accuracy) && r.steps[0].detection == r.before.detection)
            #expect(r.steps[2].detection == 0 && r.steps[2].verdict == .notVerified)   // every weight zero: γ = 0
            #expect((r.before.publicAccuracy != nil) == (scheme == .v2))
            #expect((r.steps[0].extra["passportAccuracy"] != nil) == (scheme == .v2))
            // The model kept is pruned at the save level: half of all weights are zero.
            let values = try #require(outcome.attackedModel).trainableParameters().flatMap(\.array)
            let zeros = Double(values.filter { $0 == 0 }.count) / Double(values.count)
            #expect(abs(zeros - 0.5) < 0.01, "\(scheme): \(zeros)")
            #expect(r.stepsCSV.hasPrefix("level,accuracy,detection,verdict"))
        }
    }

    @Test func flippingBreaksTheModelNotTheOwnersPassport() throws {
        for (scheme, trained) in [(Scheme.v1, try Trained.v1.get()), (.v2, try Trained.v2.get())] {
            let context = try Trained.context(trained, scheme: scheme, attack: "flip", options: ["levels": "0,0.5,1"])
            var rng = RNG(seed: 4)
            let probe = Tensor.normal([4, 3, 8, 8], rng: &rng)
            let untouched = noGrad { context.model(probe, .eval) }.array
            let r = try Attacks.registry.lookup("flip").run(context).report
            let agreement = r.steps.map { $0.extra["modelSignAgreement"]! }
            // V1's free γ is the passport's (it carries the signature); V2's is the public path's.
            if scheme == .v1 { #expect(agreement[0] == r.before.detection) }
            #expect(abs(agreement[2] - (1 - agreement[0])) < 1e-9, "\(scheme): every sign flipped")
            #expect(r.steps.allSatisfy { $0.detection == r.before.detection }, "\(scheme): the weights are untouched")
            #expect(r.steps[2].accuracy < r.steps[0].accuracy && r.ownerVerdict == .verified)
            #expect(noGrad { context.model(probe, .eval) }.array == untouched, "\(scheme): the model is restored")
        }
    }

    /// What the forger gets, and that its claim is judged as any claim is. (On this two-class toy a
    /// random passport keeps much of the accuracy — its signature agrees with the owner's on most bits,
    /// as trained weights push γ toward the owner's signs — so the verdict itself is checked on
    /// AlexNet, BENCHMARKS.md; here: the forgery costs accuracy, and re-verifying gives the same verdict.)
    @Test func aRandomPassportForgeryIsAClaimLikeAnyOther() throws {
        let trained = try Trained.v2.get()
        let context = try Trained.context(trained, scheme: .v2, attack: "fake1", options: ["samples": "2"])
        let outcome = try Attacks.registry.lookup("fake1").run(context)
        let forged = try #require(outcome.report.forged)
        #expect(forged.detection == 1)   // the forger claims exactly the signs its passport gives
        #expect(forged.bdr > 0.05 && forged.bdr < 0.95)
        #expect(forged.accuracy < outcome.report.before.accuracy, "\(forged) before \(outcome.report.before)")
        #expect(outcome.report.ownerVerdict == .verified)
        // The forged passport is a passport file like any other: its claim can be checked again.
        let passport = try #require(outcome.forgedPassport)
        let path = temporaryDirectory() + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try passport.write(to: path)
        let again = try Verifier.verify(model: try trained.load(), passport: try Passport.read(path), data: Trained.evaluation,
                                        thresholds: context.thresholds, seed: 3)
        #expect(again.signature.detection == 1)
        #expect(again.accuracy >= forged.accuracy - 1e-12)   // the best forgery, against the mean of those tried
        #expect(forged.verdict == .verified || again.verdict == .notVerified)   // the best forgery is the one written
    }

    @Test func theReportHasTheKeysUsersRelyOn() throws {
        let trained = try Trained.v2.get()
        let outcome = try Attacks.run("prune", options: ["levels": "0,1"]) { options in
            try Trained.context(trained, scheme: .v2, attack: "prune", options: options.values)
        }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try AttackFiles.write(outcome, to: dir, info: trained.info)
        #expect(Set(files.map { ($0 as NSString).lastPathComponent }) == ["report.json", "steps.csv", "plot.png", "plot.svg", "model.safetensors"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))) as? [String: Any])
        for key in ["attack", "options", "seed", "before", "after", "steps", "ownerVerdict", "levelMeaning"] { #expect(json[key] != nil, "\(key)") }
        for side in ["before", "after"] {
            let m = try #require(json[side] as? [String: Any])
            #expect(m["accuracy"] is Double && m["detection"] is Double && m["publicAccuracy"] is Double && m["verdict"] is String)
        }
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.count == 2 && steps.allSatisfy { $0["level"] != nil && $0["accuracy"] != nil && $0["detection"] != nil })
        let csv = try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3 && csv[0] == "level,accuracy,detection,verdict,passportAccuracy")
    }

    @Test func fineTuningTrainsWhatItSaysAndTheOwnerChecksEveryEpoch() throws {
        let attacker = AttackerData(batches: redSignData(count: 64, seed: 21), evaluation: redSignData(count: 32, seed: 22), classes: 2)
        for (scheme, trained) in [(Scheme.v1, try Trained.v1.get()), (.v2, try Trained.v2.get())] {
            // rtll: a new classifier and nothing else trained.
            let context = try Trained.context(trained, scheme: scheme, attack: "rtll", options: ["epochs": "2"], attacker: attacker)
            let before = context.model.namedParameters().map { ($0.name, $0.tensor.array) }
            let outcome = try Attacks.registry.lookup("rtll").run(context)
            #expect(outcome.report.steps.map(\.level) == [1, 2] && outcome.report.levelMeaning == "epoch of fine-tuning")
            let changed = Set(zip(before, context.model.namedParameters()).filter { $0.0.1 != $0.1.tensor.array }.map(\.0.0))
            #expect(changed == ["fc.weight", "fc.bias"], "\(scheme): \(changed)")
            #expect(outcome.report.steps.allSatisfy { $0.extra["trainLoss"] != nil && $0.extra["ownerAccuracy"] != nil })
            // ftal: every layer moves; V1's passport layers are back on the passport afterwards.
            let all = try Trained.context(trained, scheme: scheme, attack: "ftal", options: ["epochs": "1"], attacker: attacker)
            let r = try Attacks.registry.lookup("ftal").run(all).report
            #expect(r.steps.count == 1 && r.steps[0].detection > 0.8, "\(scheme): \(r.steps)")
            #expect(passportLayers(in: all.model).compactMap { $0 as? PassportBlock }.allSatisfy { $0.freeAffine == nil })
        }
    }

    @Test func fineTuningNeedsAttackerDataOfTheModelsClasses() throws {
        let trained = try Trained.v1.get()
        let none = try Trained.context(trained, scheme: .v1, attack: "ftal")
        let missing = try #require(throws: IPRAttacksError.self) { _ = try Attacks.registry.lookup("ftal").run(none) }
        #expect(missing.message.contains("--attacker-data"))
        let other = AttackerData(batches: redSignData(count: 16, seed: 1), classes: 5)
        let wrong = try Trained.context(trained, scheme: .v1, attack: "rtal", attacker: other)
        let classes = try #require(throws: IPRAttacksError.self) { _ = try Attacks.registry.lookup("rtal").run(wrong) }
        #expect(classes.message == "attack 'rtal' fine-tunes the model's 2-class classifier; the attacker data has 5 classes")
    }

    @Test func reverseEngineeringTrainsOnlyGammaAndBetaAndLeavesTheOwnersClaim() throws {
        let attacker = AttackerData(batches: redSignData(count: 64, seed: 21), classes: 2)
        for (scheme, trained) in [(Scheme.v1, try Trained.v1.get()), (.v2, try Trained.v2.get())] {
            let context = try Trained.context(trained, scheme: scheme, attack: "fake2", options: ["epochs": "2"], attacker: attacker)
            let weights = context.model.namedParameters().filter { $0.name.hasSuffix("weight") && !$0.name.contains("fc") }.map { $0.tensor.array }
            let outcome = try Attacks.registry.lookup("fake2").run(context)
            let after = context.model.namedParameters().filter { $0.name.hasSuffix("weight") && !$0.name.contains("fc") }.map { $0.tensor.array }
            #expect(after == weights, "\(scheme): the conv weights are frozen")
            let r = outcome.report, forged = try #require(r.forged)
            #expect(r.steps.count == 2 && forged.verdict == .noPassport && forged.bdr > 0.2 && forged.bdr < 0.8, "\(scheme): \(forged)")
            #expect(r.after.detection == r.before.detection, "\(scheme): the owner's γ comes from the same frozen weights")
            // The forger's network: V2 with its public γ, β; V1 a plain network with them as its norms' affine.
            let network = try #require(outcome.attackedModel)
            #expect(passportLayers(in: network).isEmpty == !scheme.hasPrivatePath)
            #expect(try Evaluation.run(network, on: Trained.evaluation).accuracy == forged.accuracy, "\(scheme): the file computes the forger's network")
        }
        let none = try Trained.context(try Trained.v1.get(), scheme: .v1, attack: "fake2")
        #expect(throws: IPRAttacksError.self) { _ = try Attacks.registry.lookup("fake2").run(none) }
    }

    @Test func anOptimisedPassportIsANewPassportFileAndTheModelIsGivenBack() throws {
        let attacker = AttackerData(batches: redSignData(count: 64, seed: 21), classes: 2)
        for (scheme, trained) in [(Scheme.v1, try Trained.v1.get()), (.v2, try Trained.v2.get())] {
            let context = try Trained.context(trained, scheme: scheme, attack: "fake3", options: ["epochs": "2", "flip-fraction": "0.25"],
                                              attacker: attacker)
            let parameters = context.model.trainableParameters().map(\.array)
            let outcome = try Attacks.registry.lookup("fake3").run(context)
            #expect(context.model.trainableParameters().map(\.array) == parameters, "\(scheme): weights frozen")
            let forgery = try #require(outcome.forgedPassport)
            #expect(forgery.scheme == scheme && forgery.metadata["forged_by"] == "fake3")
            // The target signature flips exactly a quarter of the owner's bits.
            let bits = trained.passport.layers.flatMap(\.bits).count
            #expect(outcome.report.forged?.bdr == Double(bits / 4) / Double(bits))
            #expect(forgery.layers[0].skey.array != trained.passport.layers[0].skey.array, "\(scheme): the passport moved")
            // The model holds the owner's passport and signature again.
            let installed = try Passport.extract(from: context.model)
            #expect(installed.layers[0].skey.array == trained.passport.layers[0].skey.array && installed.layers[0].bits == trained.passport.layers[0].bits)
            #expect(outcome.report.steps.allSatisfy { $0.extra["passportMSE"]! > 0 })
        }
    }
}
