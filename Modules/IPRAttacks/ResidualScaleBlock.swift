import IPRTensor

/// The fully connected residual block of the ERB attack (Chen et al., CVPR 2023, Eqs. 5–7) that
/// computes a passport layer's γ'' from a free γ:
/// - individual (IERB): one perceptron per channel, 1 → `hidden` → 1, γ''ᵢ = W₂ᵢ·LReLU(W₁ᵢ·γᵢ + b₁ᵢ) + b₂ᵢ + γᵢ;
/// - combined (CERB): one perceptron over all channels, C → C/8 → C, γ'' = W₂·LReLU(W₁·γ + b₁) + b₂ + γ,
///   so that channels inform each other and signs can cross zero (the paper's "lazy to flip").
/// The paper leaves the initialisation open; the weights start as PyTorch's `nn.Linear` does
/// (uniform in ±1/√fan_in), the likely choice of its PyTorch code.
struct ResidualScaleBlock {
    let combined: Bool
    let w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor
    /// LeakyReLU's negative slope (PyTorch's default; the paper gives none).
    static let slope: Float = 0.01

    init(channels: Int, combined: Bool, hidden: Int = 10, rng: inout RNG) {
        self.combined = combined
        func uniform(_ shape: [Int], fanIn: Int) -> Tensor {
            let bound = 1 / Float(fanIn).squareRoot()
            return .parameter(Tensor.uniform(shape, low: -bound, high: bound, rng: &rng))
        }
        if combined {
            let inner = max(channels / 8, 1)
            (w1, b1) = (uniform([channels, inner], fanIn: channels), uniform([inner], fanIn: channels))
            (w2, b2) = (uniform([inner, channels], fanIn: inner), uniform([channels], fanIn: inner))
        } else {
            (w1, b1) = (uniform([channels, hidden], fanIn: 1), uniform([channels, hidden], fanIn: 1))
            (w2, b2) = (uniform([channels, hidden], fanIn: hidden), uniform([channels], fanIn: hidden))
        }
    }

    var parameters: [Tensor] { [w1, b1, w2, b2] }

    /// γ'' for `gamma` (`[C]`), with the graph back to `gamma` and the block's weights.
    func callAsFunction(_ gamma: Tensor) -> Tensor {
        let c = gamma.shape[0]
        func leaky(_ x: Tensor) -> Tensor { x.relu() * (1 - Self.slope) + x * Self.slope }
        if combined {
            let hidden = leaky(gamma.reshape([1, c]).matmul(w1) + b1)
            return (hidden.matmul(w2) + b2).reshape([c]) + gamma
        }
        let hidden = leaky(gamma.reshape([c, 1]) * w1 + b1)
        return (hidden * w2).sum(axis: 1) + b2 + gamma
    }
}
