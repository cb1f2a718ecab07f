/// A Float32 tensor in row-major (NCHW for images) contiguous layout, with reverse-mode autograd.
///
/// Tensors are immutable values from the graph's point of view; only leaves (parameters, passports)
/// are updated in place by optimisers, outside of gradient recording.
public final class Tensor: @unchecked Sendable {
    /// Dimensions, outermost first (`[N, C, H, W]` for images).
    public let shape: [Int]
    /// The underlying buffer. `reshape` shares it; every other op writes a new one.
    public let storage: TensorStorage
    /// The gradient accumulated by `backward()` for a leaf that requires gradients.
    public var grad: Tensor?
    /// For a leaf: whether `backward()` computes its gradient. Non-leaves require grad when any
    /// input did.
    public var requiresGrad: Bool {
        get { leafRequiresGrad || gradFn != nil }
        set {
            precondition(gradFn == nil, "requiresGrad can only be set on a leaf tensor; use detach()")
            leafRequiresGrad = newValue
        }
    }
    var leafRequiresGrad = false
    /// The recorded operation that produced this tensor (nil for leaves and under `noGrad`).
    var gradFn: GradFn?

    /// Wraps an existing storage with a shape whose element count matches it.
    public init(shape: [Int], storage: TensorStorage) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(Shape.count(shape) == storage.count, "shape \(shape) does not hold \(storage.count) elements")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor holding `data` (row-major) with the given shape.
    public convenience init(shape: [Int], data: [Float]) {
        precondition(Shape.count(shape) == data.count, "shape \(shape) needs \(Shape.count(shape)) values, got \(data.count)")
        let s = TensorStorage(count: data.count, zeroed: false)
        data.withUnsafeBufferPointer { s.pointer.update(from: $0.baseAddress!, count: data.count) }
        self.init(shape: shape, storage: s)
    }

    /// A scalar (shape `[]`).
    public convenience init(_ value: Float) { self.init(shape: [], data: [value]) }

    /// An uninitialised-or-zeroed tensor of `shape` (zeroed unless `zeroed` is false).
    convenience init(uninitialized shape: [Int], zeroed: Bool = false) {
        self.init(shape: shape, storage: TensorStorage(count: Shape.count(shape), zeroed: zeroed))
    }

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Row-major strides of the shape, in elements.
    public var strides: [Int] { Shape.strides(shape) }
    /// Raw read/write pointer to the elements.
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    /// A copy of the elements, row-major.
    public var array: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }
    /// The only element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return storage.pointer[0]
    }
    /// Element at a multi-index (slow; for tests and debugging).
    public subscript(_ index: Int...) -> Float {
        precondition(index.count == rank, "index \(index) for shape \(shape)")
        var offset = 0
        for (i, (x, n)) in zip(index, shape).enumerated() {
            precondition(x >= 0 && x < n, "index \(index) out of range for shape \(shape)")
            offset += x * strides[i]
        }
        return storage.pointer[offset]
    }

    /// The same data, cut from the graph: no gradient flows through the result.
    public func detach() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// A deep copy with no graph.
    public func copy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.pointer.update(from: pointer, count: count)
        return out
    }

    /// Overwrites the elements with those of `other` (same count), outside the graph.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        if other.pointer != pointer { pointer.update(from: other.pointer, count: count) }
    }

    /// Whether this is a leaf of the graph (not produced by a recorded op).
    public var isLeaf: Bool { gradFn == nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = array.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

/// Shape arithmetic shared by ops and kernels.
public enum Shape {
    /// Product of the dimensions (1 for a scalar).
    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }
    /// Row-major strides.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
        return s
    }
    /// NumPy broadcasting of two shapes; nil when they are incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let x = i < n - a.count ? 1 : a[i - (n - a.count)]
            let y = i < n - b.count ? 1 : b[i - (n - b.count)]
            if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
        }
        return out
    }
    /// Normalises a possibly negative axis.
    public static func axis(_ axis: Int, rank: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < max(rank, 1), "axis \(axis) out of range for rank \(rank)")
        return a
    }
}
