// Broadcasting arithmetic. Rules return gradients in the output's shape; the engine sums them
// down to each input's shape.

extension Tensor {
    static func binary<F: BinaryFunctor>(_ a: Tensor, _ b: Tensor, _ name: String, _ f: F,
                                         _ rule: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            preconditionFailure("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let out = Tensor(uninitialized: shape)
        Broadcast.apply(out.pointer, shape, a.pointer, a.shape, b.pointer, b.shape, f)
        return result(out, name, [a, b], rule)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, "add", AddOp()) { g in [g, g] } }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, "sub", SubOp()) { g in [g, -g] } }
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        binary(a, b, "mul", MulOp()) { g in [g * b, g * a] }
    }
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        binary(a, b, "div", DivOp()) { g in [g / b, -(g * a) / (b * b)] }
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a.unary("add_scalar", BindRight(f: AddOp(), b: s)) { g in g } }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.unary("mul_scalar", ScaleOp(s: s)) { g in g * s } }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (s: Float, a: Tensor) -> Tensor { -a + s }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static prefix func - (a: Tensor) -> Tensor { a.unary("neg", { -$0 }) { g in -g } }

    /// In-place `self += other` (same shape), outside the graph: gradient accumulation, optimisers.
    public func addInPlace(_ other: Tensor, scale: Float = 1) {
        precondition(other.count == count, "addInPlace: \(other.shape) into \(shape)")
        let p = pointer, q = other.pointer
        if scale == 1 { Elementwise.apply(p, p, q, count, AddOp()) } else { Elementwise.apply(p, p, q, count, AxpyOp(s: scale)) }
    }

    /// In-place `max(self, 0)`, outside the graph.
    public func reluInPlace() { Elementwise.apply(pointer, pointer, count, ReLUOp()) }

    /// In-place `self *= s`, outside the graph.
    public func scaleInPlace(_ s: Float) { Elementwise.apply(pointer, pointer, count, ScaleOp(s: s)) }
}

/// max(a + b, 0) for same-shape tensors in one pass, saving one activation (residual blocks).
/// The gradient reaches both inputs where the output is positive.
public func addReLU(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "addReLU: \(a.shape) vs \(b.shape)")
    let out = Tensor(uninitialized: a.shape)
    Elementwise.apply(out.pointer, a.pointer, b.pointer, a.count, AddReLUOp())
    let storage = out.storage, shape = a.shape
    return Tensor.result(out, "add_relu", [a, b]) { g in
        let y = Tensor(shape: shape, storage: storage)
        let masked = g.zipMap(y) { d, v in v > 0 ? d : 0 }
        return [masked, masked]
    }
}

/// max(a + b, 0)
struct AddReLUOp: BinaryFunctor {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { let s = a + b; return s > 0 ? s : 0 }
}
