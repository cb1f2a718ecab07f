import IPRTensor

/// AlexNet as in the reference DeepIPR (`models/alexnet_normal.py`).
///
/// - 32×32 input (CIFAR): ConvBlocks `features.0` 3→64 k5 p2, pool 2, `features.2` 64→192 k5 p2,
///   pool 2, `features.4` 192→384, `features.5` 384→256, `features.6` 256→256 (k3 p1), pool 2,
///   then `classifier` Linear 4096 → classes.
/// - 224×224 input (ImageNet): `features.0` k11 s4 p2, max-pool 3/2, …, max-pool 3/2, adaptive
///   average pool 6×6, then `classifier.{1,4,6}` Linears with dropout (`classifier.0`, `.3`).
public final class AlexNet: Layer {
    public let features: Sequential
    public let classifier: any Layer

    public init(classes: Int, inputSize: Int = 32, inChannels: Int = 3, norm: NormKind = .bn,
                blocks: any ConvBlockFactory = PlainBlockFactory(), rng: inout RNG) throws {
        var layers: [any Layer] = []
        if inputSize == 224 {
            func block(_ i: Int, _ c: Int, _ o: Int, _ k: Int, _ s: Int, _ p: Int, _ hw: Int) throws -> any Layer {
                try blocks.makeBlock(ConvBlockSpec(path: "features.\(i)", inChannels: c, outChannels: o, kernel: k, stride: s,
                                                   padding: p, norm: norm, inputHeight: hw, inputWidth: hw), rng: &rng)
            }
            layers.append(try block(0, inChannels, 64, 11, 4, 2, 224))      // → 55
            layers.append(MaxPool2d(kernel: 3, stride: 2))                  // → 27
            layers.append(try block(2, 64, 192, 5, 1, 2, 27))
            layers.append(MaxPool2d(kernel: 3, stride: 2))                  // → 13
            layers.append(try block(4, 192, 384, 3, 1, 1, 13))
            layers.append(try block(5, 384, 256, 3, 1, 1, 13))
            layers.append(try block(6, 256, 256, 3, 1, 1, 13))
            layers.append(MaxPool2d(kernel: 3, stride: 2))                  // → 6
            layers.append(AdaptiveAvgPool2d(6))
            features = Sequential(layers)
            classifier = Sequential([Dropout(p: 0.5, seed: rng.next()), Linear(256 * 36, 4096, rng: &rng), ReLU(),
                                     Dropout(p: 0.5, seed: rng.next()), Linear(4096, 4096, rng: &rng), ReLU(),
                                     Linear(4096, classes, rng: &rng)])
        } else {
            guard inputSize % 8 == 0, inputSize >= 8 else {
                throw IPRTensorError(.invalidConfiguration, "AlexNet: input size must be 224 or a multiple of 8 (CIFAR: 32), got \(inputSize)")
            }
            let s = inputSize
            func block(_ i: Int, _ c: Int, _ o: Int, _ k: Int, _ p: Int, _ hw: Int) throws -> any Layer {
                try blocks.makeBlock(ConvBlockSpec(path: "features.\(i)", inChannels: c, outChannels: o, kernel: k,
                                                   padding: p, norm: norm, inputHeight: hw, inputWidth: hw), rng: &rng)
            }
            layers.append(try block(0, inChannels, 64, 5, 2, s))
            layers.append(MaxPool2d(kernel: 2))
            layers.append(try block(2, 64, 192, 5, 2, s / 2))
            layers.append(MaxPool2d(kernel: 2))
            layers.append(try block(4, 192, 384, 3, 1, s / 4))
            layers.append(try block(5, 384, 256, 3, 1, s / 4))
            layers.append(try block(6, 256, 256, 3, 1, s / 4))
            layers.append(MaxPool2d(kernel: 2))
            features = Sequential(layers)
            classifier = Linear(256 * (s / 8) * (s / 8), classes, rng: &rng)
        }
    }

    public func visit(_ v: inout StateVisitor) {
        v.child("features", features)
        v.child("classifier", classifier)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        classifier(context.run(features, x).flatten(), context)
    }
}
