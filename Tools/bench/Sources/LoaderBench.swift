// Loader throughput: the CIFAR training transform (random crop 32 with 4 px zero padding, random
// horizontal flip, to-tensor, ImageNet normalise) through DataLoader on the Fixtures CIFAR subset,
// with one worker thread (the prefetch thread builds every batch; the caller only waits), so the
// figure is images/s on one core. Run from the repository root (Fixtures/ is found from there).
import Foundation
import IPRData
import IPRTensor

/// Measures loader images/s over `reps` timed repetitions (after one warm-up) and emits one JSON record.
func runLoaderBench(reps: Int, batch: Int, emit: ([String: Any]) -> Void) throws {
    let root = FileManager.default.currentDirectoryPath + "/Fixtures/cifar10_subset"
    let train = try CIFAR10(root: root, split: .train)
    let loader = DataLoader(dataset: train, batchSize: batch, shuffle: true, seed: 0, dropLast: true,
                            transform: .cifarTrain(), prefetch: 2, workers: 1)
    let imagesPerEpoch = loader.batchCount * batch
    // Enough epochs per repetition that one takes tens of milliseconds.
    let epochsPerRep = max(1, 20_000 / max(imagesPerEpoch, 1))
    let (medianMs, samples) = try timeEpochs(loader, reps: reps, epochsPerRep: epochsPerRep)
    let images = imagesPerEpoch * epochsPerRep
    emit(["engine": "swift", "bench": "loader", "name": "CIFAR train transform, 1 core", "median_ms": medianMs,
          "samples_ms": samples, "images_per_s": Double(images) / (medianMs / 1000), "images_per_rep": images,
          "batch": batch])
}

/// Median and samples (ms) of `reps` repetitions of `epochsPerRep` epochs, after one warm-up.
func timeEpochs(_ loader: DataLoader, reps: Int, epochsPerRep: Int = 1) throws -> (median: Double, samples: [Double]) {
    var epoch = 0
    var checksum: Float = 0
    var failure: Error?
    let result = measure(reps: max(reps, 1)) {
        for _ in 0..<epochsPerRep {
            do { try loader.forEachBatch(epoch: epoch) { checksum += $0.images.pointer[0] } } catch { failure = error }
            epoch += 1
        }
    }
    if let failure { throw failure }
    _ = checksum
    return result
}

/// ImageNet loading at 224 on real photos: the reference's training transform (random-resized crop
/// 224, flip) and test transform (resize 256, center crop 224) over every JPEG of `photos/<class>/`,
/// each with full decoding (PIL's path) and with DCT-scaled decoding, on 1 and 2 worker threads.
func runPhotoLoaderBench(reps: Int, batch: Int, photos: String, emit: ([String: Any]) -> Void) throws {
    let data = try ImageFolder(root: photos)
    let transforms: [(String, SampleTransform)] = [("train", .imageNetTrain()), ("test", .imageNetTest())]
    for (name, transform) in transforms {
        for scaled in [false, true] {
            for workers in [1, 2] {
                let loader = DataLoader(dataset: data, batchSize: batch, shuffle: true, seed: 0, dropLast: true,
                                        transform: transform, prefetch: 2, workers: workers, scaledDecoding: scaled)
                let (medianMs, samples) = try timeEpochs(loader, reps: reps)
                let images = loader.batchCount * batch
                emit(["engine": "swift", "bench": "loader224",
                      "name": "\((photos as NSString).lastPathComponent) imagenet \(name), \(scaled ? "scaled" : "full") decode, \(workers) worker\(workers > 1 ? "s" : "")",
                      "median_ms": medianMs, "samples_ms": samples, "images_per_s": Double(images) / (medianMs / 1000),
                      "images_per_rep": images, "batch": batch])
            }
        }
    }
}
