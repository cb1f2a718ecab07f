// Broadcasting arithmetic. Rules return gradients in the output's shape; the engine sums them
// down to each input's shape.

extension Tensor {
    @inline(__always)
    static func binary(_ a: Tensor, _ b: Tensor, _ name: String,
                       _ f: @escaping @Sendable (Float, Float) -> Float,
                       _ rule: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            preconditionFailure("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let out = Tensor(uninitialized: shape)
        Broadcast.apply(out.pointer, shape, a.pointer, a.shape, b.pointer, b.shape, f)
        return result(out, name, [a, b], rule)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, "add", { $0 + $1 }) { g in [g, g] } }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, "sub", { $0 - $1 }) { g in [g, -g] } }
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        binary(a, b, "mul", { $0 * $1 }) { g in [g * b, g * a] }
    }
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        binary(a, b, "div", { $0 / $1 }) { g in [g / b, -(g * a) / (b * b)] }
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a.unary("add_scalar", { $0 + s }) { g in g } }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.unary("mul_scalar", { $0 * s }) { g in g * s } }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (s: Float, a: Tensor) -> Tensor { -a + s }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static prefix func - (a: Tensor) -> Tensor { a.unary("neg", { -$0 }) { g in -g } }

    /// In-place `self += other` (same shape), outside the graph: gradient accumulation, optimisers.
    public func addInPlace(_ other: Tensor, scale: Float = 1) {
        precondition(other.count == count, "addInPlace: \(other.shape) into \(shape)")
        let p = pointer, q = other.pointer
        if scale == 1 { Elementwise.zip(p, p, q, count) { $0 + $1 } } else { Elementwise.zip(p, p, q, count) { $0 + scale * $1 } }
    }

    /// In-place `self *= s`, outside the graph.
    public func scaleInPlace(_ s: Float) { Elementwise.map(pointer, pointer, count) { $0 * s } }
}
