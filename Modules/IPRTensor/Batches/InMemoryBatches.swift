/// An in-memory batch source (tests, small experiments): fixed tensors split into batches,
/// shuffled per epoch from a seed.
public struct InMemoryBatches: BatchSource {
    public let images: Tensor
    public let labels: [Int]
    public let batchSize: Int
    public let shuffleSeed: UInt64?

    public init(images: Tensor, labels: [Int], batchSize: Int, shuffleSeed: UInt64? = nil) {
        precondition(images.shape.first == labels.count, "InMemoryBatches: \(images.shape) images for \(labels.count) labels")
        precondition(batchSize > 0, "InMemoryBatches: batch size must be positive")
        self.images = images; self.labels = labels; self.batchSize = batchSize; self.shuffleSeed = shuffleSeed
    }

    public var sampleCount: Int { labels.count }
    public var batchCount: Int { (labels.count + batchSize - 1) / batchSize }
    /// Built on the consumer's thread: the tensors are already in memory.
    public var prefetch: Int { 0 }

    public func makeEpoch(_ epoch: Int) -> @Sendable (Int) throws -> Batch {
        var order = Array(0..<labels.count)
        if let shuffleSeed { var rng = RNG(seed: shuffleSeed, stream: UInt64(epoch)); order = rng.permutation(labels.count) }
        let (images, labels, batchSize) = (self.images, self.labels, self.batchSize)
        return { [order] b in
            let idx = Array(order[b * batchSize..<min((b + 1) * batchSize, order.count)])
            return Batch(images: noGrad { images.indexSelect(dim: 0, indices: idx) }, labels: idx.map { labels[$0] }, indices: idx)
        }
    }
}
