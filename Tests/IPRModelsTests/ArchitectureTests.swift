import Testing
import IPRTensor
@testable import IPRModels

/// Records every block an architecture asks for, and builds plain ones.
final class RecordingFactory: ConvBlockFactory {
    var specs: [ConvBlockSpec] = []
    func makeBlock(_ spec: ConvBlockSpec, rng: inout RNG) throws -> any Layer {
        specs.append(spec)
        return ConvBlock(spec, rng: &rng)
    }
}

@Suite struct ArchitectureTests {
    @Test func alexnetCIFARStateDictNames() throws {
        let model = try Models.make("alexnet", config: ModelConfig(classes: 10), seed: 1)
        var expected: [String] = []
        for i in [0, 2, 4, 5, 6] {
            expected += ["conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
                .map { "features.\(i).\($0)" }
        }
        expected += ["classifier.weight", "classifier.bias"]
        #expect(model.stateDict().names == expected)
        #expect(model.stateDict()["classifier.weight"]?.shape == [10, 4096])
        let logits = model(Tensor.zeros([2, 3, 32, 32]), .eval)
        #expect(logits.shape == [2, 10])
    }

    @Test func normKindsNameTheirLayerBnAsTheReferenceDoes() throws {
        let none = try Models.make("alexnet", config: ModelConfig(classes: 10, norm: .none), seed: 1).stateDict().names
        #expect(none.prefix(3) == ["features.0.conv.weight", "features.0.conv.bias", "features.2.conv.weight"])
        let gn = try Models.make("alexnet", config: ModelConfig(classes: 10, norm: .gn), seed: 1).stateDict()
        #expect(gn["features.0.bn.weight"]?.shape == [64])
        #expect(gn["features.0.conv.bias"] == nil)
        let inorm = try Models.make("alexnet", config: ModelConfig(classes: 10, norm: .in), seed: 1).stateDict().names
        #expect(!inorm.contains { $0.contains(".bn.") })   // InstanceNorm2d: no affine, no running statistics
    }

    @Test func resnet18SeamSeesEveryBlockWithItsInputSize() throws {
        let factory = RecordingFactory()
        var rng = RNG(seed: 2)
        let model = try ResNet.resnet18(classes: 10, blocks: factory, rng: &rng)
        #expect(factory.specs.count == 1 + 8 * 2 + 3)   // stem, 2 convs per block, 3 shortcuts
        let byPath = Dictionary(uniqueKeysWithValues: factory.specs.map { ($0.path, $0) })
        #expect(byPath["convbnrelu_1"]?.inputHeight == 32)
        #expect(byPath["layer2.0.convbnrelu_1"]?.stride == 2)
        #expect(byPath["layer4.0.convbnrelu_1"]?.inputHeight == 8)
        #expect(byPath["layer4.0.convbn_2"]?.inputHeight == 4)
        #expect(byPath["layer4.1.convbn_2"]?.inputHeight == 4)
        #expect(byPath["layer4.0.shortcut"]?.kernel == 1)
        #expect(byPath["layer1.0.shortcut"] == nil)
        let names = model.stateDict().names
        #expect(names.first == "convbnrelu_1.conv.weight")
        #expect(names.contains("layer4.0.shortcut.bn.running_var"))
        #expect(names.suffix(2) == ["linear.weight", "linear.bias"])
        #expect(model(Tensor.zeros([1, 3, 32, 32]), .eval).shape == [1, 10])
    }

    @Test func alexnetSeamPathsMatchThePassportConfig() throws {
        let factory = RecordingFactory()
        var rng = RNG(seed: 3)
        _ = try AlexNet(classes: 10, blocks: factory, rng: &rng)
        #expect(factory.specs.map(\.path) == ["features.0", "features.2", "features.4", "features.5", "features.6"])
        #expect(factory.specs.map(\.inputHeight) == [32, 16, 8, 8, 8])
    }

    @Test func imagenetVariants() throws {
        let resnet = try Models.make("resnet9", config: ModelConfig(classes: 5, inputSize: 224), seed: 4)
        #expect(resnet.stateDict().names.first == "convbnrelu_1.0.conv.weight")
        #expect(resnet(Tensor.zeros([1, 3, 224, 224]), .eval).shape == [1, 5])
        let factory = RecordingFactory()
        var rng = RNG(seed: 5)
        let alex = try AlexNet(classes: 7, inputSize: 224, blocks: factory, rng: &rng)
        #expect(factory.specs.map(\.inputHeight) == [224, 27, 13, 13, 13])
        let names = alex.stateDict().names
        #expect(names.suffix(6) == ["classifier.1.weight", "classifier.1.bias", "classifier.4.weight", "classifier.4.bias",
                                    "classifier.6.weight", "classifier.6.bias"])
    }

    @Test func registryListsBuiltInsAndRejectsUnknownNames() throws {
        #expect(Set(["alexnet", "resnet18", "resnet9"]).isSubset(of: Models.registry.names))   // tests may add their own
        let error = try #require(throws: IPRTensorError.self) { try Models.make("vgg", config: ModelConfig(classes: 10), seed: 1) }
        #expect(error.message.contains("unknown model 'vgg'"))
        #expect(throws: IPRTensorError.self) { try Models.make("alexnet", config: ModelConfig(classes: 10, inputSize: 30), seed: 1) }
    }

    @Test func convBlockInitIsKaimingFanOut() throws {
        var rng = RNG(seed: 6)
        let block = ConvBlock(ConvBlockSpec(path: "b", inChannels: 64, outChannels: 32, kernel: 3, norm: .bn,
                                            inputHeight: 8, inputWidth: 8), rng: &rng)
        let std = block.conv.weight.pow(2).mean().sqrt().item
        #expect(Swift.abs(std - (2 / Float(32 * 9)).squareRoot()) < 0.002)
    }
}

@Suite struct InferenceInPlaceTests {
    /// In-place inference (no graph) must compute exactly what the recorded forward pass computes.
    @Test func noGradForwardEqualsRecordedForward() throws {
        for arch in ["resnet9", "alexnet"] {
            let model = try Models.make(arch, config: ModelConfig(classes: 10), seed: 7)
            var rng = RNG(seed: 8)
            let x = Tensor.normal([2, 3, 32, 32], rng: &rng)
            let recorded = model(x, .eval)          // parameters require grad: a graph is recorded
            #expect(recorded.requiresGrad)
            let inference = noGrad { model(x, .eval) }
            #expect(recorded.array == inference.array, "\(arch)")
        }
    }
}
