/// Records of CIFAR binary batch files, decoded once into HWC images and labels.
///
/// A record is `labelBytes` label bytes (CIFAR-10: the class; CIFAR-100: coarse, fine) followed by
/// 3072 bytes: the red, green and blue 32×32 planes, row-major.
struct CIFARRecords: Sendable {
    static let pixelBytes = 3072
    /// All images, HWC, 3072 bytes each.
    let images: [UInt8]
    let labels: [Int]

    /// Reads `files` in order. `labelIndex` picks the label byte used; every label byte `b` must be
    /// below `labelLimits[b]`.
    init(files: [String], dataset: String, labelIndex: Int, labelLimits: [Int]) throws {
        let labelBytes = labelLimits.count
        let recordSize = labelBytes + CIFARRecords.pixelBytes
        var images: [UInt8] = []
        var labels: [Int] = []
        for path in files {
            let bytes = try FileSystem.read(path)
            guard bytes.count % recordSize == 0 else {
                throw IPRDataError(.malformedFile,
                    "\(path): size \(bytes.count) bytes is not a multiple of the \(recordSize)-byte \(dataset) record "
                    + "(\(labelBytes) label byte\(labelBytes > 1 ? "s" : "") + 3072 pixel bytes): "
                    + "\(bytes.count / recordSize) records and \(bytes.count % recordSize) bytes left over")
            }
            let n = bytes.count / recordSize
            let base = labels.count
            images.append(contentsOf: repeatElement(0, count: n * CIFARRecords.pixelBytes))
            labels.reserveCapacity(base + n)
            try bytes.withUnsafeBufferPointer { src in
                try images.withUnsafeMutableBufferPointer { dst in
                    for r in 0..<n {
                        let record = src.baseAddress! + r * recordSize
                        for b in 0..<labelBytes where Int(record[b]) >= labelLimits[b] {
                            throw IPRDataError(.labelOutOfRange,
                                "\(path): record \(r) (byte offset \(r * recordSize + b)): label byte \(record[b]), "
                                + "expected 0...\(labelLimits[b] - 1)")
                        }
                        labels.append(Int(record[labelIndex]))
                        // CHW planes → HWC.
                        let planes = record + labelBytes
                        let out = dst.baseAddress! + (base + r) * CIFARRecords.pixelBytes
                        for p in 0..<1024 {
                            out[3 * p] = planes[p]; out[3 * p + 1] = planes[1024 + p]; out[3 * p + 2] = planes[2048 + p]
                        }
                    }
                }
            }
        }
        self.images = images
        self.labels = labels
    }

    func image(at index: Int) -> Image {
        Image(width: 32, height: 32, channels: 3) { out in
            images.withUnsafeBufferPointer { src in
                out.baseAddress!.initialize(from: src.baseAddress! + index * CIFARRecords.pixelBytes, count: CIFARRecords.pixelBytes)
            }
        }
    }

    /// The folder holding the batch files: `root` itself or its `subfolder`, whichever has `probe`.
    static func resolveRoot(_ root: String, subfolder: String, probes: [String], dataset: String) throws -> String {
        for folder in [root, FileSystem.join(root, subfolder)] where probes.contains(where: { FileSystem.isFile(FileSystem.join(folder, $0)) }) {
            return folder
        }
        guard FileSystem.isDirectory(root) else { throw IPRDataError(.missingFile, "\(root): no such folder (expected a \(dataset) folder)") }
        throw IPRDataError(.missingFile,
            "\(root): expected \(dataset) binary files (\(probes.joined(separator: ", "))) in this folder or in \(subfolder)/, found none")
    }

    /// Class names from a text file with one name per line, or `fallback` when the file is absent.
    static func classNames(_ path: String, expected: Int, fallback: [String]) throws -> [String] {
        guard FileSystem.isFile(path) else { return fallback }
        let names = TextLines.split(try FileSystem.read(path)).filter { !$0.isEmpty }
        guard names.count == expected else {
            throw IPRDataError(.malformedFile, "\(path): expected \(expected) class names (one per line), found \(names.count)")
        }
        return names
    }
}

/// CIFAR-10 in the official binary format (`cifar-10-batches-bin`).
///
/// Train reads whichever of `data_batch_1.bin` … `data_batch_5.bin` are present (in that order),
/// test reads `test_batch.bin`; class names come from `batches.meta.txt`. `root` is the
/// `cifar-10-batches-bin` folder or the folder that contains it. The files are read once at init.
public struct CIFAR10: Dataset {
    public let classNames: [String]
    /// Labels of all samples, in order.
    public let labels: [Int]
    /// The batch files read, in order.
    public let files: [String]
    let records: CIFARRecords

    /// Reads the `split` of the CIFAR-10 folder `root`.
    /// - Throws: `IPRDataError` `.missingFile`, `.emptyFile`, `.malformedFile`, `.labelOutOfRange`.
    public init(root: String, split: DatasetSplit) throws {
        let trainNames = (1...5).map { "data_batch_\($0).bin" }
        let folder = try CIFARRecords.resolveRoot(root, subfolder: "cifar-10-batches-bin",
                                                  probes: trainNames + ["test_batch.bin"], dataset: "CIFAR-10")
        let wanted = split == .train ? trainNames : ["test_batch.bin"]
        let files = wanted.map { FileSystem.join(folder, $0) }.filter(FileSystem.isFile)
        guard !files.isEmpty else {
            throw IPRDataError(.missingFile, "\(folder): expected CIFAR-10 \(split.rawValue) file(s) \(wanted.joined(separator: ", ")), found none")
        }
        let names = try CIFARRecords.classNames(FileSystem.join(folder, "batches.meta.txt"), expected: 10, fallback: cifar10ClassNames)
        try self.init(files: files, classNames: names)
    }

    /// Reads the given CIFAR-10 batch files (1 label byte + 3072 pixel bytes per record), in order.
    public init(files: [String], classNames: [String] = cifar10ClassNames) throws {
        precondition(classNames.count == 10, "CIFAR10: 10 class names expected")
        records = try CIFARRecords(files: files, dataset: "CIFAR-10", labelIndex: 0, labelLimits: [10])
        labels = records.labels
        self.files = files
        self.classNames = classNames
    }

    public var count: Int { labels.count }

    public func sample(at index: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return (records.image(at: index), labels[index])
    }
}

/// CIFAR-100 in the official binary format (`cifar-100-binary`: `train.bin`, `test.bin`), fine labels.
///
/// Each record has 2 label bytes, coarse (0..<20) then fine (0..<100); the fine label is used.
/// Class names come from `fine_label_names.txt` when present.
public struct CIFAR100: Dataset {
    public let classNames: [String]
    /// Fine labels of all samples, in order.
    public let labels: [Int]
    /// The files read.
    public let files: [String]
    let records: CIFARRecords

    /// Reads the `split` of the CIFAR-100 folder `root` (`cifar-100-binary` or the folder containing it).
    public init(root: String, split: DatasetSplit) throws {
        let folder = try CIFARRecords.resolveRoot(root, subfolder: "cifar-100-binary",
                                                  probes: ["train.bin", "test.bin"], dataset: "CIFAR-100")
        let file = FileSystem.join(folder, split == .train ? "train.bin" : "test.bin")
        guard FileSystem.isFile(file) else { throw IPRDataError(.missingFile, "\(file): no such file (CIFAR-100 \(split.rawValue) split)") }
        let names = try CIFARRecords.classNames(FileSystem.join(folder, "fine_label_names.txt"), expected: 100,
                                                fallback: cifar100FineClassNames)
        try self.init(files: [file], classNames: names)
    }

    /// Reads the given CIFAR-100 files (2 label bytes + 3072 pixel bytes per record), in order.
    public init(files: [String], classNames: [String] = cifar100FineClassNames) throws {
        precondition(classNames.count == 100, "CIFAR100: 100 class names expected")
        records = try CIFARRecords(files: files, dataset: "CIFAR-100", labelIndex: 1, labelLimits: [20, 100])
        labels = records.labels
        self.files = files
        self.classNames = classNames
    }

    public var count: Int { labels.count }

    public func sample(at index: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return (records.image(at: index), labels[index])
    }
}

/// The 100 CIFAR-100 fine class names in label order (as `fine_label_names.txt` lists them).
public let cifar100FineClassNames = """
    apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle \
    caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish \
    forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle \
    mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine \
    possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar \
    sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale \
    willow_tree wolf woman worm
    """.split(separator: " ").map(String.init)
