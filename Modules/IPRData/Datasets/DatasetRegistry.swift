import IPRTensor

/// What a dataset factory is given: where the data is and how to read it.
public struct DatasetOptions: Sendable, Codable, Equatable {
    /// The dataset folder (for `fashion-mnist`, empty means Debian's install path).
    public var root: String
    /// Train or test split (ignored by datasets without splits: the trigger set).
    public var split: DatasetSplit
    /// Image channels for gray datasets: 1, or 3 to replicate gray into RGB. RGB datasets need 3.
    public var channels: Int
    /// Zero-pad gray images to this square side (28 → 32), or nil.
    public var padTo: Int?
    /// Image folders without `train/` + `val/`: the fraction of each class held out as the test split.
    public var valFraction: Double?
    /// Seeds that hold-out (apart from the training seed, so that every command agrees on the split).
    public var splitSeed: UInt64
    /// Further options for user datasets ("labels": a trigger-set label file name, …).
    public var extra: [String: String]

    public init(root: String, split: DatasetSplit = .train, channels: Int = 3, padTo: Int? = nil,
                valFraction: Double? = nil, splitSeed: UInt64 = 0, extra: [String: String] = [:]) {
        self.root = root
        self.split = split
        self.channels = channels
        self.padTo = padTo
        self.valFraction = valFraction
        self.splitSeed = splitSeed
        self.extra = extra
    }
}

/// Builds a dataset from options.
public typealias DatasetFactory = @Sendable (DatasetOptions) throws -> any Dataset

/// A registered dataset: how to build it, and what it brings along — its transforms and how its
/// images are stored — so a tool can use a dataset it has never heard of by name alone.
public struct DatasetKind: Sendable {
    public var make: DatasetFactory
    /// Training and evaluation transforms for a model of input size `inputSize`.
    public var transforms: @Sendable (_ inputSize: Int, _ normalize: Normalize) -> (train: SampleTransform, test: SampleTransform)
    /// Gray images: padded to 32 and replicated to 3 channels by default, for the CIFAR-sized models.
    public var gray: Bool
    /// Whether it needs a folder (Fashion-MNIST defaults to Debian's copy).
    public var needsRoot: Bool

    public init(gray: Bool = false, needsRoot: Bool = true,
                transforms: @escaping @Sendable (Int, Normalize) -> (train: SampleTransform, test: SampleTransform) = DatasetKind.centerCrop,
                make: @escaping DatasetFactory) {
        self.make = make; self.transforms = transforms; self.gray = gray; self.needsRoot = needsRoot
    }

    /// Center crop to the input size, to tensor, normalise — for training and evaluation alike (image
    /// folders at CIFAR size, the trigger set, and datasets registered without transforms).
    public static let centerCrop: @Sendable (Int, Normalize) -> (train: SampleTransform, test: SampleTransform) = { size, normalize in
        let crop = SampleTransform(CenterCrop(size), normalize: normalize)
        return (crop, crop)
    }

    /// The reference's CIFAR transforms: pad-4 random crop and flip for training, none for testing.
    public static let cifar: @Sendable (Int, Normalize) -> (train: SampleTransform, test: SampleTransform) = { _, normalize in
        (.cifarTrain(normalize: normalize), .cifarTest(normalize: normalize))
    }

    /// The reference's ImageNet transforms (`prepare_imagenet`): random-resized crop and flip for
    /// training; resize to 256/224 of the input size and center crop for testing (256 and 224 at 224).
    public static let imageNet: @Sendable (Int, Normalize) -> (train: SampleTransform, test: SampleTransform) = { size, normalize in
        (.imageNetTrain(size: size, normalize: normalize), .imageNetTest(size: size, normalize: normalize))
    }

    /// The reference's Caltech transforms (`prepare_dataset`): resize and center crop to the input
    /// size, then a padded random crop (padding size/8) and a flip for training.
    public static let caltech: @Sendable (Int, Normalize) -> (train: SampleTransform, test: SampleTransform) = { size, normalize in
        (SampleTransform(Resize(size), CenterCrop(size), RandomCrop(size, padding: size / 8), RandomHorizontalFlip(), normalize: normalize),
         SampleTransform(Resize(size), CenterCrop(size), normalize: normalize))
    }

    /// Image folders: ImageNet's transforms at 224; at other sizes (the CIFAR models on folders of
    /// small images, the trigger set's layout) a center crop, as before splits existed.
    public static let imageFolder: @Sendable (Int, Normalize) -> (train: SampleTransform, test: SampleTransform) = { size, normalize in
        size == 224 ? imageNet(size, normalize) : centerCrop(size, normalize)
    }

    /// Already at the input size (gray data padded by the reader): to tensor and normalise only.
    public static let asIs: @Sendable (Int, Normalize) -> (train: SampleTransform, test: SampleTransform) = { _, normalize in
        let plain = SampleTransform([], normalize: normalize)
        return (plain, plain)
    }
}

extension Registry where Entry == DatasetKind {
    /// Registers a dataset that brings only its factory: center-crop transforms, RGB, a folder needed.
    public func register(_ name: String, description: String, _ factory: @escaping DatasetFactory) {
        register(name, description: description, DatasetKind(make: factory))
    }
}

/// The dataset registry: built-ins by name, and the place to register your own.
///
/// ```swift
/// Datasets.registry.register("my-scans", description: "scans as PNG folders") { try MyScans(root: $0.root) }
/// let data = try Datasets.make("cifar10", DatasetOptions(root: "Fixtures/cifar10_subset", split: .test))
/// ```
public enum Datasets {
    /// Name → kind. The built-ins are registered in `registerBuiltins`.
    public static let registry: Registry<DatasetKind> = {
        let registry = Registry<DatasetKind>(kind: "dataset")
        registerBuiltins(in: registry)
        return registry
    }()

    /// The registered kind `name`.
    /// - Throws: `IPRDataError.invalidOption` for an unknown name (listing the known ones).
    public static func kind(_ name: String) throws -> DatasetKind {
        do { return try registry.lookup(name) } catch let error as IPRTensorError {
            throw IPRDataError(.invalidOption, error.message)
        }
    }

    /// The dataset `name` built with `options`.
    /// - Throws: `IPRDataError.invalidOption` for an unknown name (listing the known ones), or the factory's error.
    public static func make(_ name: String, _ options: DatasetOptions) throws -> any Dataset {
        try kind(name).make(options)
    }

    /// The built-in datasets, in one visible place.
    static func registerBuiltins(in registry: Registry<DatasetKind>) {
        registry.register("cifar10", description: "CIFAR-10, official binary batches (data_batch_*.bin, test_batch.bin)", DatasetKind(transforms: DatasetKind.cifar) { o in
            try requireRGB(o, "cifar10")
            return try CIFAR10(root: o.root, split: o.split)
        })
        registry.register("cifar100", description: "CIFAR-100, official binary files (train.bin, test.bin), fine labels", DatasetKind(transforms: DatasetKind.cifar) { o in
            try requireRGB(o, "cifar100")
            return try CIFAR100(root: o.root, split: o.split)
        })
        registry.register("imagenet", description: "ImageNet layout: root/train/<class>/* and root/val/<class>/*, the same classes in both",
                          DatasetKind(transforms: DatasetKind.imageNet) { o in
            try requireRGB(o, "imagenet")
            return try ImageFolder.paired(train: FileSystem.join(o.root, "train"), test: FileSystem.join(o.root, "val"), split: o.split)
        })
        registry.register("imagefolder", description: "root/train + root/val (or test), or one root/<class>/* folder split by --val-fraction",
                          DatasetKind(transforms: DatasetKind.imageFolder) { o in
            try requireRGB(o, "imagefolder")
            return try ImageFolder.split(root: o.root, split: o.split, valFraction: o.valFraction, seed: o.splitSeed)
        })
        for variant in Caltech.Variant.allCases {
            let name = variant == .caltech101 ? "caltech101" : "caltech256"
            registry.register(name, description: "\(variant.rawValue)/<class>/*, the first 80 % of each class trains (the reference's split)",
                              DatasetKind(transforms: DatasetKind.caltech) { o in
                try requireRGB(o, name)
                return try Caltech.dataset(variant, root: o.root, split: o.split)
            })
        }
        registry.register("trigger-set", description: "WatermarkNN trigger set: pics/ + labels-cifar.txt, sorted pairing") { o in
            try requireRGB(o, "trigger-set")
            return try TriggerSet(root: o.root, labelFile: o.extra["labels"] ?? "labels-cifar.txt")
        }
        registry.register("fashion-mnist", description: "Fashion-MNIST IDX files (default: Debian's dataset-fashion-mnist)",
                          DatasetKind(gray: true, needsRoot: false, transforms: DatasetKind.asIs) { o in
            try IDXDataset(root: o.root.isEmpty ? IDXDataset.debianFashionMNISTRoot : o.root, split: o.split,
                           classNames: IDXDataset.fashionMNISTClassNames, channels: o.channels, padTo: o.padTo)
        })
        registry.register("idx", description: "MNIST-style IDX files (train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz])",
                          DatasetKind(gray: true, transforms: DatasetKind.asIs) { o in
            try IDXDataset(root: o.root, split: o.split, channels: o.channels, padTo: o.padTo)
        })
    }

    private static func requireRGB(_ options: DatasetOptions, _ name: String) throws {
        guard options.channels == 3 else {
            throw IPRDataError(.invalidOption, "dataset '\(name)' has RGB images: channels must be 3, got \(options.channels)")
        }
    }
}
