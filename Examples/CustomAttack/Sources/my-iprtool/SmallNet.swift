import IPRModels
import IPRTensor

/// Three conv blocks, each followed by 2× max-pooling, then a linear classifier: small enough to
/// train in seconds on the Fixtures images. Every conv block comes from `blocks`, so a passport
/// config (`smallnet_passport.json`) turns any of them into passport layers.
final class SmallNet: Layer {
    let features: Sequential
    let classifier: Linear

    init(_ config: ModelConfig, blocks: any ConvBlockFactory, rng: inout RNG) throws {
        let s = config.inputSize
        guard s % 8 == 0 else { throw IPRTensorError(.invalidConfiguration, "smallnet: input size must be a multiple of 8, got \(s)") }
        var layers: [any Layer] = []
        for (i, (c, o)) in [(3, 32), (32, 64), (64, 128)].enumerated() {
            layers.append(try blocks.makeBlock(ConvBlockSpec(path: "features.\(2 * i)", inChannels: c, outChannels: o, kernel: 3,
                                                             norm: config.norm, inputHeight: s >> i, inputWidth: s >> i), rng: &rng))
            layers.append(MaxPool2d(kernel: 2))
        }
        features = Sequential(layers)
        classifier = Linear(128 * (s / 8) * (s / 8), config.classes, rng: &rng)
    }

    func visit(_ v: inout StateVisitor) {
        v.child("features", features)
        v.child("classifier", classifier)
    }

    func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        classifier(context.run(features, x).flatten(), context)
    }
}
