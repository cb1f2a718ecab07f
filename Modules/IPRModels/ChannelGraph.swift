import IPRTensor

/// Which channels of an architecture are interchangeable: every layer with weights (a conv block or
/// a linear layer) reads the channels of one group and writes those of another. Permuting a group's
/// channels — every producer's outputs and every consumer's inputs alike — leaves the network's
/// function unchanged; that is the thief's cheapest edit (Yan et al., KDD 2023), and what
/// `ChannelAlignment` undoes. Groups `input` (the image's channels) and `logits` (the classes) are
/// fixed: they mean the same in every copy.
public struct ChannelGraph: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        /// State-dict prefix of the layer (`features.4`, `layer2.0.shortcut`, `classifier`).
        public var path: String
        /// The groups whose channels it reads and writes.
        public var input: String, output: String
        /// Input features per input channel: 1 for a convolution; for a linear layer after a flatten,
        /// the spatial positions each channel contributes (channel-major, as PyTorch flattens).
        public var positions: Int
        /// Whether a norm follows the layer: a positive scale of one output channel's weights then
        /// cancels (batch norm's statistics scale with it), so a thief may scale, and alignment undoes it.
        public var normalised: Bool

        public init(path: String, input: String, output: String, positions: Int = 1, normalised: Bool = true) {
            self.path = path; self.input = input; self.output = output; self.positions = positions; self.normalised = normalised
        }
    }

    public static let input = "input", logits = "logits"

    /// In an order where each layer's input group is written by an earlier layer (or is `input`).
    public var layers: [Layer]

    public init(layers: [Layer]) { self.layers = layers }

    /// The layers that read a group's channels.
    public func consumers(of group: String) -> [Layer] { layers.filter { $0.input == group } }

    /// The channel graphs of the built-in architectures (a user's architecture registers its own:
    /// `ChannelGraph.registry.register("mynet", description: "…") { config in … }`).
    public static let registry: Registry<@Sendable (ModelConfig) -> ChannelGraph> = {
        let r = Registry<@Sendable (ModelConfig) -> ChannelGraph>(kind: "channel graph")
        r.register("alexnet", description: "a chain of 5 conv blocks, then the classifier") { alexnet($0) }
        r.register("resnet18", description: "stem, 4 stages of 2 basic blocks (residual streams), linear") { resnet([2, 2, 2, 2], $0) }
        r.register("resnet9", description: "stem, 4 stages of 1 basic block (residual streams), linear") { resnet([1, 1, 1, 1], $0) }
        return r
    }()

    static func alexnet(_ c: ModelConfig) -> ChannelGraph {
        var layers: [Layer] = []
        var previous = input
        for i in [0, 2, 4, 5, 6] {
            layers.append(Layer(path: "features.\(i)", input: previous, output: "features.\(i)"))
            previous = "features.\(i)"
        }
        if c.inputSize == 224 {
            layers.append(Layer(path: "classifier.1", input: previous, output: "classifier.1", positions: 36, normalised: false))
            layers.append(Layer(path: "classifier.4", input: "classifier.1", output: "classifier.4", normalised: false))
            layers.append(Layer(path: "classifier.6", input: "classifier.4", output: logits, normalised: false))
        } else {
            layers.append(Layer(path: "classifier", input: previous, output: logits, positions: (c.inputSize / 8) * (c.inputSize / 8), normalised: false))
        }
        return ChannelGraph(layers: layers)
    }

    /// A residual stream is one group per stage: every block's second conv and the stage's shortcut
    /// write it, so they must share its permutation.
    static func resnet(_ blocksPerStage: [Int], _ c: ModelConfig) -> ChannelGraph {
        var layers = [Layer(path: c.inputSize == 224 ? "convbnrelu_1.0" : "convbnrelu_1", input: input, output: "stream1")]
        var stream = "stream1"
        for (i, count) in blocksPerStage.enumerated() {
            let out = "stream\(i + 1)"
            for b in 0..<count {
                let block = "layer\(i + 1).\(b)"
                layers.append(Layer(path: block + ".convbnrelu_1", input: stream, output: block + ".mid"))
                layers.append(Layer(path: block + ".convbn_2", input: block + ".mid", output: out))
                if b == 0 && i > 0 { layers.append(Layer(path: block + ".shortcut", input: stream, output: out)) }
                stream = out
            }
        }
        layers.append(Layer(path: "linear", input: stream, output: logits, normalised: false))
        return ChannelGraph(layers: layers)
    }
}
