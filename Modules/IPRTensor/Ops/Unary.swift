#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// Applies `f` elementwise, recording `rule(g)` as the input gradient.
    func unary<F: UnaryFunctor>(_ name: String, _ f: F, _ rule: @escaping (Tensor) -> Tensor?) -> Tensor {
        unaryWithOutput(name, f) { g, _ in rule(g) }
    }

    func unary(_ name: String, _ f: @escaping @Sendable (Float) -> Float, _ rule: @escaping (Tensor) -> Tensor?) -> Tensor {
        unary(name, ClosureOp1(f: f), rule)
    }

    /// Like `unary`, with the rule also given the output (rebuilt from its storage: capturing the
    /// output tensor itself would make a reference cycle through its own grad function).
    func unaryWithOutput<F: UnaryFunctor>(_ name: String, _ f: F,
                                          _ rule: @escaping (_ g: Tensor, _ y: Tensor) -> Tensor?) -> Tensor {
        let out = Tensor(uninitialized: shape)
        Elementwise.apply(out.pointer, pointer, count, f)
        let storage = out.storage, shape = shape
        return Tensor.result(out, name, [self]) { g in [rule(g, Tensor(shape: shape, storage: storage))] }
    }

    /// Elementwise map of two same-shape tensors, outside the graph (for backward rules).
    @inline(__always)
    func zipMap(_ other: Tensor, _ f: @escaping @Sendable (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "zipMap: \(shape) vs \(other.shape)")
        let out = Tensor(uninitialized: shape)
        Elementwise.apply(out.pointer, pointer, other.pointer, count, ClosureOp2(f: f))
        return out
    }

    /// `self` raised to a constant power.
    public func pow(_ p: Float) -> Tensor {
        if p == 2 { return unary("pow", { $0 * $0 }) { g in g.zipMap(self) { 2 * $0 * $1 } } }
        return unary("pow", { powf($0, p) }) { g in g.zipMap(self) { $0 * p * powf($1, p - 1) } }
    }
    /// e^x.
    public func exp() -> Tensor {
        unaryWithOutput("exp", ClosureOp1 { expf($0) }) { g, y in g.zipMap(y) { $0 * $1 } }
    }
    /// Natural logarithm.
    public func log() -> Tensor { unary("log", { logf($0) }) { g in g.zipMap(self) { $0 / $1 } } }
    /// Square root.
    public func sqrt() -> Tensor {
        unaryWithOutput("sqrt", ClosureOp1 { $0.squareRoot() }) { g, y in g.zipMap(y) { $0 / (2 * $1) } }
    }
    /// |x|; the gradient at 0 is 0, as in PyTorch.
    public func abs() -> Tensor { unary("abs", { Swift.abs($0) }) { g in g.zipMap(self) { $1 > 0 ? $0 : ($1 < 0 ? -$0 : 0) } } }
    /// −1, 0 or +1; zero gradient.
    public func sign() -> Tensor { unary("sign", { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }) { _ in nil } }
    /// Clamps into [min, max]; gradient passes where the input is inside (inclusive, as PyTorch).
    public func clamp(min lo: Float = -.infinity, max hi: Float = .infinity) -> Tensor {
        unary("clamp", { Swift.min(Swift.max($0, lo), hi) }) { g in g.zipMap(self) { ($1 >= lo && $1 <= hi) ? $0 : 0 } }
    }
    /// max(x, 0); gradient 0 at x == 0 (PyTorch's choice).
    public func relu() -> Tensor {
        // Written out rather than through `unary`: the hottest elementwise op of every CNN, and the
        // closure-taking helpers do not always get specialised (measured 2× slower).
        let out = Tensor(uninitialized: shape)
        let o = UnsafeSendable(out.pointer), x = UnsafeSendable(pointer)
        parallelFor(count, grain: Elementwise.grain) { r in
            for i in r { let v = x.value[i]; o.value[i] = v > 0 ? v : 0 }
        }
        let shape = shape, count = count
        return Tensor.result(out, "relu", [self]) { [self] g in
            let gx = Tensor(uninitialized: shape)
            let d = UnsafeSendable(gx.pointer), gp = UnsafeSendable(g.pointer)
            parallelFor(count, grain: Elementwise.grain) { r in
                for i in r { let dy = gp.value[i]; d.value[i] = x.value[i] > 0 ? dy : 0 }
            }
            return [gx]
        }
    }
}
