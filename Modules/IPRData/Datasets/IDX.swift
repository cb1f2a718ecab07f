/// MNIST-style IDX files (MNIST, Fashion-MNIST), gzipped or not: gray images with byte labels.
///
/// `channels: 3` replicates the gray plane so 1-channel data can feed 3-channel models;
/// `padTo: 32` centres 28×28 digits on a zero 32×32 canvas (the LeNet/AlexNet-CIFAR input size).
public struct IDXDataset: Dataset {
    public let classNames: [String]
    /// Labels of all samples, in order.
    public let labels: [Int]
    /// Rows and columns of the stored images (before padding).
    public let rows: Int, columns: Int
    /// Channels of the images `sample(at:)` returns: 1 or 3.
    public let channels: Int
    /// Side of the zero-padded canvas, or nil for the stored size.
    public let padTo: Int?
    let pixels: [UInt8]

    /// Fashion-MNIST's class names.
    public static let fashionMNISTClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                                "Sneaker", "Bag", "Ankle boot"]
    /// MNIST's class names ("0" … "9").
    public static let digitClassNames = (0..<10).map(String.init)
    /// Where Debian's `dataset-fashion-mnist` package installs the files.
    public static let debianFashionMNISTRoot = "/usr/share/datasets/fashion-mnist"

    /// Reads an image file (`idx3`, unsigned bytes, N×rows×cols) and a label file (`idx1`, N bytes).
    /// - Throws: `.missingFile`, `.emptyFile`, `.malformedFile` (bad magic, sizes, counts, gzip),
    ///   `.labelOutOfRange`, `.invalidOption` (channels not 1 or 3, `padTo` smaller than the images).
    public init(imagesFile: String, labelsFile: String, classNames: [String] = IDXDataset.digitClassNames,
                channels: Int = 1, padTo: Int? = nil) throws {
        guard channels == 1 || channels == 3 else {
            throw IDXDataset.invalidChannels(channels)
        }
        let (imageDims, imageData) = try IDXDataset.read(imagesFile, expectedRank: 3)
        let (labelDims, labelData) = try IDXDataset.read(labelsFile, expectedRank: 1)
        guard imageDims[0] == labelDims[0] else {
            throw IDXDataset.countMismatch(imagesFile, imageDims[0], labelsFile, labelDims[0])
        }
        if let bad = labelData.firstIndex(where: { Int($0) >= classNames.count }) {
            throw IPRDataError(.labelOutOfRange,
                "\(labelsFile): label \(bad) (byte offset \(8 + bad) of the decompressed file) is \(labelData[bad]), "
                + "expected 0...\(classNames.count - 1)")
        }
        if let padTo, padTo < imageDims[1] || padTo < imageDims[2] {
            throw IPRDataError(.invalidOption, "padTo \(padTo) is smaller than the \(imageDims[2])x\(imageDims[1]) images of \(imagesFile)")
        }
        self.rows = imageDims[1]
        self.columns = imageDims[2]
        self.pixels = imageData
        self.labels = labelData.map(Int.init)
        self.classNames = classNames
        self.channels = channels
        self.padTo = padTo
    }

    /// Reads the `split` from folder `root`, which holds `train-images-idx3-ubyte[.gz]`,
    /// `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`
    /// (a `.` instead of the `-` before `idx` also works).
    public init(root: String, split: DatasetSplit, classNames: [String] = IDXDataset.digitClassNames,
                channels: Int = 1, padTo: Int? = nil) throws {
        guard FileSystem.isDirectory(root) else { throw IPRDataError(.missingFile, "\(root): no such folder (expected IDX files)") }
        let prefix = split == .train ? "train" : "t10k"
        func find(_ kind: String, _ rank: Int) throws -> String {
            let candidates = ["-", "."].flatMap { sep in ["", ".gz"].map { "\(prefix)-\(kind)\(sep)idx\(rank)-ubyte\($0)" } }
            for name in candidates where FileSystem.isFile(FileSystem.join(root, name)) { return FileSystem.join(root, name) }
            throw IPRDataError(.missingFile, "\(root): expected \(candidates[0]) or \(candidates[1]), found neither")
        }
        try self.init(imagesFile: find("images", 3), labelsFile: find("labels", 1), classNames: classNames,
                      channels: channels, padTo: padTo)
    }

    public var count: Int { labels.count }

    public func sample(at index: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        let side = padTo
        let w = side ?? columns, h = side ?? rows
        let left = (w - columns) / 2, top = (h - rows) / 2
        let c = channels, plane = rows * columns
        let image = Image(width: w, height: h, channels: c) { out in
            out.initialize(repeating: 0)
            pixels.withUnsafeBufferPointer { src in
                let base = src.baseAddress! + index * plane
                for y in 0..<rows {
                    for x in 0..<columns {
                        let v = base[y * columns + x]
                        let o = ((y + top) * w + x + left) * c
                        for ch in 0..<c { out[o + ch] = v }
                    }
                }
            }
        }
        return (image, labels[index])
    }

    // MARK: - IDX format

    /// The largest IDX data accepted (2 GiB; EMNIST's largest file holds 0.55 GB): a header or a
    /// gzip stream claiming more is refused before it is allocated.
    public static let maximumBytes = 1 << 31

    /// Dimensions and the unsigned-byte data of an IDX file (gunzipped when it starts with 1F 8B).
    static func read(_ path: String, expectedRank: Int) throws -> ([Int], [UInt8]) {
        var bytes = try FileSystem.read(path)
        if Gzip.isGzip(bytes) { bytes = try Gzip.decompress(bytes, source: path, maximumBytes: maximumBytes + 16) }
        let what = expectedRank == 3 ? "IDX image file (idx3-ubyte)" : "IDX label file (idx1-ubyte)"
        guard bytes.count >= 4 else {
            throw IPRDataError(.malformedFile, "\(path): \(bytes.count) bytes is too short for an \(what) header")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw IPRDataError(.malformedFile, "\(path): expected IDX magic 00 00 at offset 0, found "
                               + "\(String(bytes[0], radix: 16).leftPadded(to: 2)) \(String(bytes[1], radix: 16).leftPadded(to: 2)) (not an \(what))")
        }
        guard bytes[2] == 0x08 else {
            throw IPRDataError(.unsupportedImage, "\(path): IDX data type 0x\(String(bytes[2], radix: 16).leftPadded(to: 2)) at offset 2, "
                               + "expected 0x08 (unsigned byte)")
        }
        guard Int(bytes[3]) == expectedRank else {
            throw IPRDataError(.malformedFile, "\(path): expected \(expectedRank) dimension(s) (\(what)) at offset 3, found \(bytes[3])")
        }
        let headerSize = 4 + 4 * expectedRank
        guard bytes.count >= headerSize else {
            throw IPRDataError(.malformedFile, "\(path): \(bytes.count) bytes is too short for the \(headerSize)-byte header of an \(what)")
        }
        var dims: [Int] = []
        var total = 1, overflow = false
        for d in 0..<expectedRank {
            let o = 4 + 4 * d
            let v = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(v)
            (total, overflow) = overflow ? (total, true) : total.multipliedReportingOverflow(by: v)
        }
        // Four 32-bit dimensions can claim far more than memory: compare before anything uses them.
        guard !overflow, total <= maximumBytes else {
            throw IPRDataError(.malformedFile, "\(path): header (offset 4) gives dimensions \(dims.map(String.init).joined(separator: "x")), "
                               + "more than the \(maximumBytes) bytes an IDX file may hold here")
        }
        guard expectedRank == 1 || (dims[1] > 0 && dims[2] > 0) else {
            throw IPRDataError(.malformedFile, "\(path): header (offset 8) gives \(dims[1])x\(dims[2]) images, expected at least 1x1")
        }
        guard bytes.count - headerSize == total else {
            throw IPRDataError(.malformedFile,
                "\(path): header (offset 4) gives dimensions \(dims.map(String.init).joined(separator: "x")) = \(total) bytes of data, "
                + "found \(bytes.count - headerSize) bytes after the \(headerSize)-byte header")
        }
        return (dims, Array(bytes[headerSize...]))
    }

    static func invalidChannels(_ channels: Int) -> IPRDataError {
        IPRDataError(.invalidOption, "channels must be 1 (gray) or 3 (gray replicated to RGB), got \(channels)")
    }

    static func countMismatch(_ imagesFile: String, _ images: Int, _ labelsFile: String, _ labels: Int) -> IPRDataError {
        IPRDataError(.malformedFile, "\(labelsFile): holds \(labels) labels, but \(imagesFile) holds \(images) images")
    }
}
