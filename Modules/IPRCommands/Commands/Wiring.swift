import ArgumentParser
import Foundation
import IPRModels
import IPRWorkflows

/// Options every command that reads a dataset shares.
struct DataArguments: ParsableArguments {
    @Option(help: "Dataset name (see `iprtool datasets`).")
    var dataset = "cifar10"

    @Option(help: "Dataset folder (CIFAR: the folder with data_batch_*.bin / test_batch.bin; imagenet: the folder with train/ and val/; caltech101: the folder with 101_ObjectCategories/).")
    var data: String?

    @Option(help: "Images per batch.")
    var batchSize = 64

    @Option(help: "Threads decoding and augmenting each batch.")
    var workers = 1

    @Option(help: "Gray datasets: zero-pad images to this size (Fashion-MNIST 28 → 32 for the CIFAR models).")
    var padTo: Int?

    @Option(help: "Use only the first N images of each split (quick runs).")
    var limit: Int?

    @Option(help: "Image folders without train/ + val/: hold out this fraction of each class as the test split (seeded by --split-seed; every command given the same two values sees the same split).")
    var valFraction: Double?

    @Option(help: "Seed of the --val-fraction hold-out.")
    var splitSeed: UInt64 = 0

    @Flag(help: "Decode every JPEG at full size, as PIL does. By default a JPEG at least twice the size the first transform needs (Resize 256: a 512-pixel shorter side) is decoded at 1/2, 1/4 or 1/8 size, several times faster, with pixels that differ slightly from a full decode.")
    var fullDecode = false

    /// The library's description of the same request.
    var request: DataRequest { request(rootName: "--data") }

    func request(rootName: String) -> DataRequest {
        var r = DataRequest(dataset: dataset, root: data)
        (r.batchSize, r.workers, r.padTo, r.limit) = (batchSize, workers, padTo, limit)
        (r.valFraction, r.splitSeed, r.fullDecode, r.rootName) = (valFraction, splitSeed, fullDecode, rootName)
        return r
    }

    /// The request's own checks, with the flags named where a value is out of range.
    func validateNames() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        guard workers > 0 else { throw ValidationError("--workers must be positive, got \(workers)") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive, got \(limit)") }
        if let valFraction, !(valFraction > 0 && valFraction < 1) { throw ValidationError("--val-fraction must be in (0, 1), got \(valFraction)") }
        do { try request.validate() } catch let error as WorkflowError { throw ValidationError(error.message) }
    }
}

/// Seconds since `start`, for messages.
func elapsed(since start: Date) -> String { formatDuration(Date().timeIntervalSince(start)) }

/// Writes a line to standard output unbuffered, so it interleaves correctly with progress on stderr.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
