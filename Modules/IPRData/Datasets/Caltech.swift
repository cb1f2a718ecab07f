/// Caltech-101 and Caltech-256 as the reference reads them (`dataset.py`, `Caltech101`): every
/// folder of `101_ObjectCategories/` (`256_ObjectCategories/`) is a class, sorted by name, the
/// background class included (`BACKGROUND_Google`, `257.clutter`: 102 and 257 classes); within a
/// class the files in sorted order, the first `int(0.8 · n)` for training and the rest for testing.
/// Grey images are converted to RGB on decoding, as PIL's `convert("RGB")` does.
public enum Caltech {
    public enum Variant: String, Sendable, CaseIterable {
        case caltech101 = "101_ObjectCategories"
        case caltech256 = "256_ObjectCategories"
    }

    /// The reference's training fraction of each class.
    public static let trainFraction = 0.8

    /// Split `split` of the Caltech folder at `root` (the folder holding `101_ObjectCategories/`, or
    /// that folder itself).
    /// - Throws: `.missingFile` when neither holds class folders, or a class folder is empty.
    public static func dataset(_ variant: Variant, root: String, split: DatasetSplit) throws -> ImageFolder {
        let inside = FileSystem.join(root, variant.rawValue)
        let folder = FileSystem.isDirectory(inside) ? inside : root
        guard FileSystem.isDirectory(folder) else {
            throw IPRDataError(.missingFile, "\(root): no such folder (expected the folder holding \(variant.rawValue)/)")
        }
        let scan = try ImageFolder.scan(folder)
        let files = scan.files.map { paths -> [String] in
            // Python's int(0.8 * n): the same double product, truncated.
            let cut = Int(trainFraction * Double(paths.count))
            return Array(split == .train ? paths[..<cut] : paths[cut...])
        }
        return ImageFolder(classNames: scan.classes, files: files)
    }
}
