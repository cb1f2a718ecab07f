/// An ImageNet-style folder: `root/<class>/<image>`, classes in sorted order, images decoded on access.
///
/// Like torchvision's `ImageFolder`: class folders and the files in each are sorted by name; files
/// whose extension is `.png`, `.jpg` or `.jpeg` (any case) are samples, others are ignored; hidden
/// entries are skipped. Each file is decoded by its content, whatever its extension says.
public struct ImageFolder: Dataset {
    /// File extensions (lower case) that count as images.
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    public let classNames: [String]
    /// The image files, class by class.
    public let paths: [String]
    /// Label of each file.
    public let labels: [Int]

    /// Scans `root`.
    /// - Throws: `.missingFile` for a missing root, a root without class folders, or a class folder
    ///   without images.
    public init(root: String) throws {
        let entries = try FileSystem.list(root, what: "an image folder with one subfolder per class")
        let classes = entries.filter { FileSystem.isDirectory(FileSystem.join(root, $0)) }
        guard !classes.isEmpty else {
            throw IPRDataError(.missingFile, "\(root): expected one subfolder per class, found no subfolders")
        }
        var paths: [String] = [], labels: [Int] = []
        for (label, name) in classes.enumerated() {
            let folder = FileSystem.join(root, name)
            let files = try FileSystem.list(folder, what: "images of class \(name)").filter { ImageFolder.isImageName($0) }
            guard !files.isEmpty else {
                throw IPRDataError(.missingFile, "\(folder): class '\(name)' has no image files (expected *.png, *.jpg or *.jpeg)")
            }
            for f in files { paths.append(FileSystem.join(folder, f)); labels.append(label) }
        }
        self.classNames = classes
        self.paths = paths
        self.labels = labels
    }

    /// Whether `name` has an image extension IPRData reads.
    static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return extensions.contains(name[name.index(after: dot)...].lowercased())
    }

    public var count: Int { paths.count }

    public func sample(at index: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return (try ImageCodec.decode(contentsOf: paths[index]), labels[index])
    }
}
