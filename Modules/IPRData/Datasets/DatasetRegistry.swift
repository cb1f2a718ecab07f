import IPRTensor

/// What a dataset factory is given: where the data is and how to read it.
public struct DatasetOptions: Sendable, Codable, Equatable {
    /// The dataset folder (for `fashion-mnist`, empty means Debian's install path).
    public var root: String
    /// Train or test split (ignored by datasets without splits: image folders, the trigger set).
    public var split: DatasetSplit
    /// Image channels for gray datasets: 1, or 3 to replicate gray into RGB. RGB datasets need 3.
    public var channels: Int
    /// Zero-pad gray images to this square side (28 → 32), or nil.
    public var padTo: Int?
    /// Further options for user datasets ("labels": a trigger-set label file name, …).
    public var extra: [String: String]

    public init(root: String, split: DatasetSplit = .train, channels: Int = 3, padTo: Int? = nil, extra: [String: String] = [:]) {
        self.root = root
        self.split = split
        self.channels = channels
        self.padTo = padTo
        self.extra = extra
    }
}

/// Builds a dataset from options.
public typealias DatasetFactory = @Sendable (DatasetOptions) throws -> any Dataset

/// The dataset registry: built-ins by name, and the place to register your own.
///
/// ```swift
/// Datasets.registry.register("my-scans", description: "scans as PNG folders") { try MyScans(root: $0.root) }
/// let data = try Datasets.make("cifar10", DatasetOptions(root: "Fixtures/cifar10_subset", split: .test))
/// ```
public enum Datasets {
    /// Name → factory. The built-ins are registered in `registerBuiltins`.
    public static let registry: Registry<DatasetFactory> = {
        let registry = Registry<DatasetFactory>(kind: "dataset")
        registerBuiltins(in: registry)
        return registry
    }()

    /// The dataset `name` built with `options`.
    /// - Throws: `IPRDataError.invalidOption` for an unknown name (listing the known ones), or the factory's error.
    public static func make(_ name: String, _ options: DatasetOptions) throws -> any Dataset {
        let factory: DatasetFactory
        do { factory = try registry.lookup(name) } catch let error as IPRTensorError {
            throw IPRDataError(.invalidOption, error.message)
        }
        return try factory(options)
    }

    /// The built-in datasets, in one visible place.
    static func registerBuiltins(in registry: Registry<DatasetFactory>) {
        registry.register("cifar10", description: "CIFAR-10, official binary batches (data_batch_*.bin, test_batch.bin)") { o in
            try requireRGB(o, "cifar10")
            return try CIFAR10(root: o.root, split: o.split)
        }
        registry.register("cifar100", description: "CIFAR-100, official binary files (train.bin, test.bin), fine labels") { o in
            try requireRGB(o, "cifar100")
            return try CIFAR100(root: o.root, split: o.split)
        }
        registry.register("imagefolder", description: "ImageNet-style folder root/<class>/*.{png,jpg,jpeg}, classes sorted") { o in
            try requireRGB(o, "imagefolder")
            return try ImageFolder(root: o.root)
        }
        registry.register("trigger-set", description: "WatermarkNN trigger set: pics/ + labels-cifar.txt, sorted pairing") { o in
            try requireRGB(o, "trigger-set")
            return try TriggerSet(root: o.root, labelFile: o.extra["labels"] ?? "labels-cifar.txt")
        }
        registry.register("fashion-mnist", description: "Fashion-MNIST IDX files (default: Debian's dataset-fashion-mnist)") { o in
            try IDXDataset(root: o.root.isEmpty ? IDXDataset.debianFashionMNISTRoot : o.root, split: o.split,
                           classNames: IDXDataset.fashionMNISTClassNames, channels: o.channels, padTo: o.padTo)
        }
        registry.register("idx", description: "MNIST-style IDX files (train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz])") { o in
            try IDXDataset(root: o.root, split: o.split, channels: o.channels, padTo: o.padTo)
        }
    }

    private static func requireRGB(_ options: DatasetOptions, _ name: String) throws {
        guard options.channels == 3 else {
            throw IPRDataError(.invalidOption, "dataset '\(name)' has RGB images: channels must be 3, got \(options.channels)")
        }
    }
}
