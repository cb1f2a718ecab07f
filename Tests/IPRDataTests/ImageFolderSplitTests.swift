import Foundation
import IPRTensor
import Testing
@testable import IPRData

/// Train/test splits of image folders (ImageNet's layout, a seeded hold-out) and Caltech's split,
/// on the real JPEG fixtures of `Tools/golden/make_imagefolder_fixtures.py`.
@Suite("Image folder splits")
struct ImageFolderSplitTests {
    func names(_ data: ImageFolder) -> [String] { data.paths.map { ($0 as NSString).lastPathComponent } }

    /// A writable copy of a fixture folder.
    func copy(_ fixture: String) throws -> String {
        let dir = try makeTempFolder() + "/copy"
        try FileManager.default.copyItem(atPath: fixture, toPath: dir)
        return dir
    }

    @Test("imagenet: train/ trains, val/ tests, one class index in both")
    func imageNet() throws {
        let train = try Datasets.make("imagenet", DatasetOptions(root: Fixtures.imagenetTiny, split: .train))
        let val = try #require(try Datasets.make("imagenet", DatasetOptions(root: Fixtures.imagenetTiny, split: .test)) as? ImageFolder)
        #expect(train.count == 18 && val.count == 6)
        #expect(train.classNames == ["airplane", "cat", "ship"] && val.classNames == train.classNames)
        #expect(val.labels == [0, 0, 1, 1, 2, 2])
        #expect(names(val).allSatisfy { $0.contains("_val_") })
        // imagefolder reads the same layout the same way.
        let folder = try #require(try Datasets.make("imagefolder", DatasetOptions(root: Fixtures.imagenetTiny, split: .test)) as? ImageFolder)
        #expect(folder.paths == val.paths && folder.labels == val.labels)
    }

    @Test("Decoding and the ImageNet and Caltech test transforms match PIL exactly on real JPEGs")
    func parity() throws {
        let g = try TransformGolden(path: Fixtures.imageFolderGolden)
        var rng = RNG(seed: 0)
        let test224 = [Resize(256), CenterCrop(224)] as [any ImageTransform]
        for (k, file) in ["val/cat/cat_val_0.jpg", "val/ship/ship_val_1.jpg"].enumerated() {
            let image = try ImageCodec.decode(contentsOf: Fixtures.imagenetTiny + "/" + file)
            #expect(maxDifference(image, try g.image("val\(k).decoded")) == 0)
            let out = try test224.reduce(image) { try $1.apply($0, rng: &rng) }
            #expect(out.width == 224 && out.height == 224)
            #expect(maxDifference(out, try g.image("val\(k).imagenet_test")) == 0)
        }
        let gray = try ImageCodec.decode(contentsOf: Fixtures.caltechTiny + "/101_ObjectCategories/Faces/image_0003.jpg")
        #expect(maxDifference(gray, try g.image("gray.decoded")) == 0)
        let test32 = try CenterCrop(32).apply(try Resize(32).apply(gray, rng: &rng), rng: &rng)
        #expect(maxDifference(test32, try g.image("gray.caltech_test32")) == 0)
        // The registered transforms are these, and give model-sized tensors.
        let (train, test) = try Datasets.kind("imagenet").transforms(224, .imageNet)
        #expect(train.isRandom && !test.isRandom)
        #expect(try test(try ImageCodec.decode(contentsOf: Fixtures.imagenetTiny + "/" + "val/cat/cat_val_0.jpg"), rng: &rng).shape == [3, 224, 224])
        let caltech = try Datasets.kind("caltech101").transforms(32, .imageNet)
        #expect(try caltech.train(gray, rng: &rng).shape == [3, 32, 32] && caltech.train.isRandom)
    }

    @Test("A single folder has no test split unless a seeded fraction is held out per class")
    func holdOut() throws {
        let root = Fixtures.imagenetTiny + "/train"
        let all = try ImageFolder.split(root: root, split: .train)
        #expect(all.count == 18)
        expectDataError(.noTestSplit, mentioning: [root, "--val-fraction"]) { _ = try ImageFolder.split(root: root, split: .test) }
        func part(_ split: DatasetSplit, seed: UInt64) throws -> ImageFolder {
            try ImageFolder.split(root: root, split: split, valFraction: 0.34, seed: seed)
        }
        let train = try part(.train, seed: 1), test = try part(.test, seed: 1)
        #expect(test.count == 6 && train.count == 12)
        #expect(test.labels == [0, 0, 1, 1, 2, 2])
        #expect(Set(train.paths).isDisjoint(with: test.paths) && Set(train.paths + test.paths) == Set(all.paths))
        #expect(try part(.test, seed: 1).paths == test.paths)
        #expect(try (2...6).contains { try part(.test, seed: $0).paths != test.paths })
        // The registry passes the options through.
        let viaRegistry = try Datasets.make("imagefolder", DatasetOptions(root: root, split: .test, valFraction: 0.34, splitSeed: 1))
        #expect((viaRegistry as? ImageFolder)?.paths == test.paths)
    }

    @Test("Caltech: every class folder, background included; the first 80 % of each class's sorted files train")
    func caltech() throws {
        for root in [Fixtures.caltechTiny, Fixtures.caltechTiny + "/101_ObjectCategories"] {
            let train = try #require(try Datasets.make("caltech101", DatasetOptions(root: root, split: .train)) as? ImageFolder)
            let test = try #require(try Datasets.make("caltech101", DatasetOptions(root: root, split: .test)) as? ImageFolder)
            #expect(train.classNames == ["BACKGROUND_Google", "Faces", "accordion"])
            #expect(train.labels == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2])  // int(0.8 n) of 5, 6, 4
            #expect(test.labels == [0, 1, 1, 2])
            #expect(names(test) == ["image_0005.jpg", "image_0005.jpg", "image_0006.jpg", "image_0004.jpg"])
        }
        expectDataError(.missingFile, mentioning: ["no subfolders"]) {
            _ = try Datasets.make("caltech256", DatasetOptions(root: Fixtures.caltechTiny + "/101_ObjectCategories/Faces"))
        }
    }

    @Test("Images in class subfolders count, in sorted(os.walk) order")
    func nested() throws {
        let root = try makeTempFolder()
        let png = try Image(width: 2, height: 2, pixels: [UInt8](repeating: 9, count: 12)).pngData()
        for path in ["dog/b.png", "dog/a/z.png", "dog/c.png", "dog/a/y/x.png"] { try write(png, to: root + "/" + path) }
        #expect(names(try ImageFolder(root: root)) == ["b.png", "c.png", "z.png", "x.png"])
    }

    @Test("Bad layouts: a class in one split only, an unread format, a fraction out of range or not needed, too few images")
    func bad() throws {
        let extra = try copy(Fixtures.imagenetTiny)
        try FileManager.default.copyItem(atPath: extra + "/val/cat", toPath: extra + "/val/dog")
        expectDataError(.missingFile, mentioning: ["val/dog", "'dog' is not in"]) {
            _ = try Datasets.make("imagenet", DatasetOptions(root: extra, split: .test))
        }
        let missing = try copy(Fixtures.imagenetTiny)
        try FileManager.default.removeItem(atPath: missing + "/val/ship")
        expectDataError(.missingFile, mentioning: ["'ship'", "is missing"]) {
            _ = try Datasets.make("imagenet", DatasetOptions(root: missing, split: .train))
        }
        let noVal = try copy(Fixtures.imagenetTiny)
        try FileManager.default.removeItem(atPath: noVal + "/val")
        expectDataError(.missingFile, mentioning: ["val"]) { _ = try Datasets.make("imagenet", DatasetOptions(root: noVal)) }
        expectDataError(.noTestSplit, mentioning: ["no val/ or test/"]) { _ = try ImageFolder.split(root: noVal, split: .test) }
        #expect(try ImageFolder.split(root: noVal, split: .train).count == 18)
        let empty = try copy(Fixtures.imagenetTiny)
        try FileManager.default.createDirectory(atPath: empty + "/val/ship/more", withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: empty + "/val/ship") where f.hasSuffix(".jpg") {
            try FileManager.default.removeItem(atPath: empty + "/val/ship/" + f)
        }
        expectDataError(.missingFile, mentioning: ["val/ship", "no image files"]) {
            _ = try Datasets.make("imagenet", DatasetOptions(root: empty, split: .test))
        }
        let bitmap = try copy(Fixtures.imagenetTiny)
        try write([0x42, 0x4D, 0, 0], to: bitmap + "/train/cat/scan.BMP")
        expectDataError(.unsupportedImage, mentioning: ["scan.BMP", "PNG and JPEG"]) {
            _ = try Datasets.make("imagenet", DatasetOptions(root: bitmap, split: .train))
        }
        let corrupt = try copy(Fixtures.imagenetTiny)
        try write([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], to: corrupt + "/val/cat/cat_val_0.jpg")
        let val = try Datasets.make("imagenet", DatasetOptions(root: corrupt, split: .test))
        expectDataError(.corruptImage, mentioning: ["cat_val_0.jpg"]) { _ = try val.sample(at: 2) }
        for fraction in [0, 1, -0.5, 1.5, Double.nan] {
            expectDataError(.invalidOption, mentioning: ["(0, 1)"]) {
                _ = try ImageFolder.split(root: Fixtures.imagenetTiny + "/train", split: .train, valFraction: fraction)
            }
        }
        expectDataError(.invalidOption, mentioning: ["train/ already"]) {
            _ = try ImageFolder.split(root: Fixtures.imagenetTiny, split: .train, valFraction: 0.2)
        }
        let single = try makeTempFolder()
        try write(try Image(width: 2, height: 2, pixels: [UInt8](repeating: 9, count: 12)).pngData(), to: single + "/lonely/a.png")
        expectDataError(.invalidOption, mentioning: ["'lonely' has 1 image"]) {
            _ = try ImageFolder.split(root: single, split: .test, valFraction: 0.5)
        }
    }
}

@Suite("Subsets")
struct SubsetTests {
    @Test("A seeded fraction: the rounded count, base order, reproducible, other seeds other samples; bad fractions are errors")
    func fraction() throws {
        let data = try CIFAR10(root: Fixtures.cifar10, split: .train)
        let tenth = try Subset(data, fraction: 0.1, seed: 3)
        #expect(tenth.count == 70)
        let labels = try tenth.allLabels(), again = try Subset(data, fraction: 0.1, seed: 3).allLabels()
        #expect(labels == again)
        #expect(try (4...8).contains { try Subset(data, fraction: 0.1, seed: $0).allLabels() != labels })
        #expect(try Subset(data, fraction: 1, seed: 3).allLabels() == data.allLabels())
        #expect(try Subset(data, fraction: 1e-9, seed: 3).count == 1)
        for bad in [0, -0.1, 1.5, Double.nan] {
            expectDataError(.invalidOption, mentioning: ["(0, 1]"]) { _ = try Subset(data, fraction: bad, seed: 0) }
        }
    }
}
