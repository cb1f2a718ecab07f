import Foundation
import IPRTensor
import Testing
@testable import IPRData

@Suite("IDX files")
struct IDXTests {
    /// IDX bytes: 00 00 08 rank, big-endian dimensions, data.
    static func idx(_ dims: [Int], _ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { out += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return out + data
    }

    /// 3 images of 4x5 (rows x columns) with pixel (y, x) of image n = 10n + 5y + x... capped to a byte.
    private func writeSet(_ folder: String, gzip: Bool, prefix: String = "train") throws {
        var pixels: [UInt8] = []
        for n in 0..<3 { for y in 0..<4 { for x in 0..<5 { pixels.append(UInt8(n * 20 + y * 5 + x)) } } }
        var images = IDXTests.idx([3, 4, 5], pixels), labels = IDXTests.idx([3], [7, 0, 9])
        if gzip { images = Gzip.compress(images); labels = Gzip.compress(labels) }
        let ext = gzip ? ".gz" : ""
        try write(images, to: folder + "/\(prefix)-images-idx3-ubyte\(ext)")
        try write(labels, to: folder + "/\(prefix)-labels-idx1-ubyte\(ext)")
    }

    @Test("Plain and gzipped files, 1 and 3 channels, padding", arguments: [false, true])
    func readBack(gzip: Bool) throws {
        let folder = try makeTempFolder()
        try writeSet(folder, gzip: gzip)
        let gray = try IDXDataset(root: folder, split: .train)
        #expect(gray.count == 3 && gray.labels == [7, 0, 9] && gray.rows == 4 && gray.columns == 5)
        let (g1, l1) = try gray.sample(at: 1)
        #expect(l1 == 0 && g1.channels == 1 && g1.width == 5 && g1.height == 4 && g1[2, 3, 0] == 20 + 10 + 3)
        let rgb = try IDXDataset(root: folder, split: .train, channels: 3, padTo: 8)
        let (c1, _) = try rgb.sample(at: 1)
        #expect(c1.width == 8 && c1.height == 8 && c1.channels == 3)
        // 5 columns in 8: left pad 1; 4 rows in 8: top pad 2.
        #expect(c1[0, 0, 0] == 0 && c1[2 + 2, 1 + 3, 0] == 33 && c1[4, 4, 1] == 33 && c1[4, 4, 2] == 33)
        #expect(byteSum(c1) == 3 * byteSum(g1))
        let loader = DataLoader(dataset: gray, batchSize: 2, transform: SampleTransform([], normalize: Normalize(mean: [0.5], std: [0.5])))
        let batch = try #require(try loader.epoch(0).next())
        #expect(batch.images.shape == [2, 1, 4, 5])
        #expect(batch.images[1, 0, 2, 3] == (Float(33) / 255 - 0.5) / 0.5)
    }

    @Test("Bad IDX input: magic, rank, sizes, counts, labels, gzip, options")
    func bad() throws {
        let folder = try makeTempFolder()
        let images = folder + "/i", labels = folder + "/l"
        try write(IDXTests.idx([2], [1, 2]), to: labels)
        try write([0x12, 0x34, 8, 3, 0, 0], to: images)
        expectDataError(.malformedFile, mentioning: ["/i", "magic 00 00", "12 34"]) { _ = try IDXDataset(imagesFile: images, labelsFile: labels) }
        try write(IDXTests.idx([2, 2], [1, 2, 3, 4]), to: images)
        expectDataError(.malformedFile, mentioning: ["expected 3 dimension(s)", "found 2"]) { _ = try IDXDataset(imagesFile: images, labelsFile: labels) }
        try write(IDXTests.idx([2, 2, 2], [1, 2, 3]), to: images)
        expectDataError(.malformedFile, mentioning: ["2x2x2 = 8 bytes", "found 3 bytes"]) { _ = try IDXDataset(imagesFile: images, labelsFile: labels) }
        try write(IDXTests.idx([3, 1, 1], [1, 2, 3]), to: images)
        expectDataError(.malformedFile, mentioning: ["2 labels", "3 images"]) { _ = try IDXDataset(imagesFile: images, labelsFile: labels) }
        try write(IDXTests.idx([2, 1, 1], [1, 2]), to: images)
        try write(IDXTests.idx([2], [1, 12]), to: labels)
        expectDataError(.labelOutOfRange, mentioning: ["label 1", "byte offset 9", "is 12", "0...9"]) {
            _ = try IDXDataset(imagesFile: images, labelsFile: labels)
        }
        let gz = Gzip.compress(IDXTests.idx([2], [1, 2]))
        try write(Array(gz.prefix(gz.count - 6)), to: labels)
        expectDataError(.malformedFile, mentioning: ["/l", "truncated"]) { _ = try IDXDataset(imagesFile: images, labelsFile: labels) }
        try write(IDXTests.idx([2], [1, 2]), to: labels)
        expectDataError(.invalidOption, mentioning: ["channels"]) { _ = try IDXDataset(imagesFile: images, labelsFile: labels, channels: 2) }
        expectDataError(.invalidOption, mentioning: ["padTo"]) { _ = try IDXDataset(imagesFile: images, labelsFile: labels, padTo: 0) }
        try write([UInt8](), to: images)
        expectDataError(.emptyFile, mentioning: ["/i"]) { _ = try IDXDataset(imagesFile: images, labelsFile: labels) }
        expectDataError(.missingFile, mentioning: ["t10k-images-idx3-ubyte"]) { _ = try IDXDataset(root: folder, split: .test) }
    }

    @Test("Debian's Fashion-MNIST (test split), when dataset-fashion-mnist is installed",
          .enabled(if: FileManager.default.fileExists(atPath: IDXDataset.debianFashionMNISTRoot + "/t10k-labels-idx1-ubyte.gz")))
    func fashionMNIST() throws {
        let data = try Datasets.make("fashion-mnist", DatasetOptions(root: "", split: .test, channels: 3, padTo: 32))
        #expect(data.count == 10_000)
        #expect(data.classNames.first == "T-shirt/top" && data.classNames.last == "Ankle boot")
        let fashion = try #require(data as? IDXDataset)
        #expect(Array(fashion.labels.prefix(10)) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        let (image, _) = try data.sample(at: 0)
        #expect(image.width == 32 && image.height == 32 && image.channels == 3)
        #expect(byteSum(image) == 3 * 33456)
    }
}
