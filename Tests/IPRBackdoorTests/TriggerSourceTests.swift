import Foundation
import Testing
import IPRBackdoor
import IPRData
import IPRTensor

@Suite struct TriggerSourceTests {
    @Test func theWatermarkNNFolderLoadsAndFitsTenClassesOnly() throws {
        let folder = try TriggerFolder(root: Fixtures.triggerSet)
        #expect(folder.samples.count == 100 && folder.samples.classNames.count == 10)
        try folder.check(classes: 10, model: "m.safetensors")
        let mismatch = try #require(throws: IPRBackdoorError.self) { try folder.check(classes: 100, model: "m.safetensors") }
        #expect(mismatch.code == .classMismatch)
        #expect(mismatch.message == "trigger set \(Fixtures.triggerSet) has labels for 10 classes, but m.safetensors has 100")
        // As model inputs: center crop 32 of the full-size photos, one batch of 100.
        var shapes: [[Int]] = []
        try folder.batches(inputSize: 32, normalize: .imageNet).forEachBatch(epoch: 0) { batch in
            let (images, labels) = (batch.images, batch.labels)
            shapes.append(images.shape)
            #expect(labels == Array(folder.triggerSet.labels))
        }
        #expect(shapes == [[100, 3, 32, 32]])
    }

    @Test func aClassesFileMakesATriggerSetForOtherModels() throws {
        let dir = try Fixtures.triggerFolder(images: 3, labels: ["0", "57", "99"], classes: (0..<100).map { "c\($0)" })
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = try TriggerFolder(root: dir)
        try folder.check(classes: 100, model: "cifar100 model")
        #expect(throws: IPRBackdoorError.self) { try folder.check(classes: 10, model: "cifar10 model") }
    }

    @Test func badTriggerFoldersAreOneLineErrorsNamingTheFile() throws {
        func error(images: Int, labels: [String]) throws -> IPRDataError {
            let dir = try Fixtures.triggerFolder(images: images, labels: labels)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            return try #require(throws: IPRDataError.self) { _ = try TriggerFolder(root: dir) }
        }
        let missing = try error(images: 3, labels: ["1", "2"])
        #expect(missing.code == .malformedLabels && missing.message.contains("labels-cifar.txt")
                && missing.message.contains("3 images") && missing.message.contains("found 2 label lines"))
        let extra = try error(images: 2, labels: ["1", "2", "3"])
        #expect(extra.code == .malformedLabels && extra.message.contains("found 3 label lines"))
        let range = try error(images: 2, labels: ["1", "10"])
        #expect(range.code == .labelOutOfRange && range.message.contains("labels-cifar.txt:2") && range.message.contains("0..<10"))
        let text = try error(images: 2, labels: ["1", "cat"])
        #expect(text.code == .malformedLabels && text.message.contains(":2"))
        let empty = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: IPRDataError.self) { _ = try TriggerFolder(root: empty) }
        #expect(message(containsAll: ["pics"], of: try #require(throws: IPRDataError.self) { _ = try TriggerFolder(root: empty) }))
    }

    @Test func anUnreadableTriggerImageFailsItsBatchNamingTheFile() throws {
        let dir = try Fixtures.triggerFolder(images: 3, labels: ["1", "2", "3"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let victim = try FileManager.default.contentsOfDirectory(atPath: dir + "/pics").sorted()[1]
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/pics/" + victim))
        let folder = try TriggerFolder(root: dir)   // images are decoded when used
        let error = try #require(throws: IPRDataError.self) {
            try folder.batches(inputSize: 32, normalize: .imageNet).forEachBatch(epoch: 0) { _ in }
        }
        #expect(error.message.contains(victim))
        #expect(!error.message.contains("\n"))
    }

    @Test func mixedBatchesCarryTheTriggersAfterTheBaseSamples() throws {
        let base = DataLoader(dataset: ColourDataset(count: 20, classes: 4, seed: 1), batchSize: 8, transform: SampleTransform([]))
        let triggers = ColourTriggers(count: 5, classes: 4, seed: 2)
        let mixed = try triggers.mixed(into: base, perBatch: 3, inputSize: 8, normalize: Normalize(mean: [0, 0, 0], std: [1, 1, 1]), seed: 7)
        #expect(mixed.batchCount == 3 && mixed.sampleCount == 20 + 9)
        var sizes: [Int] = []
        try mixed.forEachBatch(epoch: 0) { sizes.append($0.count); #expect($0.images.shape[0] == $0.labels.count) }
        #expect(sizes == [11, 11, 7])
        #expect(throws: IPRBackdoorError.self) { _ = try triggers.mixed(into: base, perBatch: 0, inputSize: 8, normalize: .imageNet, seed: 7) }
    }
}

func message<E: Error & CustomStringConvertible>(containsAll parts: [String], of error: E) -> Bool {
    parts.allSatisfy { error.description.contains($0) }
}
