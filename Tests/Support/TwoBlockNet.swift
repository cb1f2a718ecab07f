import IPRModels
import IPRTensor

/// A two-block network small enough to train in a debug build: a plain stem and one block a passport
/// config can flag ("block"). The passport layer needs many input channels: γ of a uniform passport
/// depends on little more than its per-channel means, so with 8 channels one random passport in ten
/// reproduced all 64 signature bits (in AlexNet's passport layers, 192 to 384).
public final class TwoBlockNet: Layer {
    let stem: any Layer, block: any Layer, fc: Linear
    public init(_ c: ModelConfig, _ blocks: any ConvBlockFactory, _ rng: inout RNG) throws {
        stem = try blocks.makeBlock(ConvBlockSpec(path: "stem", inChannels: 3, outChannels: 48, kernel: 3, norm: c.norm,
                                                  inputHeight: c.inputSize, inputWidth: c.inputSize), rng: &rng)
        block = try blocks.makeBlock(ConvBlockSpec(path: "block", inChannels: 48, outChannels: 64, kernel: 3, norm: c.norm,
                                                   inputHeight: c.inputSize, inputWidth: c.inputSize), rng: &rng)
        fc = Linear(64, c.classes, rng: &rng)
    }
    public func visit(_ v: inout StateVisitor) { v.child("stem", stem); v.child("block", block); v.child("fc", fc) }
    public func forward(_ x: Tensor, _ ctx: ForwardContext) -> Tensor {
        fc(adaptiveAvgPool2d(block(stem(x, ctx), ctx), outputSize: (1, 1)).flatten(), ctx)
    }

    /// Registers it as "twoblocknet" (idempotent), so checkpoints of it load by name, with its
    /// channel graph, so copies of it align.
    public static let registered: Void = {
        Models.registry.register("twoblocknet", description: "test-only two-block net") { c, b, rng in try TwoBlockNet(c, b, &rng) }
        ChannelGraph.registry.register("twoblocknet", description: "stem, block, fc") { _ in
            ChannelGraph(layers: [.init(path: "stem", input: ChannelGraph.input, output: "stem"), .init(path: "block", input: "stem", output: "block"),
                                  .init(path: "fc", input: "block", output: ChannelGraph.logits, normalised: false)])
        }
    }()
}

/// Two classes told apart by the sign of the red channel's mean, offset so that batch statistics matter.
public func redSignData(count: Int, seed: UInt64) -> InMemoryBatches {
    var rng = RNG(seed: seed)
    let images = Tensor.normal([count, 3, 8, 8], rng: &rng)
    let labels = (0..<count).map { $0 % 2 }
    for (i, l) in labels.enumerated() { for k in 0..<64 { images.pointer[i * 192 + k] += (l == 1 ? 1.5 : -1.5) + 2 } }
    return InMemoryBatches(images: images, labels: labels, batchSize: 16, shuffleSeed: seed)
}
