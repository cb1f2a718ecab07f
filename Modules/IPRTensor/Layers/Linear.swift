/// Fully connected layer, `y = x·Wᵀ + b` (PyTorch `nn.Linear`).
public final class Linear: Layer {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RNG) {
        weight = .parameter(.zeros([outFeatures, inFeatures]))
        Init.defaultWeight(weight, rng: &rng)
        if bias {
            let b = Tensor.parameter(.zeros([outFeatures]))
            Init.defaultBias(b, weight: weight, rng: &rng)
            self.bias = b
        } else {
            self.bias = nil
        }
    }

    public func visit(_ v: inout StateVisitor) {
        v.param("weight", weight)
        v.param("bias", bias)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        linear(x.rank == 2 ? x : x.flatten(), weight: weight, bias: bias)
    }
}
