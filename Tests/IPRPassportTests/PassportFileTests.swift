import Foundation
import Testing
import IPRModels
import IPRTensor
@testable import IPRPassport

@Suite struct PassportFileTests {
    let config = try! PassportConfig.parse(#"{"0": false, "2": false, "4": true, "5": true, "6": "me"}"#, source: "test.json")

    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ipr-passport-\(UUID())-\(name)").path
    }

    @Test func factoryBuildsPassportLayersWhereTheConfigSays() throws {
        for scheme in Scheme.allCases {
            let (model, factory) = try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: scheme,
                                                                      passports: config, seed: 1, passportSeed: 1)
            let paths = model.namedModules().filter { $0.module is any PassportLayer }.map(\.path)
            #expect(paths == ["features.4", "features.5", "features.6"])
            #expect(try factory.signatureTexts() == ["features.6": "me"])
            let names = model.stateDict().names
            #expect(names.contains(scheme == .v1 ? "features.4.skey" : "features.4.skey_private"))
        }
        let wrong = try PassportConfig.parse(#"{"9": true}"#, source: "wrong.json")
        let e = try #require(throws: IPRPassportError.self) {
            try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: .v1, passports: wrong, seed: 1, passportSeed: 1)
        }
        #expect(e.code == .unknownLayer && e.message.contains("'9'"))
    }

    /// The passport is the secret and the training seed is not: the same weights' seed with another
    /// passport seed gives the same weights and other passports and signature, and the passport
    /// seed alone rebuilds them.
    @Test func passportsComeFromTheirOwnSeedNotTheWeights() throws {
        func build(_ seed: UInt64, _ passportSeed: UInt64) throws -> (weights: [Float], passport: Passport) {
            let (model, _) = try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: .v1,
                                                                passports: config, seed: seed, passportSeed: passportSeed)
            let weights = model.namedParameters().filter { $0.name.hasSuffix("conv.weight") }.flatMap { $0.tensor.array }
            return (weights, try Passport.extract(from: model))
        }
        let owner = try build(1, 100), thief = try build(1, 101), again = try build(2, 100)
        #expect(owner.weights == thief.weights && owner.weights != again.weights)
        for (o, t) in zip(owner.passport.layers, thief.passport.layers) {
            #expect(o.key.array != t.key.array && o.skey.array != t.skey.array)
        }
        let random = zip(owner.passport.layers, thief.passport.layers).filter { $0.0.path != "features.6" }
        #expect(random.contains { $0.0.bits != $0.1.bits })
        for (o, a) in zip(owner.passport.layers, again.passport.layers) {
            #expect(o.key.array == a.key.array && o.skey.array == a.skey.array && o.bits == a.bits)
        }
    }

    @Test func passportFilesRoundTripWithOwnerOnlyPermissions() throws {
        let (model, _) = try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: .v2, passports: config, seed: 2, passportSeed: 2)
        var passport = try Passport.extract(from: model)
        passport.layers[2].text = "me"
        let path = temporaryPath("passport.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try passport.write(to: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let back = try Passport.read(path)
        #expect(back.scheme == .v2 && back.layers.map(\.path) == passport.layers.map(\.path))
        #expect(back.layers[2].text == "me" && back.layers[0].key.array == passport.layers[0].key.array)

        // Installing into another model of the same shape replaces its passports.
        let (other, _) = try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: .v2, passports: config, seed: 3, passportSeed: 3)
        try back.install(into: other)
        #expect(try Passport.extract(from: other).layers[1].skey.array == passport.layers[1].skey.array)
    }

    @Test func badPassportFilesAndMismatchesAreClearErrors() throws {
        let plain = temporaryPath("plain.safetensors")
        try SafeTensors.write(SafeTensorsFile(metadata: ["format": "something-else"]), to: plain)
        defer { try? FileManager.default.removeItem(atPath: plain) }
        let notPassport = try #require(throws: IPRPassportError.self) { try Passport.read(plain) }
        #expect(notPassport.code == .malformedPassportFile && notPassport.message.contains("not a passport file"))
        let absent = temporaryPath("absent/passport.safetensors")
        let missing = try #require(throws: IPRPassportError.self) { try Passport.read(absent) }
        #expect(missing.message.contains(absent))

        var incomplete = SafeTensorsFile(metadata: ["format": Passport.format, "scheme": "v1", "layers": "features.4"])
        incomplete.set("features.4.key", SafeTensor(floats: [0], shape: [1, 1, 1, 1]))
        let path = temporaryPath("incomplete.safetensors")
        try SafeTensors.write(incomplete, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let e = try #require(throws: IPRPassportError.self) { try Passport.read(path) }
        #expect(e.message.contains("features.4.skey"))

        // A passport of the wrong shape, or of the other scheme, does not install.
        let (v1, _) = try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: .v1, passports: config, seed: 4, passportSeed: 4)
        var passport = try Passport.extract(from: v1)
        passport.layers[0].key = Tensor.zeros([1, 3, 8, 8])
        let shape = try #require(throws: IPRPassportError.self) { try passport.install(into: v1) }
        #expect(shape.code == .shapeMismatch && shape.message.contains("features.4"))
        let (v2, _) = try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: .v2, passports: config, seed: 5, passportSeed: 5)
        #expect(throws: IPRPassportError.self) { try Passport.extract(from: v1).install(into: v2) }
    }
}

@Suite struct ReleaseTests {
    @Test func onlyV2ModelsAreReleasedAndReleasedFilesLoad() throws {
        let config = try PassportConfig.parse(#"{"4": true}"#)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-release-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for scheme in Scheme.allCases {
            let (model, factory) = try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: scheme,
                                                                      passports: config, seed: 1, passportSeed: 1)
            let info = CheckpointInfo(arch: "alexnet", config: ModelConfig(classes: 10), dataset: "cifar10", mean: [0, 0, 0],
                                      std: [1, 1, 1], extra: try PassportCheckpoint.metadata(scheme: scheme, factory: factory))
            let path = dir + "/\(scheme).safetensors", out = dir + "/\(scheme)-public.safetensors"
            try Checkpoint.save(model, info: info, to: path)
            let (loaded, _, loadedScheme) = try PassportCheckpoint.load(path)
            #expect(loadedScheme == scheme)
            var rng = RNG(seed: 2)
            let x = Tensor.normal([2, 3, 32, 32], rng: &rng)
            #expect(noGrad { loaded(x, .eval) }.array == noGrad { model(x, .eval) }.array)
            if scheme == .v1 {
                let e = try #require(throws: IPRPassportError.self) { try PassportCheckpoint.release(path, to: out) }
                #expect(e.message.contains("V1"))
            } else {
                try PassportCheckpoint.release(path, to: out)
                let names = try SafeTensors.read(contentsOf: out).names
                #expect(!names.contains { $0.contains("key_private") || $0.hasSuffix(".b") || $0.contains("bn_private") })
                let (public_, _, _) = try PassportCheckpoint.load(out)
                #expect(noGrad { public_(x, .eval) }.array == noGrad { model(x, .eval) }.array)
                // A released file with a tensor the scheme does not define (an attack's block inside a
                // passport layer) is structurally modified: an error naming it, not a model.
                var modified = try SafeTensors.read(contentsOf: out)
                modified.set("features.4.erb.w1", SafeTensor(floats: [Float](repeating: 0, count: 384 * 48), shape: [384, 48]))
                try SafeTensors.write(modified, to: dir + "/modified.safetensors")
                let e = try #require(throws: IPRTensorError.self) { _ = try PassportCheckpoint.load(dir + "/modified.safetensors") }
                #expect(e.message.contains("structurally modified") && e.message.contains("features.4.erb.w1"))
            }
        }
    }

    /// A thief's plain copy of a released V2 model (public γ, β moved into plain norms): it is a
    /// plain model to everyone, and the owner's claim reads it back into the passport layers and
    /// verifies it exactly as the released file. A V1 claim on a plain model is an error.
    @Test func aPlainCopyOfAReleasedModelIsReadBackIntoTheClaimsLayers() throws {
        let config = try PassportConfig.parse(#"{"4": true, "5": true}"#)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-plain-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, factory) = try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: .v2,
                                                                  passports: config, seed: 3, passportSeed: 3)
        // Give the public path γ, β of its own, so that moving them is visible.
        var rng = RNG(seed: 5)
        for layer in passportLayers(in: model) {
            let v2 = try #require(layer as? PassportPrivateBlock)
            v2.publicScale.assign(Tensor.normal(v2.publicScale.shape, rng: &rng))
            v2.publicBias.assign(Tensor.normal(v2.publicBias.shape, rng: &rng))
        }
        let info = CheckpointInfo(arch: "alexnet", config: ModelConfig(classes: 10), dataset: "cifar10", mean: [0, 0, 0], std: [1, 1, 1],
                                  extra: try PassportCheckpoint.metadata(scheme: .v2, factory: factory))
        try Checkpoint.save(model, info: info, to: dir + "/v2.safetensors")
        try PassportCheckpoint.release(dir + "/v2.safetensors", to: dir + "/public.safetensors")
        let released = try SafeTensors.read(contentsOf: dir + "/public.safetensors")
        var plainInfo = info
        for key in ["scheme", "passport_layers", "released"] { plainInfo.extra[key] = nil }
        // What the thief writes: the plain AlexNet's tensors, each passport layer's public γ, β as its norm's affine.
        var plain = SafeTensorsFile(metadata: plainInfo.metadata)
        let moved = ["features.4.scale": "features.4.bn.weight", "features.4.bias": "features.4.bn.bias",
                     "features.5.scale": "features.5.bn.weight", "features.5.bias": "features.5.bn.bias"]
        let plainNames = Set(try Models.make("alexnet", config: ModelConfig(classes: 10), seed: 0).stateDict().names)
        for name in released.names where plainNames.contains(moved[name] ?? name) { plain.set(moved[name] ?? name, released[name]!) }
        try SafeTensors.write(plain, to: dir + "/plain.safetensors")

        let x = Tensor.normal([2, 3, 32, 32], rng: &rng)
        let (asPlain, _, scheme) = try PassportCheckpoint.load(dir + "/plain.safetensors")
        #expect(scheme == nil)
        let publicOutput = noGrad { try! PassportCheckpoint.load(dir + "/public.safetensors").model(x, .eval) }.array
        #expect(noGrad { asPlain(x, .eval) }.array == publicOutput, "the plain copy computes the public path")
        let owner = try Passport.extract(from: model)
        let (readBack, readInfo, readScheme, fromPlain) = try PassportCheckpoint.load(dir + "/plain.safetensors", claimedBy: owner)
        #expect(readScheme == .v2 && fromPlain && readInfo.extra["released"] == "true")
        #expect(noGrad { readBack(x, .eval) }.array == publicOutput)
        try owner.install(into: readBack)
        #expect(noGrad { readBack(x, ForwardContext(training: false, path: 1)) }.array == noGrad { model(x, ForwardContext(training: false, path: 1)) }.array,
                "the private path through the claim's passport is the owner's")
        // A V1 claim reads the same file as a V1 network running on the γ, β it carries.
        var v1 = owner
        v1.scheme = .v1
        let (asV1, _, v1Scheme, _) = try PassportCheckpoint.load(dir + "/plain.safetensors", claimedBy: v1)
        #expect(v1Scheme == .v1 && noGrad { asV1(x, .eval) }.array == publicOutput)
    }
}
