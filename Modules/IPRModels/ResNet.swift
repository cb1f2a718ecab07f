import IPRTensor

/// The reference's ResNet basic block (`models/resnet_normal.py`): `convbnrelu_1` (3×3, stride s),
/// `convbn_2` (3×3) and, when the shape changes, a 1×1 `shortcut` block; output relu(main + shortcut).
/// As in the reference, `convbn_2` and the shortcut end in a ReLU too (their `relu=True`), so
/// reference checkpoints compute the same function here.
public final class BasicBlock: Layer {
    public let convbnrelu1: any Layer, convbn2: any Layer
    public let shortcut: (any Layer)?

    init(path: String, inPlanes: Int, planes: Int, stride: Int, norm: NormKind, inputSize: Int,
         blocks: any ConvBlockFactory, rng: inout RNG) throws {
        convbnrelu1 = try blocks.makeBlock(ConvBlockSpec(path: path + ".convbnrelu_1", inChannels: inPlanes, outChannels: planes,
                                                         kernel: 3, stride: stride, padding: 1, norm: norm,
                                                         inputHeight: inputSize, inputWidth: inputSize), rng: &rng)
        let mid = (inputSize + 2 - 3) / stride + 1
        convbn2 = try blocks.makeBlock(ConvBlockSpec(path: path + ".convbn_2", inChannels: planes, outChannels: planes,
                                                     kernel: 3, padding: 1, norm: norm, inputHeight: mid, inputWidth: mid), rng: &rng)
        if stride != 1 || inPlanes != planes {
            shortcut = try blocks.makeBlock(ConvBlockSpec(path: path + ".shortcut", inChannels: inPlanes, outChannels: planes,
                                                          kernel: 1, stride: stride, padding: 0, norm: norm,
                                                          inputHeight: inputSize, inputWidth: inputSize), rng: &rng)
        } else {
            shortcut = nil
        }
    }

    public func visit(_ v: inout StateVisitor) {
        v.child("convbnrelu_1", convbnrelu1)
        v.child("convbn_2", convbn2)
        v.child("shortcut", shortcut)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let out = convbn2(convbnrelu1(x, context), context)
        let residual = shortcut?(x, context) ?? x
        guard GradMode.isEnabled else {
            // Inference: `out` is ours alone, so add and ReLU in place (one activation fewer).
            out.addInPlace(residual)
            out.reluInPlace()
            return out
        }
        return addReLU(out, residual)
    }
}

/// ResNet with basic blocks as in the reference: 32×32 inputs get a 3×3 stem `convbnrelu_1`; 224×224
/// inputs the ImageNet stem (`convbnrelu_1.0` 7×7 stride 2, max-pool 3/2). Stages `layer1`…`layer4`
/// (64, 128, 256, 512 planes), global average pool, `linear`.
public final class ResNet: Layer {
    public let stem: any Layer
    public let stages: [Sequential]
    public let linear: Linear

    /// ResNet-18: two blocks per stage.
    public static func resnet18(classes: Int, inputSize: Int = 32, norm: NormKind = .bn,
                                blocks: any ConvBlockFactory = PlainBlockFactory(), rng: inout RNG) throws -> ResNet {
        try ResNet(blocksPerStage: [2, 2, 2, 2], classes: classes, inputSize: inputSize, norm: norm, blocks: blocks, rng: &rng)
    }

    /// ResNet-9: one block per stage.
    public static func resnet9(classes: Int, inputSize: Int = 32, norm: NormKind = .bn,
                               blocks: any ConvBlockFactory = PlainBlockFactory(), rng: inout RNG) throws -> ResNet {
        try ResNet(blocksPerStage: [1, 1, 1, 1], classes: classes, inputSize: inputSize, norm: norm, blocks: blocks, rng: &rng)
    }

    public init(blocksPerStage: [Int], classes: Int, inputSize: Int = 32, inChannels: Int = 3, norm: NormKind = .bn,
                blocks: any ConvBlockFactory = PlainBlockFactory(), rng: inout RNG) throws {
        guard blocksPerStage.count == 4, blocksPerStage.allSatisfy({ $0 > 0 }) else {
            throw IPRTensorError(.invalidConfiguration, "ResNet: need 4 stages with at least one block each, got \(blocksPerStage)")
        }
        var size: Int
        if inputSize == 224 {
            let conv = try blocks.makeBlock(ConvBlockSpec(path: "convbnrelu_1.0", inChannels: inChannels, outChannels: 64, kernel: 7,
                                                          stride: 2, padding: 3, norm: norm, inputHeight: 224, inputWidth: 224), rng: &rng)
            stem = Sequential([conv, MaxPool2d(kernel: 3, stride: 2, padding: 1)])
            size = 56
        } else {
            guard inputSize >= 8 else { throw IPRTensorError(.invalidConfiguration, "ResNet: input size \(inputSize) too small") }
            stem = try blocks.makeBlock(ConvBlockSpec(path: "convbnrelu_1", inChannels: inChannels, outChannels: 64, kernel: 3,
                                                      padding: 1, norm: norm, inputHeight: inputSize, inputWidth: inputSize), rng: &rng)
            size = inputSize
        }
        var inPlanes = 64
        var stages: [Sequential] = []
        for (i, (planes, count)) in zip([64, 128, 256, 512], blocksPerStage).enumerated() {
            var stage: [any Layer] = []
            for b in 0..<count {
                let stride = (b == 0 && i > 0) ? 2 : 1
                stage.append(try BasicBlock(path: "layer\(i + 1).\(b)", inPlanes: inPlanes, planes: planes, stride: stride,
                                            norm: norm, inputSize: size, blocks: blocks, rng: &rng))
                size = (size + 2 - 3) / stride + 1
                inPlanes = planes
            }
            stages.append(Sequential(stage))
        }
        self.stages = stages
        linear = Linear(512, classes, rng: &rng)
    }

    public func visit(_ v: inout StateVisitor) {
        v.child("convbnrelu_1", stem)
        for (i, s) in stages.enumerated() { v.child("layer\(i + 1)", s) }
        v.child("linear", linear)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        var out = context.run(stem, x)
        // Block by block rather than stage by stage: a stage call would keep the stage's input
        // alive until its last block returns (one activation more at the inference peak).
        for block in stages.flatMap(\.layers) { out = context.run(block, out) }
        return linear(adaptiveAvgPool2d(out, outputSize: (1, 1)).flatten(), context)
    }
}
