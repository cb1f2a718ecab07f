import IPRTensor

/// Some samples of another dataset: the first `limit` (quick runs, smoke tests: `--limit`), or a
/// seeded random fraction (an attacker who holds part of the training set: `--attacker-fraction`).
public struct Subset: Dataset {
    public let base: any Dataset
    public let count: Int
    /// The base samples taken, in order; nil for the first `count`.
    let indices: [Int]?

    /// - Throws: `.invalidOption` when `limit` is not positive.
    public init(_ base: any Dataset, limit: Int) throws {
        guard limit > 0 else { throw IPRDataError(.invalidOption, "a subset needs a positive size, got \(limit)") }
        self.base = base
        count = min(limit, base.count)
        indices = nil
    }

    /// `fraction` of `base` (rounded, at least one sample) drawn at random with `seed`, kept in base order.
    /// - Throws: `.invalidOption` for a fraction outside (0, 1].
    public init(_ base: any Dataset, fraction: Double, seed: UInt64) throws {
        guard fraction > 0 && fraction <= 1 else { throw IPRDataError(.invalidOption, "a fraction of a dataset must be in (0, 1], got \(fraction)") }
        self.base = base
        var rng = RNG(seed: seed, stream: 0x5B5E7)
        let taken = rng.permutation(base.count).prefix(max(1, Int((fraction * Double(base.count)).rounded())))
        indices = taken.sorted()
        count = indices!.count
    }

    public var classNames: [String] { base.classNames }

    public func sample(at index: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return try base.sample(at: indices?[index] ?? index)
    }

    public func sample(at index: Int, minimumSide: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return try base.sample(at: indices?[index] ?? index, minimumSide: minimumSide)
    }
}
