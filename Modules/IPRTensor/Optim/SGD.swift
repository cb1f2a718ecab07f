/// Stochastic gradient descent with PyTorch's exact semantics (`torch.optim.SGD`):
///
///     g = grad + weight_decay · p
///     buf = g (first step) | momentum · buf + (1 − dampening) · g
///     g = nesterov ? g + momentum · buf : buf        (when momentum ≠ 0)
///     p -= lr · g
///
/// Parameters without a gradient are skipped, as in PyTorch.
public final class SGD {
    public let parameters: [Tensor]
    public var learningRate: Float
    public var momentum: Float, dampening: Float, weightDecay: Float
    public var nesterov: Bool
    private var momentumBuffers: [ObjectIdentifier: Tensor] = [:]

    public init(parameters: [Tensor], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum needs momentum > 0 and zero dampening")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    /// Applies one update from the parameters' accumulated gradients.
    public func step() {
        noGrad {
            for p in parameters {
                guard let grad = p.grad else { continue }
                let d = grad.copy()
                if weightDecay != 0 { d.addInPlace(p, scale: weightDecay) }
                if momentum != 0 {
                    let id = ObjectIdentifier(p)
                    if let buf = momentumBuffers[id] {
                        buf.scaleInPlace(momentum)
                        buf.addInPlace(d, scale: 1 - dampening)
                        if nesterov { d.addInPlace(buf, scale: momentum) } else { d.assign(buf) }
                    } else {
                        momentumBuffers[id] = d.copy()
                        if nesterov { d.addInPlace(d.copy(), scale: momentum) }
                    }
                }
                p.addInPlace(d, scale: -learningRate)
            }
        }
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.grad = nil } }

    /// The momentum buffer of a parameter (nil before its first step), for checkpoints.
    public func momentumBuffer(for p: Tensor) -> Tensor? { momentumBuffers[ObjectIdentifier(p)] }

    /// Restores a momentum buffer (resume from a checkpoint).
    public func setMomentumBuffer(_ buffer: Tensor, for p: Tensor) {
        precondition(buffer.shape == p.shape, "momentum buffer \(buffer.shape) for parameter \(p.shape)")
        momentumBuffers[ObjectIdentifier(p)] = buffer.copy()
    }
}

/// Rescales gradients so their global L2 norm is at most `maxNorm` (PyTorch `clip_grad_norm_`:
/// factor `maxNorm / (norm + 1e-6)` when below 1). Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let grads = parameters.compactMap(\.grad)
    let total = grads.reduce(Double(0)) { $0 + Double(Elementwise.dot($1.pointer, $1.pointer, $1.count)) }.squareRoot()
    let factor = Float(Double(maxNorm) / (total + 1e-6))
    if factor < 1 { for g in grads { g.scaleInPlace(factor) } }
    return Float(total)
}
