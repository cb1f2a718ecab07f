/// 2-D convolution layer (`weight` `[out, in, k, k]`, optional `bias`), PyTorch's `nn.Conv2d`
/// without dilation or groups. Initialised like PyTorch unless re-initialised.
public final class Conv2d: Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int, padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, rng: inout RNG) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0 && padding >= 0,
                     "Conv2d(\(inChannels), \(outChannels), kernel: \(kernel), stride: \(stride), padding: \(padding))")
        weight = .parameter(.zeros([outChannels, inChannels, kernel, kernel]))
        Init.defaultWeight(weight, rng: &rng)
        if bias {
            let b = Tensor.parameter(.zeros([outChannels]))
            Init.defaultBias(b, weight: weight, rng: &rng)
            self.bias = b
        } else {
            self.bias = nil
        }
        self.stride = stride
        self.padding = padding
    }

    public func visit(_ v: inout StateVisitor) {
        v.param("weight", weight)
        v.param("bias", bias)
    }

    public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
    }
}
