import Foundation
import IPRTensor
import Testing
@testable import IPRData

@Suite("Image folder")
struct ImageFolderTests {
    /// root/{cat,dog,emu}/… with PNGs, a JPEG, a PNG named .jpg, and files that are not images.
    private func makeFolder() throws -> String {
        let root = try makeTempFolder()
        func png(_ v: UInt8, _ w: Int = 6, _ h: Int = 5) throws -> [UInt8] {
            try Image(width: w, height: h, pixels: [UInt8](repeating: v, count: w * h * 3)).pngData()
        }
        try write(png(10), to: root + "/dog/b.png")
        try write(png(20), to: root + "/dog/a.PNG")
        try write(FileSystem.read(Fixtures.triggerSet + "/pics/2.jpg"), to: root + "/cat/photo.jpeg")
        try write(png(30), to: root + "/cat/really-a-png.jpg")
        try write("not an image", to: root + "/cat/notes.txt")
        try write(png(40), to: root + "/cat/.hidden.png")
        try write(png(50, 7, 7), to: root + "/emu/x.jpg")
        try write("stray", to: root + "/README")
        return root
    }

    @Test("Classes sorted, files sorted, only image extensions, decoded by content")
    func scan() throws {
        let root = try makeFolder()
        let data = try ImageFolder(root: root)
        #expect(data.classNames == ["cat", "dog", "emu"])
        #expect(data.paths.map { ($0 as NSString).lastPathComponent } == ["photo.jpeg", "really-a-png.jpg", "a.PNG", "b.png", "x.jpg"])
        #expect(data.labels == [0, 0, 1, 1, 2])
        #expect(try data.sample(at: 1).image.pixels.allSatisfy { $0 == 30 })
        #expect(try data.sample(at: 2).image[0, 0, 0] == 20)
        #expect(try data.sample(at: 0).image.width > 100)
        let loader = DataLoader(dataset: data, batchSize: 5, transform: SampleTransform(Resize(height: 4, width: 4)))
        let batch = try #require(try loader.epoch(0).next())
        #expect(batch.images.shape == [5, 3, 4, 4] && batch.labels == [0, 0, 1, 1, 2])
    }

    @Test("Missing root, no class folders, empty class, corrupt file")
    func bad() throws {
        let folder = Fixtures.absent("folder")
        expectDataError(.missingFile, mentioning: [folder]) { _ = try ImageFolder(root: folder) }
        let flat = try makeTempFolder()
        try write("x", to: flat + "/a.png")
        expectDataError(.missingFile, mentioning: ["no subfolders"]) { _ = try ImageFolder(root: flat) }
        let root = try makeFolder()
        try FileManager.default.createDirectory(atPath: root + "/fox", withIntermediateDirectories: true)
        try write("x", to: root + "/fox/readme.txt")
        expectDataError(.missingFile, mentioning: ["fox", "no image files"]) { _ = try ImageFolder(root: root) }
        try write(Array("GIF89a...".utf8), to: root + "/fox/a.png")
        let data = try ImageFolder(root: root)
        expectDataError(.unsupportedImage, mentioning: ["fox/a.png", "GIF"]) { _ = try data.sample(at: data.count - 1) }
    }
}
