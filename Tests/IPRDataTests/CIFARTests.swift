import Foundation
import Testing
@testable import IPRData

@Suite("CIFAR datasets")
struct CIFARTests {
    @Test("The Fixtures subset: counts, first labels, class names, label counts")
    func subset() throws {
        let train = try CIFAR10(root: Fixtures.cifar10, split: .train)
        #expect(train.count == 700)
        #expect(Array(train.labels.prefix(10)) == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3])
        #expect(train.classNames == cifar10ClassNames)
        #expect((0..<10).map { c in train.labels.filter { $0 == c }.count } == [72, 83, 63, 61, 72, 55, 74, 72, 69, 79])
        let test = try CIFAR10(root: Fixtures.cifar10, split: .test)
        #expect(test.count == 200)
        #expect((0..<10).map { c in test.labels.filter { $0 == c }.count } == [22, 21, 12, 16, 25, 19, 22, 20, 20, 23])
        // The batches folder itself works as the root too.
        #expect(try CIFAR10(root: Fixtures.cifar10Batches, split: .train).labels == train.labels)
        // The labels agree with the subset's label list.
        let listed = TextLines.split(try FileSystem.read(Fixtures.cifar10 + "/data_batch_1_labels_0-3999.txt")).compactMap { Int($0) }
        #expect(Array(listed.prefix(700)) == train.labels)
        #expect(Array(listed[3800..<4000]) == test.labels)
    }

    @Test("Pixels: R, G, B planes become HWC")
    func pixels() throws {
        let file = Fixtures.cifar10Batches + "/data_batch_1.bin"
        let raw = try FileSystem.read(file)
        let train = try CIFAR10(files: [file])
        for index in [0, 1, 699] {
            let (image, label) = try train.sample(at: index)
            #expect(image.width == 32 && image.height == 32 && image.channels == 3)
            let record = Array(raw[(index * 3073)..<((index + 1) * 3073)])
            #expect(label == Int(record[0]))
            for (y, x) in [(0, 0), (5, 17), (31, 31)] {
                for c in 0..<3 { #expect(image[y, x, c] == record[1 + c * 1024 + y * 32 + x]) }
            }
        }
    }

    @Test("The official test records: explicit file list")
    func officialTest() throws {
        let data = try CIFAR10(files: [Fixtures.cifar10 + "/official_test_batch_first20.bin"])
        #expect(data.labels == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6])
    }

    @Test("CIFAR-100: fine labels, 100 class names")
    func cifar100() throws {
        let folder = try makeTempFolder() + "/cifar-100-binary"
        var bytes: [UInt8] = []
        for (coarse, fine) in [(3, 42), (19, 99), (0, 0)] {
            bytes += [UInt8(coarse), UInt8(fine)] + (0..<3072).map { UInt8(($0 + fine) % 256) }
        }
        try write(bytes, to: folder + "/train.bin")
        let data = try CIFAR100(root: (folder as NSString).deletingLastPathComponent, split: .train)
        #expect(data.count == 3 && data.labels == [42, 99, 0])
        #expect(data.classNames.count == 100 && data.classNames[42] == "leopard" && data.classNames[99] == "worm")
        #expect(try data.sample(at: 1).image[0, 0, 0] == 99)
        expectDataError(.missingFile, mentioning: ["test.bin"]) { _ = try CIFAR100(root: folder, split: .test) }
        var bad = bytes
        bad[3074 + 1] = 100                                  // second record's fine label
        try write(bad, to: folder + "/train.bin")
        expectDataError(.labelOutOfRange, mentioning: ["train.bin", "record 1", "byte offset 3075", "label byte 100", "0...99"]) {
            _ = try CIFAR100(root: folder, split: .train)
        }
    }

    // MARK: - Bad input

    @Test("File size not a multiple of the record size")
    func badSize() throws {
        let folder = try makeTempFolder()
        try write([UInt8](repeating: 1, count: 3073 * 2 + 5), to: folder + "/data_batch_1.bin")
        expectDataError(.malformedFile, mentioning: ["data_batch_1.bin", "6151 bytes", "3073-byte", "2 records and 5 bytes left over"]) {
            _ = try CIFAR10(root: folder, split: .train)
        }
    }

    @Test("Empty batch file")
    func empty() throws {
        let folder = try makeTempFolder()
        try write([UInt8](), to: folder + "/test_batch.bin")
        expectDataError(.emptyFile, mentioning: ["test_batch.bin", "0 bytes"]) { _ = try CIFAR10(root: folder, split: .test) }
    }

    @Test("Missing folder, missing files, missing split")
    func missing() throws {
        let cifar = Fixtures.absent("cifar")
        expectDataError(.missingFile, mentioning: [cifar]) { _ = try CIFAR10(root: cifar, split: .train) }
        let folder = try makeTempFolder()
        expectDataError(.missingFile, mentioning: [folder, "data_batch_1.bin", "cifar-10-batches-bin"]) {
            _ = try CIFAR10(root: folder, split: .train)
        }
        try write([UInt8](repeating: 0, count: 3073), to: folder + "/test_batch.bin")
        expectDataError(.missingFile, mentioning: ["train", "data_batch_1.bin"]) { _ = try CIFAR10(root: folder, split: .train) }
    }

    @Test("Label byte out of range names the record and offset")
    func labelOutOfRange() throws {
        let folder = try makeTempFolder()
        var bytes = [UInt8](repeating: 0, count: 3073 * 4)
        bytes[3073 * 2] = 10
        try write(bytes, to: folder + "/data_batch_1.bin")
        expectDataError(.labelOutOfRange, mentioning: ["data_batch_1.bin", "record 2", "byte offset 6146", "label byte 10", "0...9"]) {
            _ = try CIFAR10(root: folder, split: .train)
        }
    }

    @Test("A meta file with the wrong number of names; index out of range")
    func metaAndIndex() throws {
        let folder = try makeTempFolder()
        try write([UInt8](repeating: 0, count: 3073), to: folder + "/data_batch_1.bin")
        try write("cat\ndog\n", to: folder + "/batches.meta.txt")
        expectDataError(.malformedFile, mentioning: ["batches.meta.txt", "expected 10 class names", "found 2"]) {
            _ = try CIFAR10(root: folder, split: .train)
        }
        let data = try CIFAR10(root: Fixtures.cifar10, split: .test)
        expectDataError(.invalidOption, mentioning: ["200"]) { _ = try data.sample(at: 200) }
    }
}
