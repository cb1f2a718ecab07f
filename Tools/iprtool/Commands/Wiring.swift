import ArgumentParser
import Foundation
import IPRBackdoor
import IPRData
import IPRModels
import IPRTensor

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

    /// The dataset split, or a clear error naming the flag.
    func open(_ split: DatasetSplit, channels: Int = 3) throws -> any Dataset {
        try Self.open(dataset, root: data, split: split, channels: channels, padTo: padTo, limit: limit,
                      valFraction: valFraction, splitSeed: splitSeed, flag: "--data")
    }

    /// Dataset `name` at `root` (Fashion-MNIST needs none: Debian's copy), gray ones padded to 32.
    static func open(_ name: String, root: String?, split: DatasetSplit, channels: Int = 3, padTo: Int? = nil, limit: Int? = nil,
                     valFraction: Double? = nil, splitSeed: UInt64 = 0, flag: String) throws -> any Dataset {
        let kind = try Datasets.kind(name)
        guard let root = root ?? (kind.needsRoot ? nil : "") else {
            throw ValidationError("\(flag) is required for dataset '\(name)'")
        }
        let full = try kind.make(DatasetOptions(root: root, split: split, channels: channels, padTo: padTo ?? (kind.gray ? 32 : nil),
                                                valFraction: valFraction, splitSeed: splitSeed))
        return try limit.map { try Subset(full, limit: $0) } ?? full
    }

    /// The test split as evaluation batches, transformed as a model with `info` expects; checks
    /// that the classes agree. A folder without a test split is evaluated whole, and a note says
    /// so: the folder given is then the evaluation data.
    func testBatches(for info: CheckpointInfo, checkpoint: String) throws -> LoaderTrainingData {
        let testSet: any Dataset
        do { testSet = try open(.test) } catch let error as IPRDataError where error.code == .noTestSplit {
            testSet = try open(.train)
            FileHandle.standardError.write(Data("note: \(data ?? dataset) has no test split: evaluating all its \(testSet.count) images (a held-out accuracy only if the model never trained on them)\n".utf8))
        }
        guard testSet.classNames.count == info.config.classes else {
            throw ValidationError("\(checkpoint) has \(info.config.classes) classes but \(dataset) has \(testSet.classNames.count)")
        }
        let transform = try Datasets.kind(dataset).transforms(info.config.inputSize, info.normalize).test
        let loader = DataLoader(dataset: testSet, batchSize: batchSize, transform: transform, workers: workers, scaledDecoding: !fullDecode)
        return LoaderTrainingData(loader: loader, samples: testSet.count)
    }

    func validateNames() throws {
        guard Datasets.registry.names.contains(dataset) else {
            throw ValidationError("unknown dataset '\(dataset)'; known: \(Datasets.registry.names.joined(separator: ", "))")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        guard workers > 0 else { throw ValidationError("--workers must be positive, got \(workers)") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive, got \(limit)") }
        if let valFraction, !(valFraction > 0 && valFraction < 1) { throw ValidationError("--val-fraction must be in (0, 1), got \(valFraction)") }
        if data == nil, (try? Datasets.kind(dataset))?.needsRoot != false { throw ValidationError("--data is required for dataset '\(dataset)'") }
    }
}

/// Seconds since `start`, for messages.
func elapsed(since start: Date) -> String { formatDuration(Date().timeIntervalSince(start)) }

/// Writes a line to standard output unbuffered, so it interleaves correctly with progress on stderr.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
