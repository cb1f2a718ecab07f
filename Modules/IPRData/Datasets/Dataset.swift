/// A labelled image dataset: a count, sample `i` as an image and a class index, and class names.
///
/// Conform to it (and register a factory in `Datasets.registry`) to plug in a dataset of your own;
/// `DataLoader` batches any conforming type. Implementations must be safe to read from several
/// threads at once (the loader decodes in the background).
public protocol Dataset: Sendable {
    /// Number of samples.
    var count: Int { get }
    /// Class names; labels index into this list.
    var classNames: [String] { get }
    /// Sample `index` (0..<count): the decoded image and its label.
    /// - Throws: `IPRDataError` for an index out of range or a file that cannot be decoded.
    func sample(at index: Int) throws -> (image: Image, label: Int)
    /// Sample `index`, decoded no smaller than `minimumSide` on its shorter side but possibly smaller
    /// than stored (JPEG DCT scaling); 0 is full size. Datasets that cannot scale ignore it.
    func sample(at index: Int, minimumSide: Int) throws -> (image: Image, label: Int)
}

extension Dataset {
    public func sample(at index: Int, minimumSide: Int) throws -> (image: Image, label: Int) { try sample(at: index) }

    /// Number of classes (`classNames.count`).
    public var classCount: Int { classNames.count }

    /// Throws `.invalidOption` unless `index` is in 0..<count.
    public func checkIndex(_ index: Int) throws {
        guard index >= 0 && index < count else {
            throw IPRDataError(.invalidOption, "sample index \(index) out of range 0..<\(count) of \(type(of: self))")
        }
    }

    /// All labels in index order (decodes every sample: meant for tests and small datasets).
    public func allLabels() throws -> [Int] { try (0..<count).map { try sample(at: $0).label } }
}

/// Which part of a dataset to read.
public enum DatasetSplit: String, Sendable, Codable, CaseIterable {
    case train
    case test
}

/// The ten CIFAR-10 class names, in label order (as `batches.meta.txt` lists them).
public let cifar10ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

/// Labels read from a text file with one number per line (`labels-cifar.txt`, numpy `savetxt` format).
enum LabelFile {
    /// Parses `bytes` of `path`: blank lines are skipped (as `np.loadtxt` does); every other line
    /// must be an integral number in 0..<classCount. Errors name the 1-based line.
    static func parse(_ bytes: [UInt8], path: String, classCount: Int) throws -> [Int] {
        var labels: [Int] = []
        for (i, raw) in TextLines.split(bytes).enumerated() {
            let line = raw
            if line.isEmpty { continue }
            guard let value = Double(line), value.isFinite else {
                throw IPRDataError(.malformedLabels, "\(path):\(i + 1): expected a number, found \"\(line.prefix(40))\"")
            }
            guard value == value.rounded() else {
                throw IPRDataError(.malformedLabels, "\(path):\(i + 1): expected a whole-number class label, found \(line)")
            }
            guard value >= 0 && value < Double(classCount) else {
                throw IPRDataError(.labelOutOfRange, "\(path):\(i + 1): expected a label in 0..<\(classCount), found \(line)")
            }
            labels.append(Int(value))
        }
        return labels
    }
}

/// Lines of a text file, split on LF bytes (so CRLF files work), each trimmed of spaces, tabs and CR.
enum TextLines {
    static func split(_ bytes: [UInt8]) -> [String] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            var s = line[...]
            while let f = s.first, f == 0x20 || f == 0x09 || f == 0x0D { s = s.dropFirst() }
            while let l = s.last, l == 0x20 || l == 0x09 || l == 0x0D { s = s.dropLast() }
            return String(decoding: s, as: UTF8.self)
        }
    }
}
