import IPRBackdoor
import IPRData
import IPRModels

/// Which images a workflow reads and how: a registered dataset, its folder, and the loader's
/// settings. Opening a split (with the registered transforms, gray images padded, a held-out
/// fraction of a single folder, a limit) is this one value's job for every workflow and command.
public struct DataRequest: Sendable, Equatable {
    /// A registered dataset (`Datasets.registry`).
    public var dataset: String
    /// Its folder; nil for a dataset that needs none (Fashion-MNIST: Debian's copy).
    public var root: String?
    public var batchSize = 64
    /// Threads decoding and augmenting each batch.
    public var workers = 1
    /// Gray datasets: zero-pad to this side (default 32, the CIFAR models' input).
    public var padTo: Int?
    /// Only the first N images of each split.
    public var limit: Int?
    /// A folder without train/ + val/: hold out this fraction of each class as the test split.
    public var valFraction: Double?
    public var splitSeed: UInt64 = 0
    /// Decode JPEGs at full size (else large ones are decoded at 1/2, 1/4 or 1/8 size).
    public var fullDecode = false
    /// How messages name `root` (a command's flag, e.g. `--data`).
    public var rootName = "--data"

    public init(dataset: String, root: String? = nil) {
        self.dataset = dataset; self.root = root
    }

    /// Checks the values before anything is read.
    /// - Throws: `WorkflowError` naming the value.
    public func validate() throws {
        guard Datasets.registry.names.contains(dataset) else {
            throw WorkflowError("unknown dataset '\(dataset)'; known: \(Datasets.registry.names.joined(separator: ", "))")
        }
        guard batchSize > 0 else { throw WorkflowError("batch size must be positive, got \(batchSize)") }
        guard workers > 0 else { throw WorkflowError("workers must be positive, got \(workers)") }
        if let limit, limit <= 0 { throw WorkflowError("limit must be positive, got \(limit)") }
        if let valFraction, !(valFraction > 0 && valFraction < 1) { throw WorkflowError("the held-out fraction must be in (0, 1), got \(valFraction)") }
        if root == nil, (try? Datasets.kind(dataset))?.needsRoot != false { throw WorkflowError("\(rootName) is required for dataset '\(dataset)'") }
    }

    /// One split of the dataset.
    public func open(_ split: DatasetSplit, channels: Int = 3) throws -> any Dataset {
        let kind = try Datasets.kind(dataset)
        guard let root = root ?? (kind.needsRoot ? nil : "") else { throw WorkflowError("\(rootName) is required for dataset '\(dataset)'") }
        let full = try kind.make(DatasetOptions(root: root, split: split, channels: channels, padTo: padTo ?? (kind.gray ? 32 : nil),
                                                valFraction: valFraction, splitSeed: splitSeed))
        return try limit.map { try Subset(full, limit: $0) } ?? full
    }

    /// The test split, or nil when the dataset has none (a single folder, no held-out fraction).
    public func openTest() throws -> (any Dataset)? {
        do { return try open(.test) } catch let error as IPRDataError where error.code == .missingFile || error.code == .noTestSplit { return nil }
    }

    /// `set`'s loader, transformed as a model of `info` expects (the training transform with
    /// `shuffle`: augmentation and a seeded order).
    public func loader(_ set: any Dataset, for info: CheckpointInfo, shuffle: Bool = false, seed: UInt64 = 0) throws -> DataLoader {
        let transforms = try Datasets.kind(dataset).transforms(info.config.inputSize, info.normalize)
        return DataLoader(dataset: set, batchSize: batchSize, shuffle: shuffle, seed: seed,
                          transform: shuffle ? transforms.train : transforms.test, workers: workers, scaledDecoding: !fullDecode)
    }

    /// The images a model of `info` (read from `model`) is evaluated on: the test split, or the whole
    /// folder when it has none — then `note` says so, as the folder given is the evaluation data.
    /// - Throws: `WorkflowError` when the classes disagree.
    public func evaluation(for info: CheckpointInfo, model: String) throws -> (batches: DataLoader, note: String?) {
        var note: String?
        let set: any Dataset
        do { set = try open(.test) } catch let error as IPRDataError where error.code == .noTestSplit {
            set = try open(.train)
            note = "\(root ?? dataset) has no test split: evaluating all its \(set.count) images (a held-out accuracy only if the model never trained on them)"
        }
        guard set.classNames.count == info.config.classes else {
            throw WorkflowError("\(model) has \(info.config.classes) classes but \(dataset) has \(set.classNames.count)")
        }
        return (try loader(set, for: info), note)
    }
}

/// A workflow's refusal of its inputs (what the caller asked is inconsistent or missing), with a
/// message that names the value; errors of the domain libraries pass through unchanged.
public struct WorkflowError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
