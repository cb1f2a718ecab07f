extension Tensor {
    /// All zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(uninitialized: shape, zeroed: true) }
    /// All ones.
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }
    /// Every element `value`.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.pointer.initialize(repeating: value, count: t.count)
        return t
    }
    /// Zeros with the shape of `other`.
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape) }
    /// 0, 1, …, n-1 as Floats.
    public static func arange(_ n: Int) -> Tensor { Tensor(shape: [n], data: (0..<n).map(Float.init)) }
    /// Uniform in [low, high).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, rng: inout RNG) -> Tensor {
        fill(shape) { rng.uniform(low, high) }
    }
    /// Normal with `mean` and `std`.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout RNG) -> Tensor {
        fill(shape) { mean + std * rng.normal() }
    }
    /// 1 with probability `p`, else 0.
    public static func bernoulli(_ shape: [Int], p: Float, rng: inout RNG) -> Tensor {
        fill(shape) { rng.nextFloat() < p ? 1 : 0 }
    }
    /// A random permutation of 0..<n as Floats.
    public static func permutation(_ n: Int, rng: inout RNG) -> Tensor {
        Tensor(shape: [n], data: rng.permutation(n).map(Float.init))
    }

    private static func fill(_ shape: [Int], _ next: () -> Float) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.pointer[i] = next() }
        return t
    }
}
