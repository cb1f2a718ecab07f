import Foundation
import IPRTensor
import Testing
@testable import IPRData

/// A small in-memory dataset: sample i is a solid w×h image of value i, label i % 10; index `failAt` throws.
struct SolidDataset: Dataset {
    var count: Int
    var width = 8, height = 8
    var failAt: Int? = nil
    var oddSizeAt: Int? = nil
    var classNames: [String] { cifar10ClassNames }
    func sample(at index: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        if index == failAt { throw IPRDataError(.corruptImage, "sample\(index).png: broken on purpose") }
        let w = index == oddSizeAt ? width + 1 : width
        return (Image(width: w, height: height, pixels: [UInt8](repeating: UInt8(index % 256), count: w * height * 3)), index % 10)
    }
}

@Suite("Data loader")
struct LoaderTests {
    @Test("Batches, shapes, drop-last, shuffle covers every sample once")
    func batches() throws {
        let data = SolidDataset(count: 10)
        let keep = DataLoader(dataset: data, batchSize: 4)
        #expect(keep.batchCount == 3)
        var sizes: [Int] = [], seen: [Int] = []
        try keep.forEachBatch(epoch: 0) { sizes.append($0.count); seen += $0.indices }
        #expect(sizes == [4, 4, 2] && seen == Array(0..<10))
        let drop = DataLoader(dataset: data, batchSize: 4, shuffle: true, seed: 3, dropLast: true)
        #expect(drop.batchCount == 2)
        let shuffled = DataLoader(dataset: data, batchSize: 3, shuffle: true, seed: 3)
        var order: [Int] = []
        try shuffled.forEachBatch(epoch: 0) { batch in
            order += batch.indices
            #expect(batch.labels == batch.indices.map { $0 % 10 })
            for (k, i) in batch.indices.enumerated() { #expect(batch.images[k, 2, 3, 4] == Float(i) / 255) }
        }
        #expect(order.sorted() == Array(0..<10) && order != Array(0..<10))
        #expect(shuffled.order(epoch: 0) != shuffled.order(epoch: 1))
        #expect(shuffled.order(epoch: 1) == DataLoader(dataset: data, batchSize: 5, shuffle: true, seed: 3).order(epoch: 1))
    }

    @Test("Same seed → identical batches, whatever prefetch and workers")
    func deterministic() throws {
        let train = try CIFAR10(root: Fixtures.cifar10, split: .test)
        func run(prefetch: Int, workers: Int, seed: UInt64 = 7) throws -> [[Float]] {
            let loader = DataLoader(dataset: train, batchSize: 32, shuffle: true, seed: seed, dropLast: true,
                                    transform: .cifarTrain(), prefetch: prefetch, workers: workers)
            var out: [[Float]] = []
            try loader.forEachBatch(epoch: 2) { out.append($0.images.array + $0.labels.map(Float.init)) }
            return out
        }
        let reference = try run(prefetch: 0, workers: 1)
        #expect(reference.count == 6)
        #expect(try run(prefetch: 3, workers: 2) == reference)
        #expect(try run(prefetch: 1, workers: 1) == reference)
        #expect(try run(prefetch: 0, workers: 1, seed: 8) != reference)
    }

    @Test("The CIFAR train transform: normalised 32x32 crops of padded, maybe flipped images")
    func cifarTrain() throws {
        let train = try CIFAR10(root: Fixtures.cifar10, split: .train)
        let loader = DataLoader(dataset: train, batchSize: 64, shuffle: true, seed: 1, transform: .cifarTrain())
        let batch = try loader.batch(epoch: 0, index: 0)
        #expect(batch.images.shape == [64, 3, 32, 32])
        let zero = (Float(0) - Normalize.imageNet.mean[0]) / Normalize.imageNet.std[0]
        let values = batch.images.array
        #expect(values.contains(zero))
        #expect(values.allSatisfy { $0 >= -2.2 && $0 <= 2.7 })
        // Sample k of the batch equals the transform applied with the loader's per-sample generator.
        let index = batch.indices[5]
        var rng = loader.sampleRNG(epoch: 0, index: index)
        let alone = try SampleTransform.cifarTrain()(try train.sample(at: index).image, rng: &rng)
        #expect(Array(values[(5 * 3072)..<(6 * 3072)]) == alone.array)
    }

    @Test("A failing sample surfaces as a thrown error, with or without prefetch")
    func errors() throws {
        for prefetch in [0, 2] {
            let loader = DataLoader(dataset: SolidDataset(count: 20, failAt: 13), batchSize: 4, prefetch: prefetch, workers: 2)
            let it = loader.epoch(0)
            var delivered = 0
            expectDataError(.corruptImage, mentioning: ["sample13.png"]) { while try it.next() != nil { delivered += 1 } }
            #expect(delivered == 3)
            #expect(try it.next() == nil)
        }
        expectDataError(.imageSize, mentioning: ["sample 6 is 9x8x3", "sample 4 is 8x8x3"]) {
            try DataLoader(dataset: SolidDataset(count: 8, oddSizeAt: 6), batchSize: 4).forEachBatch(epoch: 0) { _ in }
        }
        expectDataError(.imageSize, mentioning: ["sample 0", "smaller than the crop"]) {
            try DataLoader(dataset: SolidDataset(count: 4), batchSize: 4, transform: SampleTransform(CenterCrop(16)))
                .forEachBatch(epoch: 0) { _ in }
        }
    }

    @Test("Stopping early ends the prefetch thread without a hang")
    func earlyStop() throws {
        let loader = DataLoader(dataset: SolidDataset(count: 1000), batchSize: 10, prefetch: 4)
        for _ in 0..<5 {
            let it = loader.epoch(0)
            _ = try it.next()
        }
        var count = 0
        try loader.forEachBatch(epoch: 1) { _ in count += 1 }
        #expect(count == 100)
    }

    @Test("Trigger mixing: k trigger samples per batch, cycling in a seeded order")
    func triggerMix() throws {
        let base = DataLoader(dataset: SolidDataset(count: 40), batchSize: 8, shuffle: true, seed: 1, transform: SampleTransform([]))
        let trigger = SolidDataset(count: 5)
        let mixed = TriggerMixLoader(base: base, trigger: trigger, perBatch: 2, transform: SampleTransform([]), seed: 9)
        var picks: [Int] = []
        try mixed.forEachBatch(epoch: 0) { batch in
            #expect(batch.count == 10 && batch.images.shape == [10, 3, 8, 8])
            #expect(batch.triggerIndices.count == 2 && batch.indices.count == 8)
            #expect(Array(batch.labels.suffix(2)) == batch.triggerIndices.map { $0 % 10 })
            for (k, t) in batch.triggerIndices.enumerated() { #expect(batch.images[8 + k, 0, 0, 0] == Float(t) / 255) }
            picks += batch.triggerIndices
        }
        #expect(picks.count == 10)
        #expect(Set(picks[0..<5]) == Set(0..<5) && Set(picks[5..<10]) == Set(0..<5))   // each pass visits all
        #expect(picks == (0..<5).flatMap { mixed.triggerIndices(epoch: 0, batch: $0) })
        #expect(mixed.triggerIndices(epoch: 0, batch: 0) + mixed.triggerIndices(epoch: 0, batch: 1) != [0, 1, 2, 3])
        let again = TriggerMixLoader(base: base, trigger: trigger, perBatch: 2, transform: SampleTransform([]), seed: 9)
        #expect(try again.batch(epoch: 0, index: 3).images.array == mixed.batch(epoch: 0, index: 3).images.array)
    }

    @Test("Trigger mixing with the real trigger set and CIFAR (center crop 32, cached)")
    func realTriggerMix() throws {
        let train = try CIFAR10(root: Fixtures.cifar10, split: .train)
        let trigger = try TriggerSet(root: Fixtures.triggerSet)
        let base = DataLoader(dataset: train, batchSize: 16, shuffle: true, seed: 0, dropLast: true, transform: .cifarTrain())
        let mixed = TriggerMixLoader(base: base, trigger: trigger, perBatch: 2)
        let it = mixed.epoch(0)
        for _ in 0..<3 {
            let batch = try #require(try it.next())
            #expect(batch.images.shape == [18, 3, 32, 32])
            #expect(Array(batch.labels.suffix(2)) == batch.triggerIndices.map { trigger.labels[$0] })
            var rng = RNG(seed: 0)
            let want = try SampleTransform.triggerSet()(trigger.sample(at: batch.triggerIndices[1]).image, rng: &rng)
            #expect(Array(batch.images.array.suffix(3072)) == want.array)
        }
        // A trigger transform whose size does not match the batch is an error, not a crash.
        let wrong = TriggerMixLoader(base: base, trigger: trigger, perBatch: 1, transform: SampleTransform(CenterCrop(16)))
        expectDataError(.imageSize, mentioning: ["trigger samples are 3x16x16", "3x32x32"]) { _ = try wrong.batch(epoch: 0, index: 0) }
    }
}
