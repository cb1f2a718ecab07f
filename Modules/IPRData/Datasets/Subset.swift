/// The first `count` samples of another dataset (quick runs, smoke tests: `--limit`).
public struct Subset: Dataset {
    public let base: any Dataset
    public let count: Int

    /// - Throws: `.invalidOption` when `limit` is not positive.
    public init(_ base: any Dataset, limit: Int) throws {
        guard limit > 0 else { throw IPRDataError(.invalidOption, "a subset needs a positive size, got \(limit)") }
        self.base = base
        count = min(limit, base.count)
    }

    public var classNames: [String] { base.classNames }

    public func sample(at index: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return try base.sample(at: index)
    }

    public func sample(at index: Int, minimumSide: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return try base.sample(at: index, minimumSide: minimumSide)
    }
}
