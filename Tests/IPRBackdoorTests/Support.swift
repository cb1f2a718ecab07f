import Foundation
import IPRBackdoor
import IPRData
import IPRTensor

/// Paths of the checked-in fixtures, found from this file's location.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static var triggerSet: String { root.appendingPathComponent("trigger_set").path }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-backdoor-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir + "/pics", withIntermediateDirectories: true)
        return dir
    }

    /// A trigger folder with the first `images` WatermarkNN pictures and the given label lines.
    static func triggerFolder(images: Int, labels: [String], classes: [String]? = nil) throws -> String {
        let dir = try temporaryDirectory()
        let names = try FileManager.default.contentsOfDirectory(atPath: triggerSet + "/pics").sorted().prefix(images)
        for name in names { try FileManager.default.copyItem(atPath: triggerSet + "/pics/" + name, toPath: dir + "/pics/" + name) }
        try (labels.joined(separator: "\n") + "\n").write(toFile: dir + "/labels-cifar.txt", atomically: true, encoding: .utf8)
        if let classes { try classes.joined(separator: "\n").write(toFile: dir + "/classes.txt", atomically: true, encoding: .utf8) }
        return dir
    }
}

/// Solid-colour images, one colour per sample from a seed: easy to tell apart, easy to memorise.
struct ColourDataset: Dataset {
    let colours: [[UInt8]]
    let labels: [Int]
    let classNames: [String]
    init(count: Int, classes: Int, seed: UInt64) {
        var rng = RNG(seed: seed)
        colours = (0..<count).map { _ in (0..<3).map { _ in UInt8(rng.next() % 256) } }
        labels = (0..<count).map { _ in Int(rng.next() % UInt64(classes)) }
        classNames = (0..<classes).map { "class \($0)" }
    }
    var count: Int { labels.count }
    func sample(at index: Int) throws -> (image: Image, label: Int) {
        try checkIndex(index)
        return (Image(width: 8, height: 8, pixels: (0..<64).flatMap { _ in colours[index] }), labels[index])
    }
}

/// A trigger set of your own, in memory: the seam a user brings trigger images through.
struct ColourTriggers: TriggerSource {
    let samples: any Dataset
    var name: String { "colour triggers" }
    init(count: Int, classes: Int, seed: UInt64) { samples = ColourDataset(count: count, classes: classes, seed: seed) }
}
