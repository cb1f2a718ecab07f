/// A float → float function as a type, so generic kernels are specialised and vectorised for it
/// (closures passed through several layers of helpers are not always inlined: measured 2–3× slower).
protocol UnaryFunctor: Sendable { func callAsFunction(_ x: Float) -> Float }
/// A (float, float) → float function as a type.
protocol BinaryFunctor: Sendable { func callAsFunction(_ a: Float, _ b: Float) -> Float }

struct AddOp: BinaryFunctor { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
struct SubOp: BinaryFunctor { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
struct MulOp: BinaryFunctor { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
struct DivOp: BinaryFunctor { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }
/// a + s·b
struct AxpyOp: BinaryFunctor {
    let s: Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + s * b }
}
/// max(x, 0)
struct ReLUOp: UnaryFunctor { @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 } }
/// s·x
struct ScaleOp: UnaryFunctor {
    let s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { s * x }
}
/// f(x) with a binary functor and a fixed right operand.
struct BindRight<F: BinaryFunctor>: UnaryFunctor {
    let f: F, b: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { f(x, b) }
}
/// f(x) with a binary functor and a fixed left operand.
struct BindLeft<F: BinaryFunctor>: UnaryFunctor {
    let f: F, a: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { f(a, x) }
}
/// A closure as a functor (ops without a dedicated type).
struct ClosureOp1: UnaryFunctor {
    let f: @Sendable (Float) -> Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { f(x) }
}
struct ClosureOp2: BinaryFunctor {
    let f: @Sendable (Float, Float) -> Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { f(a, b) }
}

/// Elementwise kernels on raw buffers. Plain loops over unsafe pointers: the optimiser vectorises
/// simple maps (see the engine spike); big buffers are split over the cores.
enum Elementwise {
    /// out[i] = f(a[i]) for a functor type (specialised).
    static func apply<F: UnaryFunctor>(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ n: Int, _ f: F) {
        let o = UnsafeSendable(out), x = UnsafeSendable(a)
        parallelFor(n, grain: grain) { r in
            let o = o.value, x = x.value
            for i in r { o[i] = f(x[i]) }
        }
    }

    /// out[i] = f(a[i], b[i]) for a functor type (specialised).
    static func apply<F: BinaryFunctor>(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                        _ n: Int, _ f: F) {
        let o = UnsafeSendable(out), x = UnsafeSendable(a), y = UnsafeSendable(b)
        parallelFor(n, grain: grain) { r in
            let o = o.value, x = x.value, y = y.value
            for i in r { o[i] = f(x[i], y[i]) }
        }
    }

    static let grain = 1 << 15

    /// Sum of n floats with several accumulators (a single accumulator is latency-bound, ~8× slower).
    static func sum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var s = acc.sum()
        while i < n { s += a[i]; i += 1 }
        return s
    }

    /// Dot product of n floats.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }
}
