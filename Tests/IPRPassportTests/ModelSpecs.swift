import Foundation
import IPRModels
import IPRTensor
import Testing

/// Records every conv block an architecture asks for, so tests see the real model's block paths
/// and shapes rather than a hand-written list. Only the specs matter here, so each block is a
/// parameter-free stand-in (building ResNet-18's conv weights in a debug build takes seconds).
final class SpecRecorder: ConvBlockFactory {
    var specs: [ConvBlockSpec] = []
    func makeBlock(_ spec: ConvBlockSpec, rng: inout RNG) throws -> any Layer {
        specs.append(spec)
        return ReLU()
    }
}

/// The conv blocks of the real architectures, in the order the models build them.
enum ModelSpecs {
    private static let alexnet32 = Result { try recordAlexNet(inputSize: 32) }
    private static let resnet18At32 = Result { try recordResNet18(inputSize: 32) }

    static func alexnet(inputSize: Int = 32) throws -> [ConvBlockSpec] {
        inputSize == 32 ? try alexnet32.get() : try recordAlexNet(inputSize: inputSize)
    }

    static func resnet18(inputSize: Int = 32) throws -> [ConvBlockSpec] {
        inputSize == 32 ? try resnet18At32.get() : try recordResNet18(inputSize: inputSize)
    }

    private static func recordAlexNet(inputSize: Int) throws -> [ConvBlockSpec] {
        let recorder = SpecRecorder()
        var rng = RNG(seed: 1)
        _ = try AlexNet(classes: 10, inputSize: inputSize, blocks: recorder, rng: &rng)
        return recorder.specs
    }

    private static func recordResNet18(inputSize: Int) throws -> [ConvBlockSpec] {
        let recorder = SpecRecorder()
        var rng = RNG(seed: 2)
        _ = try ResNet.resnet18(classes: 10, inputSize: inputSize, blocks: recorder, rng: &rng)
        return recorder.specs
    }

    static func resnet9(inputSize: Int = 32) throws -> [ConvBlockSpec] {
        let recorder = SpecRecorder()
        var rng = RNG(seed: 3)
        _ = try ResNet.resnet9(classes: 10, inputSize: inputSize, blocks: recorder, rng: &rng)
        return recorder.specs
    }
}

/// The reference's passport configs, checked in byte for byte under `Fixtures/passport_configs/`.
enum PassportFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/passport_configs")
    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }
}
