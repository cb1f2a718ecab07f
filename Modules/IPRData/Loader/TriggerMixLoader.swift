import Foundation
import IPRTensor

/// Wraps a loader and appends `perBatch` trigger-set samples to every batch (scheme V3 and the
/// backdoor baseline: each batch is extended by k trigger images, cycled).
///
/// Within epoch `e`, trigger positions 0, 1, 2, … (batch `b` takes positions `b*k ..< (b+1)*k`) walk
/// through the trigger set in passes; each pass visits every trigger sample once, in a permutation
/// drawn from `RNG(seed:stream:)` for (e, pass). Trigger samples get their own `transform` (the
/// trigger set is full-size photos: center crop 32). When that transform is not random, each
/// trigger sample is decoded and transformed once and kept (100 × 3×32×32 floats for the real set).
public final class TriggerMixLoader: BatchSource {
    /// The loader whose batches are extended.
    public let base: DataLoader
    /// The trigger set.
    public let trigger: any Dataset
    /// Trigger samples appended to every batch (k).
    public let perBatch: Int
    /// Applied to trigger samples (default: center crop 32, to-tensor, ImageNet normalise).
    public let transform: SampleTransform
    /// Seeds the trigger order.
    public let seed: UInt64
    private let cache: TriggerCache?
    // Keep the trigger order and trigger augmentation independent of the base loader's draws
    // when both loaders get the same seed.
    static let orderSalt: UInt64 = 0x7472_6967_6765_7273
    static let transformSalt: UInt64 = 0x7472_6967_5f61_7567

    /// - Parameters:
    ///   - perBatch: trigger samples appended to each batch (k; 2 in the reference).
    ///   - seed: seeds the trigger order (and the trigger transform's draws, if it is random).
    public init(base: DataLoader, trigger: any Dataset, perBatch: Int = 2, transform: SampleTransform = .triggerSet(),
                seed: UInt64 = 0) {
        precondition(perBatch > 0, "TriggerMixLoader: perBatch must be positive")
        precondition(trigger.count > 0, "TriggerMixLoader: the trigger set is empty")
        self.base = base
        self.trigger = trigger
        self.perBatch = perBatch
        self.transform = transform
        self.seed = seed
        cache = transform.isRandom ? nil : TriggerCache()
    }

    /// The base loader's batch count.
    public var batchCount: Int { base.batchCount }
    /// The base loader's images and the trigger samples appended to its batches.
    public var sampleCount: Int { base.sampleCount + perBatch * base.batchCount }
    /// The base loader's prefetch depth.
    public var prefetch: Int { base.prefetch }

    /// Trigger-set indices appended to batch `batch` of `epoch`.
    public func triggerIndices(epoch: Int, batch: Int) -> [Int] {
        let n = trigger.count
        var permutations: [Int: [Int]] = [:]
        return (0..<perBatch).map { j in
            let position = batch * perBatch + j
            let pass = position / n
            if permutations[pass] == nil {
                var rng = RNG(seed: seed ^ TriggerMixLoader.orderSalt, stream: UInt64(epoch) << 32 | UInt64(UInt32(truncatingIfNeeded: pass)))
                permutations[pass] = rng.permutation(n)
            }
            return permutations[pass]![position % n]
        }
    }

    /// The builder of batch `b` of `epoch`: the base batch with `perBatch` trigger samples appended.
    public func makeEpoch(_ epoch: Int) -> @Sendable (Int) throws -> Batch {
        let makeBase = base.makeEpoch(epoch)
        return { [self] b in
            let batch = try makeBase(b)
            let picks = triggerIndices(epoch: epoch, batch: b)
            let (triggers, triggerLabels) = try triggerTensors(picks, epoch: epoch, batch: b)
            guard Array(triggers.shape.dropFirst()) == Array(batch.images.shape.dropFirst()) else {
                throw IPRDataError(.imageSize,
                    "batch \(b) of epoch \(epoch): trigger samples are \(triggers.shape.dropFirst().map(String.init).joined(separator: "x")) "
                    + "after the trigger transform, but the batch images are "
                    + "\(batch.images.shape.dropFirst().map(String.init).joined(separator: "x"))")
            }
            let images = Tensor(shape: [batch.count + perBatch] + Array(batch.images.shape.dropFirst()),
                                storage: TensorStorage(count: batch.images.count + triggers.count, zeroed: false))
            images.pointer.update(from: batch.images.pointer, count: batch.images.count)
            (images.pointer + batch.images.count).update(from: triggers.pointer, count: triggers.count)
            return Batch(images: images, labels: batch.labels + triggerLabels, indices: batch.indices, triggerIndices: picks)
        }
    }

    private func triggerTensors(_ picks: [Int], epoch: Int, batch: Int) throws -> (Tensor, [Int]) {
        guard let cache else {
            let items = picks.enumerated().map { j, index in
                (dataset: index, rng: RNG(seed: seed ^ TriggerMixLoader.transformSalt, stream: UInt64(epoch) << 32 | UInt64(batch * perBatch + j)))
            }
            return try base.tensors(items, source: trigger, transform: transform, workers: 1,
                                    context: "trigger samples of batch \(batch) of epoch \(epoch)")
        }
        var parts: [(values: [Float], shape: [Int], label: Int)] = []
        for index in picks {
            if let hit = cache.get(index) { parts.append(hit); continue }
            let (t, labels) = try base.tensors([(dataset: index, rng: RNG(seed: 0))], source: trigger, transform: transform, workers: 1,
                                               context: "trigger sample \(index)")
            let entry = (values: t.array, shape: Array(t.shape.dropFirst()), label: labels[0])
            cache.set(index, entry)
            parts.append(entry)
        }
        for p in parts where p.shape != parts[0].shape {
            throw IPRDataError(.imageSize, "trigger samples differ in size after the trigger transform: \(p.shape) and \(parts[0].shape)")
        }
        let out = Tensor(shape: [parts.count] + parts[0].shape, data: parts.flatMap(\.values))
        return (out, parts.map(\.label))
    }
}

/// Transformed trigger samples of a deterministic trigger transform, filled on first use.
final class TriggerCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [Int: (values: [Float], shape: [Int], label: Int)] = [:]

    func get(_ index: Int) -> (values: [Float], shape: [Int], label: Int)? { lock.withLock { entries[index] } }
    func set(_ index: Int, _ entry: (values: [Float], shape: [Int], label: Int)) { lock.withLock { entries[index] = entry } }
}
