/// A normalisation layer that can apply a ReLU in the same pass (conv blocks use this: one
/// activation tensor fewer per block, like PyTorch's in-place ReLU).
public protocol FusedReLUNorm: Layer {
    /// `inPlace`: overwrite `x` when no graph is recorded (the caller no longer needs it).
    /// `affine` replaces the layer's own scale and bias for this call (passport layers pass γ and β
    /// computed from their passports, with gradients flowing into them).
    func forward(_ x: Tensor, _ context: ForwardContext, relu: Bool, inPlace: Bool, affine: (scale: Tensor, bias: Tensor)?) -> Tensor
}

extension FusedReLUNorm {
    public func forward(_ x: Tensor, _ context: ForwardContext, relu: Bool, inPlace: Bool) -> Tensor {
        forward(x, context, relu: relu, inPlace: inPlace, affine: nil)
    }
}

/// Batch normalisation (PyTorch `nn.BatchNorm2d`): affine `weight`/`bias` (optional), buffers
/// `running_mean`, `running_var`, `num_batches_tracked`; momentum 0.1, eps 1e-5 by default.
public final class BatchNorm2d: FusedReLUNorm {
    public let weight: Tensor?, bias: Tensor?
    public let runningMean: Tensor, runningVar: Tensor
    public let numBatchesTracked = CounterBuffer()
    public let momentum: Float, eps: Float

    public init(_ channels: Int, eps: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true) {
        weight = affine ? .parameter(.ones([channels])) : nil
        bias = affine ? .parameter(.zeros([channels])) : nil
        runningMean = .zeros([channels])
        runningVar = .ones([channels])
        self.eps = eps
        self.momentum = momentum
    }

    public func visit(_ v: inout StateVisitor) {
        v.param("weight", weight)
        v.param("bias", bias)
        v.buffer("running_mean", runningMean)
        v.buffer("running_var", runningVar)
        v.counter("num_batches_tracked", numBatchesTracked)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor { forward(x, context, relu: false, inPlace: false, affine: nil) }

    public func forward(_ x: Tensor, _ context: ForwardContext, relu: Bool, inPlace: Bool, affine: (scale: Tensor, bias: Tensor)?) -> Tensor {
        if context.training { numBatchesTracked.value += 1 }
        return batchNorm(x, runningMean: runningMean, runningVar: runningVar, weight: affine?.scale ?? weight, bias: affine?.bias ?? bias,
                         training: context.training, momentum: momentum, eps: eps, relu: relu, inPlace: inPlace)
    }
}

/// Group normalisation (PyTorch `nn.GroupNorm`), affine by default.
public final class GroupNorm: FusedReLUNorm {
    public let groups: Int
    public let weight: Tensor?, bias: Tensor?
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5, affine: Bool = true) {
        precondition(groups > 0 && channels % groups == 0, "GroupNorm: \(channels) channels into \(groups) groups")
        self.groups = groups
        weight = affine ? .parameter(.ones([channels])) : nil
        bias = affine ? .parameter(.zeros([channels])) : nil
        self.eps = eps
    }

    public func visit(_ v: inout StateVisitor) {
        v.param("weight", weight)
        v.param("bias", bias)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor { forward(x, context, relu: false, inPlace: false, affine: nil) }

    public func forward(_ x: Tensor, _ context: ForwardContext, relu: Bool, inPlace: Bool, affine: (scale: Tensor, bias: Tensor)?) -> Tensor {
        groupNorm(x, groups: groups, weight: affine?.scale ?? weight, bias: affine?.bias ?? bias, eps: eps, relu: relu, inPlace: inPlace)
    }
}

/// Instance normalisation (PyTorch `nn.InstanceNorm2d`: no affine and no running statistics by default).
public final class InstanceNorm2d: FusedReLUNorm {
    public let weight: Tensor?, bias: Tensor?
    public let eps: Float

    public init(_ channels: Int, eps: Float = 1e-5, affine: Bool = false) {
        weight = affine ? .parameter(.ones([channels])) : nil
        bias = affine ? .parameter(.zeros([channels])) : nil
        self.eps = eps
    }

    public func visit(_ v: inout StateVisitor) {
        v.param("weight", weight)
        v.param("bias", bias)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor { forward(x, context, relu: false, inPlace: false, affine: nil) }

    public func forward(_ x: Tensor, _ context: ForwardContext, relu: Bool, inPlace: Bool, affine: (scale: Tensor, bias: Tensor)?) -> Tensor {
        instanceNorm(x, weight: affine?.scale ?? weight, bias: affine?.bias ?? bias, eps: eps, relu: relu, inPlace: inPlace)
    }
}
