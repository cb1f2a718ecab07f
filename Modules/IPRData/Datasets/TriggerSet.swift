/// The WatermarkNN trigger set: `pics/` with images and `labels-cifar.txt` with one label per line.
///
/// Line i of the label file belongs to the i-th image in **lexicographic** file-name order
/// (`1.jpg, 10.jpg, 100.jpg, 11.jpg, …`), the pairing WatermarkNN itself uses. (DeepIPR pairs them in
/// unsorted `os.listdir` order, which depends on the file system.) Labels are written as floats
/// (`6.000000000000000000e+00`) and must be whole numbers in 0..<classNames.count. Images are
/// full-size photos decoded on access by content: two of them are PNG files named `.jpg`.
public struct TriggerSet: Dataset {
    public let classNames: [String]
    /// The image files in pairing (sorted) order.
    public let paths: [String]
    /// Label of each image.
    public let labels: [Int]

    /// Reads `root/pics/` and `root/<labelFile>`.
    /// - Throws: `.missingFile` (folder, label file, no images), `.malformedLabels` (line count or a
    ///   non-numeric line), `.labelOutOfRange`.
    public init(root: String, labelFile: String = "labels-cifar.txt", classNames: [String] = cifar10ClassNames) throws {
        let pics = FileSystem.join(root, "pics")
        let names = try FileSystem.list(pics, what: "the trigger images").filter { ImageFolder.isImageName($0) }
        guard !names.isEmpty else { throw IPRDataError(.missingFile, "\(pics): no image files (expected *.jpg, *.jpeg or *.png)") }
        let labelPath = FileSystem.join(root, labelFile)
        let labels = try LabelFile.parse(FileSystem.read(labelPath), path: labelPath, classCount: classNames.count)
        guard labels.count == names.count else {
            throw IPRDataError(.malformedLabels,
                "\(labelPath): expected one label line per image in \(pics) (\(names.count) images), found \(labels.count) label lines")
        }
        self.classNames = classNames
        self.paths = names.map { FileSystem.join(pics, $0) }
        self.labels = labels
    }

    public var count: Int { paths.count }

    public func sample(at index: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return (try ImageCodec.decode(contentsOf: paths[index]), labels[index])
    }
}
