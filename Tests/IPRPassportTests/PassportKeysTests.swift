import Foundation
import Testing
import IPRModels
import IPRTensor
@testable import IPRPassport

@Suite struct PassportKeysTests {
    @Test func shuffleTakesChannelKFromImageKModNWithoutReuse() {
        // Image i, channel j holds the constant 100·i + j, so every output channel names its source.
        let (n, c) = (4, 10)
        let x = Tensor.zeros([n, c, 2, 2])
        for i in 0..<n { for j in 0..<c { for p in 0..<4 { x.pointer[(i * c + j) * 4 + p] = Float(100 * i + j) } } }
        var rng = RNG(seed: 1)
        let passport = PassportKeys.shuffle(x, rng: &rng)
        #expect(passport.shape == [1, c, 2, 2])
        let sources = (0..<c).map { Int(passport.pointer[$0 * 4]) }
        #expect(sources.enumerated().allSatisfy { k, s in s / 100 == k % n })
        #expect(Set(sources).count == c)
        var again = RNG(seed: 1)
        #expect(PassportKeys.shuffle(x, rng: &again).array == passport.array)

        let rgb = Tensor.normal([5, 3, 2, 2], rng: &rng)
        let first = PassportKeys.shuffle(rgb, rng: &rng)
        #expect((0..<5).contains { i in rgb.narrow(dim: 0, start: i, length: 1).array == first.array })
    }

    @Test func imageKeysAreActivationsOfThePretrainedNetwork() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-keys-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = ModelConfig(classes: 10)
        let plain = try Models.make("alexnet", config: config, seed: 3)
        try Checkpoint.save(plain, info: CheckpointInfo(arch: "alexnet", config: config, dataset: "cifar10", mean: [], std: []),
                            to: dir + "/plain.safetensors")
        let passports = try PassportConfig.parse(#"{"2": true, "4": true}"#)
        let (model, _) = try PassportBlockFactory.makeModel("alexnet", config: config, scheme: .v1, passports: passports, seed: 4, passportSeed: 4)
        var rng = RNG(seed: 5)
        let a = Tensor.normal([20, 3, 32, 32], rng: &rng), b = Tensor.normal([20, 3, 32, 32], rng: &rng)
        try PassportKeys.install(.image, into: model, pretrained: dir + "/plain.safetensors", scaleImages: a, biasImages: b, seed: 6)
        // features.2's input is features.0 → max-pool of the first image.
        let expected = noGrad {
            let first = (plain as! AlexNet).features.layers[0](a.narrow(dim: 0, start: 0, length: 1), .eval)
            return maxPool2d(first, kernel: 2)
        }
        let layer = try #require(passportLayers(in: model).first)
        #expect(layer.skey.array == expected.array)
        // New passports, new signature: the bits follow the keys (a committed signature).
        #expect(SignatureCommitment.check(try Passport.extract(from: model)).passed)
        let randomKeysBits = try PassportBlockFactory.makeModel("alexnet", config: config, scheme: .v1, passports: passports, seed: 4, passportSeed: 4)
        #expect(passportLayers(in: randomKeysBits.model).first?.b.array != layer.b.array)
        try PassportKeys.install(.shuffle, into: model, pretrained: dir + "/plain.safetensors", scaleImages: a, biasImages: b, seed: 6)
        #expect(layer.skey.array != expected.array && layer.key.shape == [1, 64, 16, 16])
        #expect(SignatureCommitment.check(try Passport.extract(from: model)).passed)
    }
}
