/// One batch: images as an `[N, C, H, W]` tensor and their labels.
public struct Batch: Sendable {
    /// `[N, C, H, W]` Float images, after the transform.
    public let images: Tensor
    /// Label of each image (the trigger samples' labels come last in a mixed batch).
    public let labels: [Int]
    /// Dataset index of each of the first `indices.count` images.
    public let indices: [Int]
    /// Trigger-set index of each appended trigger image (empty unless the batch comes from a `TriggerMixLoader`).
    public let triggerIndices: [Int]

    public init(images: Tensor, labels: [Int], indices: [Int], triggerIndices: [Int] = []) {
        precondition(images.rank == 4 && images.shape[0] == labels.count, "Batch: \(images.shape) images for \(labels.count) labels")
        precondition(indices.count + triggerIndices.count == labels.count, "Batch: index count does not match labels")
        self.images = images
        self.labels = labels
        self.indices = indices
        self.triggerIndices = triggerIndices
    }

    /// Number of images.
    public var count: Int { labels.count }

    /// The labels as a `[N]` Float tensor.
    public var labelTensor: Tensor { Tensor(shape: [labels.count], data: labels.map(Float.init)) }
}

/// Something that makes the batches of an epoch: IPRData's `DataLoader` and `TriggerMixLoader`,
/// `InMemoryBatches`, or your own. It is the one batch protocol of the stack: the trainer, the
/// verifiers and the attacks take it, and it lives here, below both IPRData and IPRModels, so that
/// neither needs the other.
///
/// `makeEpoch` returns a function building batch `i` of that epoch; it must be deterministic and
/// safe to call from a background thread. `epoch(_:)` runs it ahead of the consumer.
public protocol BatchSource: Sendable {
    /// Batches per epoch.
    var batchCount: Int { get }
    /// Images per epoch (with the trigger samples a source appends, if any).
    var sampleCount: Int { get }
    /// How many batches to prepare ahead in the background (0: build each one on `next()`).
    var prefetch: Int { get }
    /// The builder of batch `i` (0..<batchCount) of `epoch`.
    func makeEpoch(_ epoch: Int) -> @Sendable (Int) throws -> Batch
}

extension BatchSource {
    /// The batches of `epoch`, prepared `prefetch` ahead on a background thread.
    public func epoch(_ epoch: Int) -> EpochIterator {
        EpochIterator(batchCount: batchCount, prefetch: prefetch, make: makeEpoch(epoch))
    }

    /// Batch `index` of `epoch`, built on the calling thread (no prefetch).
    public func batch(epoch: Int, index: Int) throws -> Batch { try makeEpoch(epoch)(index) }

    /// Calls `body` with every batch of `epoch`, in order; the first error (from a sample or from
    /// `body`) stops the epoch and is rethrown.
    public func forEachBatch(epoch: Int, _ body: (Batch) throws -> Void) throws {
        let it = self.epoch(epoch)
        while let batch = try it.next() { try body(batch) }
    }
}
