import Foundation
import Testing
@testable import IPRTensor

@Suite struct ModuleTests {
    final class Block: Layer {
        let conv: Conv2d, bn: BatchNorm2d
        init(rng: inout RNG) { conv = Conv2d(3, 4, kernel: 3, bias: false, rng: &rng); bn = BatchNorm2d(4) }
        func visit(_ v: inout StateVisitor) { v.child("conv", conv); v.child("bn", bn) }
        func forward(_ x: Tensor, _ c: ForwardContext) -> Tensor { bn(conv(x, c), c).relu() }
    }

    @Test func stateDictNamesFollowPyTorch() {
        var rng = RNG(seed: 1)
        let net = Sequential([Block(rng: &rng), MaxPool2d(kernel: 2), Flatten(), Linear(4, 10, rng: &rng)])
        #expect(net.stateDict().names == [
            "0.conv.weight", "0.bn.weight", "0.bn.bias", "0.bn.running_mean", "0.bn.running_var",
            "0.bn.num_batches_tracked", "3.weight", "3.bias",
        ])
        #expect(net.namedParameters().map(\.name) == ["0.conv.weight", "0.bn.weight", "0.bn.bias", "3.weight", "3.bias"])
        #expect(net.stateDict()["0.bn.num_batches_tracked"]?.dtype == .i64)
    }

    @Test func stateDictRoundTripsThroughAFile() throws {
        var rng = RNG(seed: 2), rng2 = RNG(seed: 3)
        let a = Block(rng: &rng), b = Block(rng: &rng2)
        _ = a(Tensor.normal([2, 3, 5, 5], rng: &rng), .train)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-module-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(a.stateDict(metadata: ["arch": "block"]), to: path)
        let file = try SafeTensors.read(contentsOf: path)
        #expect(file.metadata["arch"] == "block")
        try b.load(file)
        #expect(b.conv.weight.array == a.conv.weight.array)
        #expect(b.bn.runningVar.array == a.bn.runningVar.array)
        #expect(b.bn.numBatchesTracked.value == 1)
        let x = Tensor.normal([1, 3, 5, 5], rng: &rng)
        #expect(a(x).array == b(x).array)
    }

    @Test func loadReportsEveryProblemAtOnceAndChangesNothing() throws {
        var rng = RNG(seed: 4)
        let net = Block(rng: &rng)
        let before = net.conv.weight.array
        var file = net.stateDict()
        file.set("conv.weight", SafeTensor(floats: [Float](repeating: 0, count: 4 * 3 * 2 * 2), shape: [4, 3, 2, 2]))
        file.set("extra.weight", SafeTensor(floats: [1], shape: [1]))
        var pruned = SafeTensorsFile()
        for n in file.names where n != "bn.bias" { pruned.set(n, file[n]!) }
        let error = try #require(throws: IPRTensorError.self) { try net.load(pruned, source: "ckpt.safetensors") }
        #expect(error.code == .stateDictMismatch)
        #expect(error.message.contains("ckpt.safetensors"))
        #expect(error.message.contains("size mismatch for 'conv.weight'"))
        #expect(error.message.contains("missing key 'bn.bias'"))
        #expect(error.message.contains("unexpected key 'extra.weight'"))
        #expect(net.conv.weight.array == before)
        // Non-strict loading tolerates missing and unexpected keys but not shape mismatches.
        file.set("conv.weight", SafeTensor(floats: before, shape: [4, 3, 3, 3]))
        try net.load(file, strict: false)
    }

    @Test func freezingExcludesParameters() {
        var rng = RNG(seed: 5)
        let net = Block(rng: &rng)
        net.setRequiresGrad(false) { $0.hasPrefix("conv") }
        #expect(net.trainableParameters().count == 2)
        let x = Tensor.normal([2, 3, 5, 5], rng: &rng)
        net(x, .train).sum().backward()
        #expect(net.conv.weight.grad == nil && net.bn.weight?.grad != nil)
    }

    @Test func trainAndEvalModes() {
        var rng = RNG(seed: 6)
        let bn = BatchNorm2d(2)
        let x = Tensor.normal([4, 2, 3, 3], mean: 5, std: 2, rng: &rng)
        let train = bn(x, .train)
        #expect(Swift.abs(train.mean().item) < 1e-4)      // batch statistics
        #expect(bn.runningMean.array.allSatisfy { Swift.abs($0 - 0.5) < 0.2 })  // 0.9·0 + 0.1·≈5
        let eval = bn(x, .eval)                           // running statistics: far from normalised
        #expect(eval.mean().item > 1)
        let drop = Dropout(p: 0.5, seed: 1)
        #expect(drop(x, .eval).array == x.array)
        #expect(drop(x, .train).array.filter { $0 == 0 }.count > 10)
    }
}

@Suite struct OptimTests {
    @Test func referenceLRScheduleFormat() throws {
        let json = #"{"epochs": 200, "type": "steps", "steps": [100, 150], "gamma": 0.1}"#
        let s = try LRSchedule.decode(Data(json.utf8), source: "default.json")
        #expect(s.epochs == 200)
        #expect(s.learningRate(base: 0.01, epoch: 0) == 0.01)
        #expect(Swift.abs(s.learningRate(base: 0.01, epoch: 100) - 0.001) < 1e-9)
        #expect(Swift.abs(s.learningRate(base: 0.01, epoch: 199) - 0.0001) < 1e-9)
        for bad in [#"{"epochs": 10, "type": "cosine", "steps": [], "gamma": 0.1}"#, #"{"epochs": 10}"#,
                    #"{"epochs": 10, "type": "steps", "steps": [5, 2], "gamma": 0.1}"#, "not json"] {
            let e = try #require(throws: IPRTensorError.self) { try LRSchedule.decode(Data(bad.utf8), source: "bad.json") }
            #expect(e.code == .invalidConfiguration && e.message.hasPrefix("bad.json"))
        }
    }

    @Test func sgdLowersALossAndSkipsFrozen() {
        var rng = RNG(seed: 7)
        let model = Linear(4, 3, rng: &rng)
        let x = Tensor.normal([16, 4], rng: &rng)
        let labels = (0..<16).map { $0 % 3 }
        let opt = SGD(parameters: model.trainableParameters(), learningRate: 0.5, momentum: 0.9)
        var first: Float = 0, last: Float = 0
        for step in 0..<30 {
            opt.zeroGrad()
            let loss = crossEntropy(model(x, .train), labels: labels)
            loss.backward()
            opt.step()
            if step == 0 { first = loss.item }
            last = loss.item
        }
        #expect(last < first * 0.8)
        #expect(opt.momentumBuffer(for: model.weight) != nil)
    }
}

@Suite struct RegistryTests {
    @Test func lookupAndUnknownNames() throws {
        let r = Registry<(Int) -> Int>(kind: "widget")
        r.register("double", description: "twice the input") { $0 * 2 }
        r.register("square", description: "the input squared") { $0 * $0 }
        #expect(try r.lookup("square")(3) == 9)
        #expect(r.names == ["double", "square"])
        #expect(r.all.map(\.description) == ["twice the input", "the input squared"])
        let e = try #require(throws: IPRTensorError.self) { try r.lookup("cube") }
        #expect(e.code == .unknownName && e.message.contains("unknown widget 'cube'") && e.message.contains("double, square"))
    }
}

@Suite struct InitTests {
    @Test func kaimingNormalFanOutAndPyTorchDefaults() {
        var rng = RNG(seed: 8)
        let w = Tensor.zeros([64, 32, 3, 3])
        Init.kaimingNormalFanOut(w, rng: &rng)
        let std = w.pow(2).mean().sqrt().item, expected = (2 / Float(64 * 9)).squareRoot()
        #expect(Swift.abs(std - expected) / expected < 0.03)
        let conv = Conv2d(32, 16, kernel: 3, rng: &rng)
        let bound = 1 / Float(32 * 9).squareRoot()
        #expect(conv.weight.array.allSatisfy { Swift.abs($0) <= bound })
        #expect(conv.weight.array.map { Swift.abs($0) }.max()! > bound * 0.95)   // fills the interval
        #expect(conv.bias!.array.allSatisfy { Swift.abs($0) <= bound })
        let fc = Linear(100, 10, rng: &rng)
        #expect(fc.weight.array.allSatisfy { Swift.abs($0) <= 0.1 })
        var again = RNG(seed: 8)
        let w2 = Tensor.zeros([64, 32, 3, 3])
        Init.kaimingNormalFanOut(w2, rng: &again)
        #expect(w2.array == w.array)
    }
}
