import Foundation
import IPRTensor
import Testing
@testable import IPRData

@Suite("Trigger set")
struct TriggerSetTests {
    @Test("Labels pair with the lexicographically sorted file names")
    func pairing() throws {
        let set = try TriggerSet(root: Fixtures.triggerSet)
        #expect(set.count == 100)
        let names = set.paths.map { ($0 as NSString).lastPathComponent }
        #expect(Array(names.prefix(5)) == ["1.jpg", "10.jpg", "100.jpg", "11.jpg", "12.jpg"])
        // labels-cifar.txt line 1 is 6.000000000000000000e+00: 1.jpg gets 6 (the README's first 12 pairs).
        let expected = ["1.jpg": 6, "10.jpg": 2, "100.jpg": 8, "11.jpg": 3, "12.jpg": 6, "13.jpg": 8, "14.jpg": 2, "15.jpg": 4,
                        "16.jpg": 1, "17.jpg": 3, "18.jpg": 7, "19.jpg": 4]
        for (name, label) in expected { #expect(set.labels[names.firstIndex(of: name)!] == label, "\(name)") }
        #expect((0..<10).map { c in set.labels.filter { $0 == c }.count } == [11, 8, 12, 14, 12, 10, 12, 9, 8, 4])
        #expect(set.classNames == cifar10ClassNames)
    }

    @Test("All 100 images decode (98 JPEG + 2 PNG named .jpg) and center-crop to 32x32")
    func decodeAll() throws {
        let set = try TriggerSet(root: Fixtures.triggerSet)
        let loader = DataLoader(dataset: set, batchSize: 25, transform: .triggerSet(), prefetch: 1, workers: 2)
        var labels: [Int] = []
        try loader.forEachBatch(epoch: 0) { batch in
            #expect(batch.images.shape == [25, 3, 32, 32])
            labels += batch.labels
        }
        #expect(labels == set.labels)
        for index in [set.paths.firstIndex { $0.hasSuffix("/24.jpg") }!, set.paths.firstIndex { $0.hasSuffix("/66.jpg") }!] {
            let (image, _) = try set.sample(at: index)
            #expect(image.width >= 480 && image.height >= 480)
        }
    }

    private func copyOf(_ count: Int) throws -> String {
        let root = try makeTempFolder()
        try FileManager.default.createDirectory(atPath: root + "/pics", withIntermediateDirectories: true)
        for i in 1...count {
            try FileManager.default.copyItem(atPath: Fixtures.triggerSet + "/pics/\(i).jpg", toPath: root + "/pics/\(i).jpg")
        }
        return root
    }

    @Test("Label file with fewer or more lines than images")
    func lineCount() throws {
        let root = try copyOf(3)
        try write("1.0\n2.0\n", to: root + "/labels-cifar.txt")
        expectDataError(.malformedLabels, mentioning: ["labels-cifar.txt", "3 images", "found 2 label lines"]) {
            _ = try TriggerSet(root: root)
        }
        try write("1.0\n2.0\n3.0\n4.0\n", to: root + "/labels-cifar.txt")
        expectDataError(.malformedLabels, mentioning: ["3 images", "found 4 label lines"]) { _ = try TriggerSet(root: root) }
        try write("1.0\r\n\r\n2.0\r\n3.0\r\n", to: root + "/labels-cifar.txt")     // CRLF and blank lines are fine
        #expect(try TriggerSet(root: root).labels == [1, 2, 3])
    }

    @Test("Non-numeric, fractional and out-of-range labels name the line")
    func badLines() throws {
        let root = try copyOf(3)
        try write("1.0\nseven\n3.0\n", to: root + "/labels-cifar.txt")
        expectDataError(.malformedLabels, mentioning: ["labels-cifar.txt:2", "expected a number", "seven"]) { _ = try TriggerSet(root: root) }
        try write("1.0\n2.5\n3.0\n", to: root + "/labels-cifar.txt")
        expectDataError(.malformedLabels, mentioning: ["labels-cifar.txt:2", "whole-number", "2.5"]) { _ = try TriggerSet(root: root) }
        try write("1.0\n2.0\n1.000000000000000000e+01\n", to: root + "/labels-cifar.txt")
        expectDataError(.labelOutOfRange, mentioning: ["labels-cifar.txt:3", "0..<10"]) { _ = try TriggerSet(root: root) }
        try write("1.0\n-1\n3.0\n", to: root + "/labels-cifar.txt")
        expectDataError(.labelOutOfRange, mentioning: ["labels-cifar.txt:2"]) { _ = try TriggerSet(root: root) }
    }

    @Test("Missing folder, missing label file, a corrupt image surfaces on access")
    func missingAndCorrupt() throws {
        let trigger = Fixtures.absent("trigger")
        expectDataError(.missingFile, mentioning: [trigger + "/pics"]) { _ = try TriggerSet(root: trigger) }
        let root = try copyOf(2)
        expectDataError(.missingFile, mentioning: ["labels-cifar.txt"]) { _ = try TriggerSet(root: root) }
        try write("1\n2\n", to: root + "/labels-cifar.txt")
        let jpeg = try FileSystem.read(root + "/pics/1.jpg")
        try write(Array(jpeg.prefix(jpeg.count / 3)), to: root + "/pics/1.jpg")
        let set = try TriggerSet(root: root)
        expectDataError(.corruptImage, mentioning: ["pics/1.jpg"]) { _ = try set.sample(at: 0) }
        try write([UInt8](), to: root + "/pics/2.jpg")
        expectDataError(.emptyFile, mentioning: ["pics/2.jpg"]) { _ = try set.sample(at: 1) }
    }
}
