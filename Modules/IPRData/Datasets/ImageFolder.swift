/// An ImageNet-style folder: `root/<class>/<image>`, classes in sorted order, images decoded on access.
///
/// Like torchvision's `ImageFolder`: class folders and the files in each (and in its subfolders)
/// are sorted by name; files whose extension is `.png`, `.jpg` or `.jpeg` (any case) are samples,
/// other files are ignored, except images in formats torchvision reads and IPRData does not (an
/// error); hidden entries are skipped. Each file is decoded by its content, whatever its extension says.
/// This type is one folder, all its images; `ImageFolder.split` reads `train/` + `val/` layouts and
/// holds out a seeded fraction of a single folder.
public struct ImageFolder: Dataset {
    /// File extensions (lower case) that count as images.
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    public let classNames: [String]
    /// The image files, class by class.
    public let paths: [String]
    /// Label of each file.
    public let labels: [Int]

    /// Scans `root`: every image of every class folder.
    /// - Throws: `.missingFile` for a missing root, a root without class folders, or a class folder
    ///   without images; `.unsupportedImage` for an image format torchvision would read and IPRData does not.
    public init(root: String) throws {
        let scan = try ImageFolder.scan(root)
        self.init(classNames: scan.classes, files: scan.files)
    }

    /// The images `files[c]` of each class `classNames[c]`, in that order.
    init(classNames: [String], files: [[String]]) {
        self.classNames = classNames
        self.paths = files.flatMap { $0 }
        self.labels = files.enumerated().flatMap { label, list in [Int](repeating: label, count: list.count) }
    }

    /// The class folders of `root`, sorted, and each one's image files, sorted (full paths).
    static func scan(_ root: String) throws -> (classes: [String], files: [[String]]) {
        let classes = try classFolders(root)
        guard !classes.isEmpty else {
            throw IPRDataError(.missingFile, "\(root): expected one subfolder per class, found no subfolders")
        }
        let files = try classes.map { name -> [String] in
            let folder = FileSystem.join(root, name)
            let images = try imageFiles(under: folder, what: "images of class \(name)")
            guard !images.isEmpty else {
                throw IPRDataError(.missingFile, "\(folder): class '\(name)' has no image files (expected *.png, *.jpg or *.jpeg)")
            }
            return images
        }
        return (classes, files)
    }

    /// The subfolders of `root` (its classes), sorted.
    static func classFolders(_ root: String) throws -> [String] {
        try FileSystem.list(root, what: "an image folder with one subfolder per class").filter { FileSystem.isDirectory(FileSystem.join(root, $0)) }
    }

    /// The image files in `folder` and its subfolders, in torchvision's `make_dataset` order
    /// (`sorted(os.walk(folder))`: folders by path, then files by name).
    static func imageFiles(under folder: String, what: String) throws -> [String] {
        var folders: [(path: String, images: [String])] = []
        var pending = [folder]
        while let current = pending.popLast() {
            let names = try FileSystem.list(current, what: what)
            if let other = names.first(where: ImageFolder.isUnreadImageName) {
                throw IPRDataError(.unsupportedImage, "\(FileSystem.join(current, other)): IPRData reads PNG and JPEG images only; convert it or move it out of the class folder")
            }
            let paths = names.map { FileSystem.join(current, $0) }
            pending += paths.filter(FileSystem.isDirectory)
            folders.append((current, zip(names, paths).filter { ImageFolder.isImageName($0.0) && !FileSystem.isDirectory($0.1) }.map(\.1)))
        }
        return folders.sorted { FileSystem.codePointOrder($0.path, $1.path) }.flatMap(\.images)
    }

    /// Image formats torchvision's `ImageFolder` takes and IPRData does not decode: an error, not a
    /// silently smaller dataset than the reference's.
    static let unreadExtensions: Set<String> = ["bmp", "gif", "pgm", "ppm", "tif", "tiff", "webp"]

    static func isUnreadImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return unreadExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// Whether `name` has an image extension IPRData reads.
    static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return extensions.contains(name[name.index(after: dot)...].lowercased())
    }

    public var count: Int { paths.count }

    public func sample(at index: Int) throws -> (image: Image, label: Int) { try sample(at: index, minimumSide: 0) }

    public func sample(at index: Int, minimumSide: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return (try ImageCodec.decode(contentsOf: paths[index], minimumSide: minimumSide), labels[index])
    }
}
