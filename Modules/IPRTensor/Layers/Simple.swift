// Parameter-free layers.

/// max(x, 0).
public final class ReLU: Layer {
    public init() {}
    public func visit(_ v: inout StateVisitor) {}
    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor { x.relu() }
}

/// Max pooling with a square window.
public final class MaxPool2d: Layer {
    public let kernel: Int, stride: Int, padding: Int
    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride ?? kernel; self.padding = padding
    }
    public func visit(_ v: inout StateVisitor) {}
    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        maxPool2d(x, kernel: kernel, stride: stride, padding: padding)
    }
}

/// Average pooling with a square window (padding counted in the divisor).
public final class AvgPool2d: Layer {
    public let kernel: Int, stride: Int, padding: Int
    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride ?? kernel; self.padding = padding
    }
    public func visit(_ v: inout StateVisitor) {}
    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        avgPool2d(x, kernel: kernel, stride: stride, padding: padding)
    }
}

/// Average pooling to a fixed output size.
public final class AdaptiveAvgPool2d: Layer {
    public let outputSize: (Int, Int)
    public init(_ outputSize: (Int, Int)) { self.outputSize = outputSize }
    public convenience init(_ size: Int) { self.init((size, size)) }
    public func visit(_ v: inout StateVisitor) {}
    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor { adaptiveAvgPool2d(x, outputSize: outputSize) }
}

/// Dropout with its own seeded generator (active only in training).
public final class Dropout: Layer {
    public let p: Float
    private var rng: RNG
    public init(p: Float = 0.5, seed: UInt64) {
        precondition(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got \(p)")
        self.p = p; rng = RNG(seed: seed)
    }
    public func visit(_ v: inout StateVisitor) {}
    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        dropout(x, p: p, training: context.training, rng: &rng)
    }
}

/// `[N, …]` → `[N, product]`.
public final class Flatten: Layer {
    public init() {}
    public func visit(_ v: inout StateVisitor) {}
    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor { x.flatten() }
}

/// Layers applied in order; children are named "0", "1", … as in PyTorch's `nn.Sequential`.
public final class Sequential: Layer {
    public let layers: [any Layer]
    public init(_ layers: [any Layer]) { self.layers = layers }
    public func visit(_ v: inout StateVisitor) {
        for (i, l) in layers.enumerated() { v.child(String(i), l) }
    }
    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        layers.reduce(x) { context.run($1, $0) }
    }
}
