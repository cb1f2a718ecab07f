/// One recorded operation: its inputs and the rule that maps the output gradient to one gradient
/// per input (nil where an input gets none). A rule may return a gradient in the broadcast output
/// shape; the engine sums it down to the input's shape.
final class GradFn {
    let name: String
    let inputs: [Tensor]
    let rule: (Tensor) -> [Tensor?]

    init(name: String, inputs: [Tensor], rule: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.rule = rule
    }
}

extension Tensor {
    /// Wraps a freshly computed result, recording `rule` when gradients are on and an input needs one.
    static func result(_ shape: [Int], _ storage: TensorStorage, _ name: String, _ inputs: [Tensor],
                       _ rule: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        let out = Tensor(shape: shape, storage: storage)
        if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            out.gradFn = GradFn(name: name, inputs: inputs, rule: rule)
        }
        return out
    }

    static func result(_ out: Tensor, _ name: String, _ inputs: [Tensor],
                       _ rule: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        result(out.shape, out.storage, name, inputs, rule)
    }
}
