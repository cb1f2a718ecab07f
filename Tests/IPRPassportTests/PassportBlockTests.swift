import Foundation
import Testing
import IPRModels
import IPRTensor
@testable import IPRPassport

/// Bits of a text, MSB first, 1 → +1 (the reference's encoding), padded with +1 for the test.
func bits(_ text: String, channels: Int) -> [Float] {
    var out: [Float] = []
    for byte in text.utf8 { for k in 0..<8 { out.append((byte >> UInt8(7 - k)) & 1 == 1 ? 1 : -1) } }
    while out.count < channels { out.append(out.count % 3 == 0 ? -1 : 1) }
    return out
}

func spec(_ c: Int = 3, _ o: Int = 16, size: Int = 6, norm: NormKind = .bn) -> ConvBlockSpec {
    ConvBlockSpec(path: "features.4", inChannels: c, outChannels: o, kernel: 3, padding: 1, norm: norm, inputHeight: size, inputWidth: size)
}

@Suite struct PassportBlockTests {
    @Test func stateDictNamesFollowTheReference() {
        var rng = RNG(seed: 1)
        let block = PassportBlock(spec(), signature: bits("hi", channels: 16), rng: &rng)
        #expect(block.stateDict().names == ["weight", "b", "key", "skey", "conv.weight", "sign_loss.b",
                                            "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"])
        #expect(block.namedParameters().map(\.name) == ["conv.weight"])   // the alias is not optimised twice
        #expect(block.key.shape == [1, 3, 6, 6] && block.skey.shape == [1, 3, 6, 6])
    }

    @Test func scaleAndBiasComeFromThePassportsThroughTheSameWeights() {
        var rng = RNG(seed: 2)
        let block = PassportBlock(spec(norm: .none), signature: bits("", channels: 16), rng: &rng)
        let manualGamma = noGrad { conv2d(block.skey, weight: block.conv.weight, padding: (1, 1)).mean(axes: [0, 2, 3]) }
        let gamma = noGrad { block.scale() }
        #expect(zip(gamma.array, manualGamma.array).allSatisfy { abs($0 - $1) < 1e-5 })
        let x = Tensor.normal([2, 3, 6, 6], rng: &rng)
        let y = noGrad { block(x, .eval) }
        let expected = noGrad {
            (conv2d(x, weight: block.conv.weight, padding: (1, 1)) * block.scale().reshape([1, 16, 1, 1])
                + block.bias().reshape([1, 16, 1, 1])).relu()
        }
        #expect(y.array == expected.array)
    }

    /// The null distribution's batched γ: row i is γ with passport i installed.
    @Test func batchedScalesEqualOnePassportAtATime() {
        var rng = RNG(seed: 8)
        let block = PassportBlock(spec(5, 12, size: 7), signature: bits("", channels: 12), rng: &rng)
        let passports = Tensor.uniform([4, 5, 7, 7], low: -1, high: 1, rng: &rng)
        let batched = noGrad { block.scales(of: passports) }
        #expect(batched.shape == [4, 12])
        for i in 0..<4 {
            block.skey.assign(noGrad { passports.indexSelect(dim: 0, indices: [i]) })
            let one = noGrad { block.scale() }.array
            #expect(zip(one, batched.array[(i * 12)..<((i + 1) * 12)]).allSatisfy { abs($0 - $1) < 1e-5 })
        }
    }

    @Test func gradientsReachWeightsInputAndPassports() {
        var rng = RNG(seed: 3)
        let block = PassportBlock(spec(2, 4, size: 4), signature: bits("", channels: 4), rng: &rng)
        var data = RNG(seed: 4)
        let x = Tensor.normal([3, 2, 4, 4], rng: &data)
        // Central differences through batch norm + ReLU kinks: a small step and a loose tolerance.
        checkGradients([x, block.conv.weight, block.key, block.skey]) { _ in
            let out = block(x, .train)
            return out + block.signLoss(of: block.scale())
        }
    }

    @Test func signLossEmbedsTheSignatureAndTheTrainerLogsIt() throws {
        var rng = RNG(seed: 5)
        let signature = bits("OK", channels: 16)
        let block = PassportBlock(spec(3, 16, size: 8), signature: signature, signLossRatio: 1, rng: &rng)
        let model = Sequential([block, AdaptiveAvgPool2d(1), Flatten(), Linear(16, 2, rng: &rng)])
        var data = RNG(seed: 6)
        let images = Tensor.normal([32, 3, 8, 8], rng: &data)
        let labels = (0..<32).map { $0 % 2 }
        let before = block.signAccuracy(of: noGrad { block.scale() })
        let sgd = SGD(parameters: model.trainableParameters(), learningRate: 0.05, momentum: 0.9)
        let objective = PassportObjective()
        var metrics: [String: Float] = [:]
        for _ in 0..<60 {
            sgd.zeroGrad()
            let step = objective.step(model: model, images: images, labels: labels)
            step.loss.backward()
            sgd.step()
            metrics = step.metrics
        }
        let gamma = noGrad { block.scale() }
        #expect(block.signAccuracy(of: gamma) == 1, "before training: \(before)")
        #expect(metrics["sign_acc"] == 1 && metrics["sign_loss"] != nil)
        // Read the text back from the signs of γ.
        let decoded = gamma.array.prefix(16).map { $0 > 0 ? 1 : 0 }
        let bytes = stride(from: 0, to: 16, by: 8).map { i in decoded[i..<i + 8].reduce(UInt8(0)) { $0 << 1 | UInt8($1) } }
        #expect(String(decoding: bytes, as: UTF8.self) == "OK")
        #expect(passportLayers(in: model).count == 1)
    }
}

/// Finite-difference check of Σ f(inputs) ⊙ R against autograd (see IPRTensorTests for the full helper).
func checkGradients(_ inputs: [Tensor], eps: Float = 1e-3, tolerance: Double = 3e-2,
                    sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor) {
    for t in inputs { t.grad = nil }
    let leaves = inputs.filter { !$0.requiresGrad }
    for t in leaves { t.requiresGrad = true }
    defer { for t in leaves { t.requiresGrad = false } }
    let probe = f(inputs)
    var rng = RNG(seed: 9)
    let projection = Tensor.normal(probe.shape, rng: &rng)
    (probe * projection).sum().backward()
    func objective() -> Double {
        noGrad { let out = f(inputs); return (0..<out.count).reduce(0.0) { $0 + Double(out.pointer[$1]) * Double(projection.pointer[$1]) } }
    }
    for (k, t) in inputs.enumerated() {
        guard let grad = t.grad else { Issue.record("input \(k) got no gradient", sourceLocation: sourceLocation); continue }
        var worst = 0.0
        for i in Array(rng.permutation(t.count).prefix(20)) {
            let saved = t.pointer[i]
            t.pointer[i] = saved + eps; let plus = objective()
            t.pointer[i] = saved - eps; let minus = objective()
            t.pointer[i] = saved
            let numeric = (plus - minus) / (2 * Double(eps)), analytic = Double(grad.pointer[i])
            worst = max(worst, abs(numeric - analytic) / max(1, abs(numeric), abs(analytic)))
        }
        #expect(worst <= tolerance, "input \(k): worst relative error \(worst)", sourceLocation: sourceLocation)
    }
}

@Suite struct PassportPrivateBlockTests {
    @Test func stateDictNamesAndPaths() {
        var rng = RNG(seed: 11)
        let block = PassportPrivateBlock(spec(), signature: bits("v2", channels: 16), rng: &rng)
        #expect(block.stateDict().names == ["weight", "scale", "bias", "b", "key_private", "skey_private", "conv.weight",
                                            "sign_loss_private.b", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
                                            "bn_private.running_mean", "bn_private.running_var", "bn_private.num_batches_tracked"])
        #expect(block.namedParameters().map(\.name) == ["scale", "bias", "conv.weight"])
        // What `release` leaves out is what the layer declares secret: the signature, the private
        // passports and the private path's statistics.
        #expect(block.secretStateNames() == ["b", "key_private", "skey_private", "sign_loss_private.b",
                                             "bn_private.running_mean", "bn_private.running_var", "bn_private.num_batches_tracked"])
        let x = Tensor.normal([4, 3, 6, 6], rng: &rng)
        let pub = noGrad { block(x, ForwardContext(training: true, path: 0)) }
        let priv = noGrad { block(x, ForwardContext(training: true, path: 1)) }
        #expect(pub.array != priv.array)
        // Each path updated only its own running statistics.
        let publicStats = (block.norm as! BatchNorm2d).numBatchesTracked.value
        let privateStats = (block.privateNorm as! BatchNorm2d).numBatchesTracked.value
        #expect(publicStats == 1 && privateStats == 1)
        let gn = PassportPrivateBlock(spec(3, 16, norm: .gn), signature: bits("", channels: 16), rng: &rng)
        #expect(!gn.stateDict().names.contains { $0.hasPrefix("bn_private") })
    }

    @Test func twoPathTrainingEmbedsTheSignatureAndKeepsBothPathsAccurate() {
        var rng = RNG(seed: 12)
        let block = PassportPrivateBlock(spec(3, 16, size: 8), signature: bits("V2", channels: 16), signLossRatio: 1, rng: &rng)
        let model = Sequential([block, AdaptiveAvgPool2d(1), Flatten(), Linear(16, 2, rng: &rng)])
        var data = RNG(seed: 13)
        let images = Tensor.normal([32, 3, 8, 8], rng: &data)
        let labels = (0..<32).map { $0 % 2 }
        for k in 0..<32 where labels[k] == 1 { for i in 0..<64 { images.pointer[k * 192 + i] += 2 } }
        let sgd = SGD(parameters: model.trainableParameters(), learningRate: 0.05, momentum: 0.9)
        var metrics: [String: Float] = [:]
        for _ in 0..<60 {
            sgd.zeroGrad()
            let step = PrivatePassportObjective().step(model: model, images: images, labels: labels)
            step.loss.backward()
            sgd.step()
            metrics = step.metrics
        }
        #expect(block.signAccuracy(of: noGrad { block.scale() }) == 1)
        #expect(metrics["sign_acc"] == 1)
        #expect((metrics["train_public_acc"] ?? 0) > 0.9)
        let publicLogits = noGrad { model(images, ForwardContext(training: false, path: 0)) }
        let accuracy = Double(zip(publicLogits.argmax(axis: 1), labels).filter { $0 == $1 }.count) / 32
        #expect(accuracy > 0.9, "public path in evaluation mode with its own statistics")
    }
}

@Suite struct SharedPrefixTests {
    /// Running the layers before the first passport layer once gives the same loss and gradients as
    /// two full passes.
    @Test func sharedPrefixEqualsTwoFullPasses() throws {
        let passports = try PassportConfig.parse(#"{"4": true, "5": true}"#)
        var rng = RNG(seed: 21)
        let x = Tensor.normal([4, 3, 32, 32], rng: &rng)
        let labels = [1, 2, 3, 4]
        var results: [(Float, [Float])] = []
        for share in [true, false] {
            let (model, _) = try PassportBlockFactory.makeModel("alexnet", config: ModelConfig(classes: 10), scheme: .v2,
                                                                passports: passports, seed: 22, passportSeed: 22)
            let step = PrivatePassportObjective(sharePrefix: share).step(model: model, images: x, labels: labels)
            step.loss.backward()
            let firstConv = try #require(model.namedParameters().first { $0.name == "features.0.conv.weight" }?.tensor)
            results.append((step.loss.item, firstConv.grad!.array))
        }
        #expect(abs(results[0].0 - results[1].0) < 1e-5)
        let diff = zip(results[0].1, results[1].1).map { abs($0 - $1) }.max()!
        let scale = results[1].1.map { abs($0) }.max()!
        #expect(diff <= 1e-4 * scale, "prefix gradient differs by \(diff) of \(scale)")
    }
}
