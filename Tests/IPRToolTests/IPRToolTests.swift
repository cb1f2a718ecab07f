import Foundation
import Testing

/// End-to-end: the built `iprtool` run as a user runs it, on the Fixtures CIFAR-10 subset.
@Suite struct IPRToolTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let cifar = root.appendingPathComponent("Fixtures/cifar10_subset").path

    /// `iprtool` sits next to the test bundle in the build folder.
    static var executable: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.path.hasSuffix(".xctest/Contents/MacOS") { dir = dir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        return dir.appendingPathComponent("iprtool")
    }

    struct Run { let status: Int32; let stdout: String; let stderr: String }

    func iprtool(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func temporaryDirectory() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("iprtool-\(UUID())").path }

    @Test func trainThenEvaluateFromTheFileAlone() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let train = try iprtool(["train", "--model", "alexnet", "--dataset", "cifar10", "--data", Self.cifar, "--epochs", "2",
                                 "--batch-size", "32", "--limit", "128", "--seed", "3", "--out", out, "--quiet"])
        #expect(train.status == 0, "\(train.stderr)")
        for file in ["last.safetensors", "best.safetensors", "optimizer.safetensors", "history.csv"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing")
        }
        let history = try String(contentsOfFile: out + "/history.csv", encoding: .utf8).split(separator: "\n")
        #expect(history.count == 3)

        let eval = try iprtool(["evaluate", "--checkpoint", out + "/last.safetensors", "--dataset", "cifar10",
                                "--data", Self.cifar, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let accuracy = try #require(json["accuracy"] as? Double)
        #expect(accuracy >= 0 && accuracy <= 1)
        #expect(json["samples"] as? Int == 200)
        #expect((json["loss"] as? Double).map { $0.isFinite && $0 > 0 } == true)
        // The last epoch's test accuracy in history.csv is what evaluate measures on the same 128 images.
        let limited = try iprtool(["evaluate", "--checkpoint", out + "/last.safetensors", "--data", Self.cifar, "--limit", "128", "--json"])
        let limitedAccuracy = try #require((try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [String: Any])?["accuracy"] as? Double)
        let lastRow = history.last!.split(separator: ",", omittingEmptySubsequences: false)
        #expect(Swift.abs(Double(lastRow[5])! - limitedAccuracy) < 1e-9)
    }

    /// Image folders by layout: ImageNet's train/ + val/ trains on one and tests on the other; a
    /// single folder trains without evaluation unless a fraction is held out, and says so.
    @Test func imageFoldersNeverTestOnTheirTrainingImagesUnasked() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let imagenet = Self.root.appendingPathComponent("Fixtures/imagenet_tiny").path
        let train = try iprtool(["train", "--dataset", "imagenet", "--data", imagenet, "--epochs", "1", "--batch-size", "18", "--out", out + "/in"])
        #expect(train.status == 0 && train.stderr.contains("18 train / 6 test images, 3 classes"), "\(train.stderr)")
        let eval = try json(try iprtool(["evaluate", "--checkpoint", out + "/in/last.safetensors", "--dataset", "imagenet", "--data", imagenet, "--json"]))
        #expect(eval["samples"] as? Int == 6)

        let single = imagenet + "/train"
        let unsplit = try iprtool(["train", "--dataset", "imagefolder", "--data", single, "--epochs", "1", "--batch-size", "18", "--out", out + "/one"])
        #expect(unsplit.status == 0 && unsplit.stderr.contains("training without evaluation") && unsplit.stderr.contains("18 train / 0 test"), "\(unsplit.stderr)")
        let held = try iprtool(["train", "--dataset", "imagefolder", "--data", single, "--val-fraction", "0.34", "--epochs", "1", "--batch-size", "18", "--out", out + "/held"])
        #expect(held.status == 0 && held.stderr.contains("12 train / 6 test images"), "\(held.stderr)")
        let whole = try iprtool(["evaluate", "--checkpoint", out + "/one/last.safetensors", "--dataset", "imagefolder", "--data", single, "--json"])
        #expect(try json(whole)["samples"] as? Int == 18 && whole.stderr.contains("no test split: evaluating all its 18 images"))
        let bad = try iprtool(["train", "--dataset", "imagefolder", "--data", single, "--val-fraction", "1.5", "--out", out + "/bad"])
        #expect(bad.status == 64 && bad.stderr.contains("--val-fraction must be in (0, 1)"))
        let caltech = try iprtool(["train", "--dataset", "caltech101", "--data", Self.root.appendingPathComponent("Fixtures/caltech_tiny").path,
                                   "--epochs", "1", "--out", out + "/caltech"])
        #expect(caltech.status == 0 && caltech.stderr.contains("11 train / 4 test images, 3 classes"), "\(caltech.stderr)")
    }

    @Test func listsRegistries() throws {
        let models = try iprtool(["models"]), datasets = try iprtool(["datasets"])
        #expect(models.status == 0 && models.stdout.contains("alexnet") && models.stdout.contains("resnet18"))
        #expect(datasets.status == 0 && datasets.stdout.contains("cifar10") && datasets.stdout.contains("trigger-set"))
    }

    @Test func badInputIsAClearErrorNotACrash() throws {
        let unknown = try iprtool(["train", "--model", "vgg", "--data", Self.cifar, "--out", temporaryDirectory()])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("unknown model 'vgg'") && unknown.stderr.contains("alexnet"))
        let absent = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-absent-\(UUID())/model.safetensors").path
        let missing = try iprtool(["evaluate", "--checkpoint", absent, "--data", Self.cifar])
        #expect(missing.status != 0 && missing.stderr.contains(absent))
        let noData = try iprtool(["evaluate", "--checkpoint", "x.safetensors", "--dataset", "cifar10"])
        #expect(noData.status != 0 && noData.stderr.contains("--data"))
        let help = try iprtool(["train", "--help"])
        #expect(help.stdout.contains("--resume") && help.stdout.contains("Example: iprtool train"))
    }

    @Test func passportTrainVerifyForgeAndRelease() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/passport.json"
        try #"{"0": false, "2": false, "4": true, "5": true, "6": "ok!"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        func train(_ scheme: String, seed: String, out: String) throws -> Run {
            try iprtool(["train", "--scheme", scheme, "--passport-config", config, "--data", Self.cifar, "--epochs", "2",
                         "--limit", "96", "--batch-size", "32", "--sign-loss", "1", "--seed", seed, "--out", out, "--quiet"])
        }
        let v2 = dir + "/v2", forger = dir + "/forger"
        let trained = try train("v2", seed: "1", out: v2)
        #expect(trained.status == 0, "\(trained.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: v2 + "/passport.safetensors")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // The forger reruns the owner's command, training seed included: a training seed is no secret.
        #expect(try train("v2", seed: "1", out: forger).status == 0)
        let passportSeed = try safetensorsMetadata(v2 + "/passport.safetensors")["passport_seed"]
        #expect(passportSeed.flatMap(UInt64.init) != nil)
        #expect(passportSeed != (try safetensorsMetadata(forger + "/passport.safetensors")["passport_seed"]))

        // 199 random passports where the p-value's resolution does not matter (999, the default, below).
        let owner = try iprtool(["verify", "--checkpoint", v2 + "/last.safetensors", "--passport", v2 + "/passport.safetensors",
                                 "--data", Self.cifar, "--limit", "96", "--json", "--max-accuracy-drop", "1", "--null-samples", "199"])
        #expect(owner.status == 0, "\(owner.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(owner.stdout.utf8)) as? [String: Any])
        let signature = try #require(report["signature"] as? [String: Any])
        #expect(report["verdict"] as? String == "verified")
        #expect(signature["detection"] as? Double == 1)
        #expect(signature["text"] as? String == "ok!")
        #expect((signature["pValue"] as? Double).map { $0 < 1e-100 } == true)
        #expect((report["layers"] as? [Any])?.count == 3)
        #expect((report["passportSha256"] as? String)?.count == 64)
        #expect(report["passportSha256"] as? String == report["checkpointPassportSha256"] as? String)

        // Someone else's passport, from the same command: the signature is not there.
        let forged = try iprtool(["verify", "--checkpoint", v2 + "/last.safetensors", "--passport", forger + "/passport.safetensors",
                                  "--data", Self.cifar, "--limit", "96", "--json", "--null-samples", "199"])
        #expect(forged.status == 1)
        let forgedReport = try #require(try JSONSerialization.jsonObject(with: Data(forged.stdout.utf8)) as? [String: Any])
        #expect(forgedReport["verdict"] as? String == "not-verified")
        #expect(((forgedReport["signature"] as? [String: Any])?["detection"] as? Double).map { $0 < 0.8 } == true)

        // Both claims under one rule: the owner's holds, the forger's does not; two copies of one claim settle nothing.
        func dispute(_ claims: [String]) throws -> Run {
            try iprtool(["dispute", "--checkpoint", v2 + "/last.safetensors", "--data", Self.cifar, "--limit", "96", "--json",
                         "--max-accuracy-drop", "1", "--null-samples", "199"] + claims.flatMap { ["--claim", $0] })
        }
        let settled = try dispute([forger + "/passport.safetensors", v2 + "/passport.safetensors"])
        let verdicts = try json(settled)
        #expect(settled.status == 0 && verdicts["decision"] as? Int == 1, "\(settled.stdout)\(settled.stderr)")
        #expect((verdicts["claims"] as? [[String: Any]])?.map { $0["verdict"] as? String } == ["not-verified", "verified"])
        let tied = try dispute([v2 + "/passport.safetensors", v2 + "/passport.safetensors"])
        let tiedVerdicts = try json(tied)
        #expect(tied.status == 1 && tiedVerdicts["decision"] is NSNull && tied.stdout.contains("does not settle"))
        #expect(try iprtool(["dispute", "--checkpoint", v2 + "/last.safetensors", "--claim", v2 + "/passport.safetensors",
                             "--data", Self.cifar]).status == 64)

        // The released model has no private passport and evaluates like the public path.
        let released = dir + "/public.safetensors"
        #expect(try iprtool(["release", "--checkpoint", v2 + "/last.safetensors", "--out", released]).status == 0)
        let names = String(decoding: FileManager.default.contents(atPath: released)!.prefix(20_000), as: UTF8.self)
        #expect(!names.contains("key_private") && !names.contains("skey_private"))
        func accuracy(_ checkpoint: String) throws -> Double? {
            let run = try iprtool(["evaluate", "--checkpoint", checkpoint, "--data", Self.cifar, "--json"])
            return (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])?["accuracy"] as? Double
        }
        #expect(try accuracy(released) == accuracy(v2 + "/last.safetensors"))
        // The released file is what a thief holds: it verifies with the owner's passport as the checkpoint does.
        let fromRelease = try iprtool(["verify", "--checkpoint", released, "--passport", v2 + "/passport.safetensors",
                                       "--data", Self.cifar, "--limit", "96", "--json", "--max-accuracy-drop", "1"])
        let releasedReport = try #require(try JSONSerialization.jsonObject(with: Data(fromRelease.stdout.utf8)) as? [String: Any])
        #expect(fromRelease.status == 0 && releasedReport["verdict"] as? String == "verified", "\(fromRelease.stdout)")
        #expect((releasedReport["passportStatistics"] as? String)?.contains("re-estimated") == true)
        #expect((releasedReport["signature"] as? [String: Any])?["nullPValue"] as? Double == 0.001)
        #expect(((releasedReport["signature"] as? [String: Any])?["nullSamples"] as? Int) == 999)
        // V1 from a baseline checkpoint: the passport lives in the model; verify reads the text back.
        let base = dir + "/base", v1 = dir + "/v1"
        #expect(try iprtool(["train", "--data", Self.cifar, "--epochs", "1", "--limit", "96", "--batch-size", "32",
                             "--out", base, "--quiet"]).status == 0)
        let v1Train = try iprtool(["train", "--scheme", "v1", "--passport-config", config, "--pretrained", base + "/last.safetensors",
                                   "--data", Self.cifar, "--epochs", "2", "--limit", "96", "--batch-size", "32", "--sign-loss", "1",
                                   "--seed", "3", "--out", v1, "--quiet"])
        #expect(v1Train.status == 0, "\(v1Train.stderr)")
        let v1Verify = try iprtool(["verify", "--checkpoint", v1 + "/last.safetensors", "--passport", v1 + "/passport.safetensors",
                                    "--data", Self.cifar, "--limit", "96", "--json", "--forged-samples", "2", "--null-samples", "199"])
        let v1Report = try #require(try JSONSerialization.jsonObject(with: Data(v1Verify.stdout.utf8)) as? [String: Any])
        #expect(v1Report["verdict"] as? String == "verified" && v1Verify.status == 0, "\(v1Verify.stdout)")
        #expect((v1Report["signature"] as? [String: Any])?["text"] as? String == "ok!")
        #expect((v1Report["forgedAccuracies"] as? [Double])?.count == 2)
        let wrongPassport = try iprtool(["verify", "--checkpoint", v2 + "/last.safetensors", "--passport", v1 + "/passport.safetensors",
                                         "--data", Self.cifar, "--limit", "96"])
        #expect(wrongPassport.status != 0 && wrongPassport.stderr.contains("not a v1 passport layer of this model"))
        let v1Release = try iprtool(["release", "--checkpoint", v1 + "/last.safetensors", "--out", dir + "/v1-public.safetensors"])
        #expect(v1Release.status != 0 && v1Release.stderr.contains("V1"))
        let noScheme = try iprtool(["train", "--scheme", "v1", "--data", Self.cifar, "--out", dir + "/y"])
        #expect(noScheme.status == 64 && noScheme.stderr.contains("--passport-config"))
    }

    static let triggerSet = root.appendingPathComponent("Fixtures/trigger_set").path

    /// The `__metadata__` of a safetensors file, read from its JSON header (this target links no library).
    func safetensorsMetadata(_ path: String) throws -> [String: String] {
        let bytes = try #require(FileManager.default.contents(atPath: path))
        let length = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        let header = try #require(try JSONSerialization.jsonObject(with: bytes.dropFirst(8).prefix(length)) as? [String: Any])
        return header["__metadata__"] as? [String: String] ?? [:]
    }

    func json(_ run: Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)\(run.stderr)")
    }

    @Test func v3TrainsReleasesAndVerifiesBlackBoxThenWhiteBox() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/passport.json"
        try #"{"0": false, "2": false, "4": true, "5": true, "6": true}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let small = ["--data", Self.cifar, "--limit", "64", "--batch-size", "32"]
        let v3 = dir + "/v3", plain = dir + "/plain"
        let trained = try iprtool(["train", "--scheme", "v3", "--passport-config", config, "--trigger-set", Self.triggerSet,
                                   "--trigger-batch", "8", "--epochs", "1", "--sign-loss", "1", "--seed", "1", "--out", v3, "--quiet"] + small)
        #expect(trained.status == 0, "\(trained.stderr)")
        let history = try String(contentsOfFile: v3 + "/history.csv", encoding: .utf8)
        #expect(history.hasPrefix("epoch,") && history.split(separator: "\n")[0].hasSuffix(",trigger_acc"))
        #expect(history.split(separator: "\n")[0].contains(",passport_acc,"))   // the passport path beside the public test_acc
        let plainRun = try iprtool(["train", "--epochs", "1", "--seed", "2", "--out", plain, "--quiet"] + small)
        #expect(plainRun.status == 0, "\(plainRun.stderr)")
        let released = dir + "/v3-public.safetensors"
        #expect(try iprtool(["release", "--checkpoint", v3 + "/last.safetensors", "--out", released]).status == 0)

        // Black-box only, on the released file: one epoch has not taught the triggers yet.
        let blackbox = try iprtool(["verify", "--checkpoint", released, "--trigger-set", Self.triggerSet, "--json"])
        #expect(blackbox.status == 1)
        let bb = try json(blackbox)
        let trigger = try #require(bb["trigger"] as? [String: Any])
        #expect(bb["verdict"] as? String == "not-verified" && bb["whitebox"] == nil && bb["signature"] == nil)
        #expect(trigger["total"] as? Int == 100 && trigger["classes"] as? Int == 10)
        let matched = try #require(trigger["matched"] as? Int)
        #expect(trigger["accuracy"] as? Double == Double(matched) / 100)
        #expect((trigger["pValue"] as? Double).map { Swift.abs($0 - binomialTailReference(matched)) < 1e-9 * max($0, 1e-300) } == true)
        #expect(((bb["blackbox"] as? [String: Any])?["reasons"] as? [String])?.first?.hasPrefix("FAIL: trigger accuracy") == true)

        // Both stages: white-box passes, black-box fails, so the claim as a whole does not.
        let both = try iprtool(["verify", "--checkpoint", released, "--passport", v3 + "/passport.safetensors",
                                "--trigger-set", Self.triggerSet, "--null-models", plain + "/last.safetensors",
                                "--max-accuracy-drop", "1", "--null-samples", "199", "--forged-samples", "1", "--json"] + small)
        #expect(both.status == 1)
        let report = try json(both)
        #expect((report["whitebox"] as? [String: Any])?["verdict"] as? String == "verified", "\(report["whitebox"] ?? "")")
        #expect((report["blackbox"] as? [String: Any])?["verdict"] as? String == "not-verified")
        #expect(report["verdict"] as? String == "not-verified")
        #expect(report["scheme"] as? String == "v3" && report["signature"] != nil)
        #expect(((report["trigger"] as? [String: Any])?["nullAccuracies"] as? [Double])?.count == 1)
        let text = try iprtool(["verify", "--checkpoint", released, "--passport", v3 + "/passport.safetensors",
                                "--trigger-set", Self.triggerSet, "--max-accuracy-drop", "1", "--null-samples", "19",
                                "--forged-samples", "0"] + small)
        let stages = text.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }
        #expect(stages.count == 3 && stages[0].hasPrefix("black-box stage") && stages[1].hasPrefix("white-box stage")
                && stages[2] == "verdict: not-verified (black-box and white-box)", "\(text.stdout)")

        // The plain backdoor watermark trains too, and any checkpoint can be checked black-box.
        let backdoor = try iprtool(["train", "--scheme", "backdoor", "--trigger-set", Self.triggerSet, "--epochs", "1",
                                    "--out", dir + "/backdoor", "--quiet"] + small)
        #expect(backdoor.status == 0, "\(backdoor.stderr)")
        let plainCheck = try iprtool(["verify", "--checkpoint", dir + "/backdoor/last.safetensors", "--trigger-set", Self.triggerSet])
        #expect(plainCheck.status == 1 && plainCheck.stdout.hasPrefix("verdict: not-verified (trigger set "), "\(plainCheck.stdout)")
    }

    @Test func watermarkInputErrorsNameTheFile() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/pics", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let small = ["--data", Self.cifar, "--limit", "32", "--batch-size", "32", "--epochs", "1", "--quiet"]
        #expect(try iprtool(["train", "--out", dir + "/alex"] + small).status == 0)
        #expect(try iprtool(["train", "--model", "resnet9", "--out", dir + "/resnet"] + small).status == 0)
        let suspect = dir + "/alex/last.safetensors"

        let neither = try iprtool(["verify", "--checkpoint", suspect])
        #expect(neither.status == 64 && neither.stderr.contains("--passport FILE (white-box), --trigger-set DIR (black-box)"))
        let otherArch = try iprtool(["verify", "--checkpoint", suspect, "--trigger-set", Self.triggerSet,
                                     "--null-models", dir + "/resnet/last.safetensors"])
        #expect(otherArch.status != 0 && otherArch.stderr.contains("null model \(dir)/resnet/last.safetensors is resnet9")
                && otherArch.stderr.contains("the suspect \(suspect) is alexnet"))
        // A trigger set labelled for 100 classes against this 10-class model.
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.triggerSet + "/pics").sorted().prefix(2)
        for n in names { try FileManager.default.copyItem(atPath: Self.triggerSet + "/pics/" + n, toPath: dir + "/pics/" + n) }
        try "3\n77\n".write(toFile: dir + "/labels-cifar.txt", atomically: true, encoding: .utf8)
        try (0..<100).map { "c\($0)" }.joined(separator: "\n").write(toFile: dir + "/classes.txt", atomically: true, encoding: .utf8)
        let classes = try iprtool(["verify", "--checkpoint", suspect, "--trigger-set", dir])
        #expect(classes.status != 0 && classes.stderr.contains("trigger set \(dir) has labels for 100 classes, but \(suspect) has 10"))
        try FileManager.default.removeItem(atPath: dir + "/classes.txt")
        let range = try iprtool(["verify", "--checkpoint", suspect, "--trigger-set", dir])
        #expect(range.status != 0 && range.stderr.contains("labels-cifar.txt:2") && range.stderr.contains("0..<10"))
        let noTriggers = try iprtool(["train", "--scheme", "v3", "--passport-config", "x.json", "--out", dir + "/v3"] + small)
        #expect(noTriggers.status == 64 && noTriggers.stderr.contains("--scheme v3 needs --trigger-set DIR"))
        let stray = try iprtool(["train", "--trigger-set", Self.triggerSet, "--out", dir + "/x"] + small)
        #expect(stray.status == 64 && stray.stderr.contains("--trigger-set needs --scheme v3 or backdoor"))
    }

    @Test func attacksAreListedRunAndWriteTheirFiles() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let small = ["--data", Self.cifar, "--limit", "64", "--batch-size", "32"]
        func train(_ config: String, out: String) throws {
            let file = dir + "/\((out as NSString).lastPathComponent).json"
            try config.write(toFile: file, atomically: true, encoding: .utf8)
            let run = try iprtool(["train", "--scheme", "v2", "--passport-config", file, "--epochs", "1", "--sign-loss", "1",
                                   "--out", out, "--quiet"] + small)
            #expect(run.status == 0, "\(run.stderr)")
        }
        try train(#"{"4": true, "5": true, "6": true}"#, out: dir + "/v2")
        try train(#"{"6": true}"#, out: dir + "/other")

        let list = try iprtool(["attacks"])
        #expect(list.status == 0 && ["prune", "flip", "fake1"].allSatisfy { list.stdout.contains($0) } && list.stdout.contains("--option levels=") && list.stdout.contains("\nchannel-prune "))
        let base = ["--checkpoint", dir + "/v2/last.safetensors", "--passport", dir + "/v2/passport.safetensors", "--null-samples", "99", "--quiet"] + small
        let out = dir + "/prune"
        let prune = try iprtool(["attack", "prune", "--levels", "0,0.5,1", "--out", out, "--json"] + base)
        #expect(prune.status == 0, "\(prune.stderr)")
        let report = try json(prune)
        #expect(report["attack"] as? String == "prune" && (report["steps"] as? [Any])?.count == 3)
        for file in ["report.json", "steps.csv", "plot.png", "plot.svg", "model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing")
        }
        #expect(try iprtool(["evaluate", "--checkpoint", out + "/model.safetensors"] + small).status == 0)

        let finetune = try iprtool(["attack", "ftll", "--attacker-data", Self.cifar, "--attacker-limit", "32", "--option", "epochs=1",
                                    "--out", dir + "/ftll", "--json"] + base)
        #expect(finetune.status == 0, "\(finetune.stderr)")
        #expect(try json(finetune)["levelMeaning"] as? String == "epoch of fine-tuning")

        let audit = try iprtool(["audit", "--attacks", "fake1", "--out", dir + "/audit"] + base)
        #expect(audit.status == 0 && audit.stdout.contains("| fake1 |") && audit.stdout.contains("claim "), "\(audit.stdout)\(audit.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/audit/audit.json") && FileManager.default.fileExists(atPath: dir + "/audit/fake1/report.json"))
        let resumed = try iprtool(["audit", "--attacks", "fake1", "--resume", "--out", dir + "/audit"] + base)
        #expect(resumed.status == 0 && resumed.stdout.contains("| fake1 (resumed) |"))
        let badSuite = try iprtool(["audit", "--attacks", "prune,erase", "--out", dir + "/x"] + base)
        #expect(badSuite.status == 64 && badSuite.stderr.contains("unknown attack 'erase'"))

        let unknown = try iprtool(["attack", "erase", "--out", dir + "/x"] + base)
        #expect(unknown.status == 64 && unknown.stderr.contains("unknown attack 'erase'; known: cerb, channel-prune, distill, fake1, fake2, fake3, flip, forge, ftal, ftll, ierb, obfuscate, permute, prune, quantize, resave, rtal, rtll, widen"))
        let option = try iprtool(["attack", "prune", "--option", "epochs=3", "--out", dir + "/x"] + base)
        #expect(option.status != 0 && option.stderr.contains("attack 'prune' takes no option 'epochs'; it takes levels, save-level"))
        let fraction = try iprtool(["attack", "fake2", "--attacker-fraction", "1.5", "--out", dir + "/x"] + base)
        #expect(fraction.status == 64 && fraction.stderr.contains("--attacker-fraction must be in (0, 1]"))
        let level = try iprtool(["attack", "flip", "--levels", "0,2", "--out", dir + "/x"] + base)
        #expect(level.status != 0 && level.stderr.contains("must be comma-separated fractions in 0…1"))
        let wrong = try iprtool(["attack", "prune", "--checkpoint", dir + "/v2/last.safetensors", "--passport", dir + "/other/passport.safetensors",
                                 "--out", dir + "/x", "--quiet"] + small)
        #expect(wrong.status != 0 && wrong.stderr.contains("the passport covers"), "\(wrong.stderr)")

        // The thief's edits at once (filters pruned, dummy neurons, permuted and rescaled, re-saved under
        // module. in F16 without metadata): the file fits no architecture, and --reference aligns it.
        let obfuscated = try iprtool(["attack", "obfuscate", "--out", dir + "/obfuscate", "--json"] + base)
        let obfuscatedReport = try json(obfuscated)
        #expect(obfuscated.status == 0 && obfuscatedReport["ownerVerdict"] as? String == "verified", "\(obfuscated.stdout)\(obfuscated.stderr)")
        let claim = ["--passport", dir + "/v2/passport.safetensors", "--null-samples", "199", "--forged-samples", "0", "--max-accuracy-drop", "1"] + small
        let stolen = dir + "/obfuscate/model.safetensors"
        let aligned = try iprtool(["verify", "--checkpoint", stolen, "--reference", dir + "/v2/last.safetensors", "--json"] + claim)
        let alignedReport = try json(aligned)
        #expect(aligned.status == 0 && alignedReport["verdict"] as? String == "verified", "\(aligned.stdout)\(aligned.stderr)")
        let alignment = try #require(alignedReport["alignment"] as? [String: Any])
        #expect(alignment["isCopy"] as? Bool == true && (alignment["summary"] as? String)?.contains("missing") == true)
        #expect(((alignedReport["layers"] as? [[String: Any]])?.first?["unreadable"] as? Int).map { $0 > 0 } == true)
        let unaligned = try iprtool(["verify", "--checkpoint", stolen] + claim)
        #expect(unaligned.status != 0 && unaligned.stderr.contains("--reference"), "\(unaligned.stderr)")
    }
}

/// P(X ≥ k), X ~ Binomial(100, 0.1), summed directly (the tool computes it in log space).
func binomialTailReference(_ k: Int) -> Double {
    func choose(_ n: Int, _ r: Int) -> Double { (0..<r).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) } }
    return (k...100).reduce(0.0) { $0 + choose(100, $1) * pow(0.1, Double($1)) * pow(0.9, Double(100 - $1)) }
}
