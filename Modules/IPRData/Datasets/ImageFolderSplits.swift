import IPRTensor

/// The train and test splits of image folders: torchvision's `train/` + `val/` layout (ImageNet's),
/// or one folder with a seeded, per-class held-out fraction. Never the training images as a test
/// set: a single folder without a fraction has no test split, and says so.
extension ImageFolder {
    /// The folder names a test split may have beside `train/`, in the order they are looked for.
    public static let testFolderNames = ["val", "test"]

    /// Split `split` of `root`.
    ///
    /// - `root/train/<class>/…` with `root/val/` or `root/test/`: the split's folder. Classes come
    ///   from `train/`; both folders must have the same classes, so that a class has one index.
    /// - otherwise `root/<class>/…`: with `valFraction`, that fraction of each class (rounded, at
    ///   least one image, and one left for training) is the test split, drawn with `seed`; without,
    ///   the training split is every image and there is no test split.
    /// - Throws: `.noTestSplit` for the test split of a folder without one (with what to do about
    ///   it); `.missingFile` for a class of one folder missing from the other; `.invalidOption` for a fraction outside (0, 1), a fraction
    ///   given for a folder that has splits, or a class too small to hold out from.
    public static func split(root: String, split: DatasetSplit, valFraction: Double? = nil, seed: UInt64 = 0) throws -> ImageFolder {
        if let valFraction, !(valFraction > 0 && valFraction < 1) {
            throw IPRDataError(.invalidOption, "--val-fraction must be in (0, 1), got \(valFraction)")
        }
        let train = FileSystem.join(root, "train")
        guard FileSystem.isDirectory(train) else {
            guard let valFraction else {
                if split == .train { return try ImageFolder(root: root) }
                throw IPRDataError(.noTestSplit, "\(root): no test split (no train/ + val/ folders); give --val-fraction F to hold out a seeded fraction of each class")
            }
            return try heldOut(root: root, split: split, fraction: valFraction, seed: seed)
        }
        if valFraction != nil {
            throw IPRDataError(.invalidOption, "\(root) has train/ already; its test split is val/ or test/, drop --val-fraction")
        }
        guard let testName = testFolderNames.first(where: { FileSystem.isDirectory(FileSystem.join(root, $0)) }) else {
            if split == .train { return try ImageFolder(root: train) }
            throw IPRDataError(.noTestSplit, "\(root): train/ has no val/ or test/ beside it: no test split")
        }
        return try paired(train: train, test: FileSystem.join(root, testName), split: split)
    }

    /// `train` or `test` (torchvision `ImageFolder` each), after checking that they name the same classes.
    static func paired(train: String, test: String, split: DatasetSplit) throws -> ImageFolder {
        let trainClasses = try classFolders(train), testClasses = try classFolders(test)
        if let extra = testClasses.first(where: { !trainClasses.contains($0) }) {
            throw IPRDataError(.missingFile, "\(FileSystem.join(test, extra)): class '\(extra)' is not in \(train)")
        }
        if let missing = trainClasses.first(where: { !testClasses.contains($0) }) {
            throw IPRDataError(.missingFile, "\(test): class '\(missing)' of \(train) is missing (every class needs test images, or its index would shift)")
        }
        return try ImageFolder(root: split == .train ? train : test)
    }

    /// The seeded hold-out of a single folder: per class, a permutation drawn from `seed` and the
    /// class index picks the test images; both splits keep the sorted file order.
    static func heldOut(root: String, split: DatasetSplit, fraction: Double, seed: UInt64) throws -> ImageFolder {
        let scan = try ImageFolder.scan(root)
        let files = try zip(scan.classes, scan.files).enumerated().map { c, entry -> [String] in
            let (name, paths) = entry
            guard paths.count >= 2 else {
                throw IPRDataError(.invalidOption, "\(FileSystem.join(root, name)): class '\(name)' has \(paths.count) image; holding out needs at least 2")
            }
            let held = min(max(Int((fraction * Double(paths.count)).rounded()), 1), paths.count - 1)
            var rng = RNG(seed: seed, stream: 0x5_9117 &+ UInt64(c))
            let test = Set(rng.permutation(paths.count).prefix(held))
            return paths.indices.filter { test.contains($0) == (split == .test) }.map { paths[$0] }
        }
        return ImageFolder(classNames: scan.classes, files: files)
    }
}
