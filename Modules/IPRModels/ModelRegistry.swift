import IPRTensor

/// What every architecture is built from: the task's shape and the norm.
public struct ModelConfig: Sendable, Equatable, Codable {
    public var classes: Int
    public var inputSize: Int
    public var norm: NormKind
    public init(classes: Int, inputSize: Int = 32, norm: NormKind = .bn) {
        self.classes = classes; self.inputSize = inputSize; self.norm = norm
    }
}

/// Builds a model from a config, asking `blocks` for every conv block.
public typealias ModelFactory = (_ config: ModelConfig, _ blocks: any ConvBlockFactory, _ rng: inout RNG) throws -> any Layer

/// The architectures by name. Built-ins are registered here; a user's architecture registers the
/// same way (`Models.registry.register("mynet", description: "…") { config, blocks, rng in … }`).
public enum Models {
    public static let registry: Registry<ModelFactory> = {
        let r = Registry<ModelFactory>(kind: "model")
        r.register("alexnet", description: "AlexNet (5 conv blocks; 32×32 or 224×224 input), as in DeepIPR") { c, b, rng in
            try AlexNet(classes: c.classes, inputSize: c.inputSize, norm: c.norm, blocks: b, rng: &rng)
        }
        r.register("resnet18", description: "ResNet-18 (2 basic blocks per stage), as in DeepIPR") { c, b, rng in
            try ResNet.resnet18(classes: c.classes, inputSize: c.inputSize, norm: c.norm, blocks: b, rng: &rng)
        }
        r.register("resnet9", description: "ResNet-9 (1 basic block per stage), as in DeepIPR") { c, b, rng in
            try ResNet.resnet9(classes: c.classes, inputSize: c.inputSize, norm: c.norm, blocks: b, rng: &rng)
        }
        return r
    }()

    /// Builds the registered model `name`.
    public static func make(_ name: String, config: ModelConfig, blocks: any ConvBlockFactory = PlainBlockFactory(),
                            seed: UInt64) throws -> any Layer {
        var rng = RNG(seed: seed)
        return try registry.lookup(name)(config, blocks, &rng)
    }
}
