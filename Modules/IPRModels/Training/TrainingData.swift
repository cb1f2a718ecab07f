import IPRTensor

/// Where a trainer gets its batches: IPRData's loaders conform (through a small adapter in the
/// code that wires them), so IPRModels needs nothing above IPRTensor.
public protocol TrainingData {
    /// Batches in one epoch.
    var batchesPerEpoch: Int { get }
    /// Samples in one epoch.
    var samplesPerEpoch: Int { get }
    /// Calls `body` with each batch (`[N, C, H, W]` images, N labels) of `epoch`, in the order the
    /// source's seed and the epoch decide.
    func forEachBatch(epoch: Int, _ body: (_ images: Tensor, _ labels: [Int]) throws -> Void) throws
}

/// An in-memory batch source (tests, small experiments): fixed tensors split into batches,
/// shuffled per epoch from a seed.
public struct InMemoryBatches: TrainingData {
    public let images: Tensor
    public let labels: [Int]
    public let batchSize: Int
    public let shuffleSeed: UInt64?

    public init(images: Tensor, labels: [Int], batchSize: Int, shuffleSeed: UInt64? = nil) {
        precondition(images.shape.first == labels.count, "InMemoryBatches: \(images.shape) images for \(labels.count) labels")
        precondition(batchSize > 0, "InMemoryBatches: batch size must be positive")
        self.images = images; self.labels = labels; self.batchSize = batchSize; self.shuffleSeed = shuffleSeed
    }

    public var samplesPerEpoch: Int { labels.count }
    public var batchesPerEpoch: Int { (labels.count + batchSize - 1) / batchSize }

    public func forEachBatch(epoch: Int, _ body: (Tensor, [Int]) throws -> Void) throws {
        var order = Array(0..<labels.count)
        if let shuffleSeed { var rng = RNG(seed: shuffleSeed, stream: UInt64(epoch)); order = rng.permutation(labels.count) }
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let idx = Array(order[start..<min(start + batchSize, order.count)])
            try body(noGrad { images.indexSelect(dim: 0, indices: idx) }, idx.map { labels[$0] })
        }
    }
}
