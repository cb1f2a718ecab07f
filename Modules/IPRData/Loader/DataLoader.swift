import Dispatch
import IPRTensor

/// Batches of a dataset as `[N, C, H, W]` tensors: per-epoch shuffle from a seed, optional drop of
/// the last partial batch, the transform applied per sample, background prefetch.
///
/// Deterministic: the order of epoch `e` is a permutation drawn from `RNG(seed:stream:)` for `e`,
/// and sample `i` of epoch `e` is augmented with its own generator `RNG(seed: seed, stream: e << 32 | i)`,
/// so the batches are the same for the same seed whatever `workers`, `prefetch` or thread timing.
///
/// ```swift
/// let train = try CIFAR10(root: "Fixtures/cifar10_subset", split: .train)
/// let loader = DataLoader(dataset: train, batchSize: 64, shuffle: true, seed: 1, transform: .cifarTrain())
/// for epoch in 0..<epochs { try loader.forEachBatch(epoch: epoch) { batch in /* batch.images, batch.labels */ } }
/// ```
public final class DataLoader: BatchSource {
    /// The samples.
    public let dataset: any Dataset
    /// Samples per batch (the last batch may be smaller unless `dropLast`).
    public let batchSize: Int
    /// Whether each epoch visits the samples in a seeded random order.
    public let shuffle: Bool
    /// Seeds the order and every sample's augmentation.
    public let seed: UInt64
    /// Whether a last batch smaller than `batchSize` is left out.
    public let dropLast: Bool
    /// Applied to each sample: image transforms, to-tensor, normalise.
    public let transform: SampleTransform
    /// Batches prepared ahead on a background thread (0: built on `next()`).
    public let prefetch: Int
    /// Threads that decode and augment the samples of one batch (1: the prefetch thread alone).
    public let workers: Int
    /// Whether large JPEGs decode at the reduced size the transform's first step allows
    /// (`ImageTransform.sourceSide`); false decodes every image at full size, as PIL does.
    public let scaledDecoding: Bool

    /// - Parameters:
    ///   - prefetch: batches prepared ahead on a background thread (0: none, build on `next()`).
    ///   - workers: threads splitting the samples of a batch (default 1).
    ///   - scaledDecoding: decode large JPEGs smaller when the transform shrinks them anyway (default true).
    public init(dataset: any Dataset, batchSize: Int, shuffle: Bool = false, seed: UInt64 = 0, dropLast: Bool = false,
                transform: SampleTransform = SampleTransform([]), prefetch: Int = 2, workers: Int = 1, scaledDecoding: Bool = true) {
        precondition(batchSize > 0, "DataLoader: batchSize must be positive, got \(batchSize)")
        precondition(prefetch >= 0 && workers >= 1, "DataLoader: prefetch must be ≥ 0 and workers ≥ 1")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.transform = transform
        self.prefetch = prefetch
        self.workers = workers
        self.scaledDecoding = scaledDecoding
    }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// Images per epoch (the dropped partial batch not counted).
    public var sampleCount: Int { dropLast ? batchCount * batchSize : dataset.count }

    /// Dataset indices in the order epoch `epoch` visits them.
    public func order(epoch: Int) -> [Int] {
        precondition(epoch >= 0, "DataLoader: negative epoch \(epoch)")
        guard shuffle else { return Array(0..<dataset.count) }
        var rng = RNG(seed: seed, stream: UInt64(epoch) << 32 | 0xFFFF_FFFF)
        return rng.permutation(dataset.count)
    }

    /// The generator that augments dataset sample `index` in `epoch`.
    public func sampleRNG(epoch: Int, index: Int) -> RNG {
        RNG(seed: seed, stream: UInt64(epoch) << 32 | UInt64(UInt32(truncatingIfNeeded: index)))
    }

    /// The builder of batch `b` of `epoch` (the order is drawn once per epoch).
    public func makeEpoch(_ epoch: Int) -> @Sendable (Int) throws -> Batch {
        let order = self.order(epoch: epoch)
        let batchSize = self.batchSize, count = dataset.count
        return { [self] b in
            precondition(b >= 0 && b < batchCount, "DataLoader: batch \(b) out of range 0..<\(batchCount)")
            let indices = Array(order[(b * batchSize)..<min((b + 1) * batchSize, count)])
            let (images, labels) = try self.tensors(indices.map { (dataset: $0, rng: sampleRNG(epoch: epoch, index: $0)) },
                                                     source: dataset, transform: transform, workers: workers,
                                                     context: "batch \(b) of epoch \(epoch)")
            return Batch(images: images, labels: labels, indices: indices)
        }
    }

    /// Decodes, transforms and stacks the given samples into `[N, C, H, W]` (shared with `TriggerMixLoader`).
    func tensors(_ items: [(dataset: Int, rng: RNG)], source: any Dataset, transform: SampleTransform, workers: Int,
                 context: String) throws -> (Tensor, [Int]) {
        let n = items.count
        let minimumSide = scaledDecoding ? transform.image.sourceSide ?? 0 : 0
        var images = [Image?](repeating: nil, count: n)
        var labels = [Int](repeating: 0, count: n)
        var errors = [Error?](repeating: nil, count: n)
        images.withUnsafeMutableBufferPointer { imageBuffer in
            labels.withUnsafeMutableBufferPointer { labelBuffer in
                errors.withUnsafeMutableBufferPointer { errorBuffer in
                    let out = UnsafeSendableBuffers(images: imageBuffer, labels: labelBuffer, errors: errorBuffer)
                    runChunks(n, workers: workers) { range in
                        for i in range {
                            do {
                                let s = try source.sample(at: items[i].dataset, minimumSide: minimumSide)
                                var rng = items[i].rng
                                do { out.images[i] = try transform.image.apply(s.image, rng: &rng) } catch let e as IPRDataError {
                                    throw IPRDataError(e.code, "sample \(items[i].dataset): \(e.message)")
                                }
                                out.labels[i] = s.label
                            } catch {
                                out.errors[i] = error
                            }
                        }
                    }
                }
            }
        }
        if let first = errors.first(where: { $0 != nil }), let error = first { throw error }
        let first = images[0]!
        for (i, x) in images.enumerated() where x!.width != first.width || x!.height != first.height || x!.channels != first.channels {
            throw IPRDataError(.imageSize,
                "\(context): sample \(items[i].dataset) is \(x!.width)x\(x!.height)x\(x!.channels) after the transform, but sample "
                + "\(items[0].dataset) is \(first.width)x\(first.height)x\(first.channels); add a crop or resize to the transform")
        }
        let per = first.pixels.count
        let tensor = Tensor(shape: [n, first.channels, first.height, first.width], storage: TensorStorage(count: n * per, zeroed: false))
        let base = SendableBox(tensor.pointer)
        let ready = images
        var writeErrors = [Error?](repeating: nil, count: n)
        writeErrors.withUnsafeMutableBufferPointer { errorBuffer in
            let errs = SendableBox(errorBuffer)
            runChunks(n, workers: workers) { range in
                for i in range {
                    do { try transform.write(ready[i]!, to: base.value + i * per) } catch { errs.value[i] = error }
                }
            }
        }
        if let first = writeErrors.first(where: { $0 != nil }), let error = first { throw error }
        return (tensor, labels)
    }
}

/// Runs `body` over `0..<count` split into `workers` contiguous chunks (inline for one worker).
func runChunks(_ count: Int, workers: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let chunks = min(workers, count)
    if chunks <= 1 { if count > 0 { body(0..<count) }; return }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        body((c * count / chunks)..<((c + 1) * count / chunks))
    }
}

/// Carries raw buffers into parallel chunks; each chunk writes a disjoint range.
struct SendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

struct UnsafeSendableBuffers: @unchecked Sendable {
    let images: UnsafeMutableBufferPointer<Image?>
    let labels: UnsafeMutableBufferPointer<Int>
    let errors: UnsafeMutableBufferPointer<Error?>
}
