import Foundation
import IPRTensor
import Testing
@testable import IPRData

/// Paths of the checked-in fixtures, found from this file's location (no absolute paths).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static var cifar10: String { root.appendingPathComponent("cifar10_subset").path }
    static var cifar10Batches: String { root.appendingPathComponent("cifar10_subset/cifar-10-batches-bin").path }
    static var triggerSet: String { root.appendingPathComponent("trigger_set").path }
    static var golden: String { root.appendingPathComponent("golden/transforms.safetensors").path }
    static var imagenetTiny: String { root.appendingPathComponent("imagenet_tiny").path }
    static var caltechTiny: String { root.appendingPathComponent("caltech_tiny").path }
    /// PIL's decoding and transforms of fixture JPEGs (`Tools/golden/make_imagefolder_fixtures.py`).
    static var imageFolderGolden: String { root.appendingPathComponent("golden/imagefolder.safetensors").path }
    /// A path under a folder that does not exist, in the temporary directory.
    static func absent(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ipr-absent-\(UUID())/\(name)").path
    }
}

/// The transform/decoding golden file made by `Tools/golden/make_transform_golden.py`.
struct TransformGolden {
    static let shared: Result<TransformGolden, Error> = Result { try TransformGolden() }
    static func load() throws -> TransformGolden { try shared.get() }

    let file: SafeTensorsFile
    init(path: String = Fixtures.golden) throws { file = try SafeTensors.read(contentsOf: path) }

    func bytes(_ name: String) throws -> [UInt8] { try file.tensor(name).bytes }

    /// A U8 `[H, W, 3]` tensor as an image.
    func image(_ name: String) throws -> Image {
        let t = try file.tensor(name)
        return Image(width: t.shape[1], height: t.shape[0], channels: t.shape[2], pixels: t.bytes)
    }

    func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let t = try file.tensor(name)
        return (t.shape, try t.floats())
    }

    func params(_ testCase: String) throws -> [String: Any] {
        let json = try #require(file.metadata[testCase], "no metadata for \(testCase)")
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    /// Case names that start with `prefix`.
    func cases(prefix: String) -> [String] {
        var seen: [String] = []
        for n in file.names {
            let c = String(n.prefix { $0 != "." })
            if c.hasPrefix(prefix) && !seen.contains(c) { seen.append(c) }
        }
        return seen
    }
}

/// Largest absolute difference between two images' bytes (Int.max when sizes differ).
func maxDifference(_ a: Image, _ b: Image) -> Int {
    guard a.width == b.width, a.height == b.height, a.channels == b.channels else { return Int.max }
    return zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

/// Sum of an image's bytes.
func byteSum(_ image: Image) -> Int {
    var total = 0
    for v in image.pixels { total += Int(v) }
    return total
}

/// A fresh empty folder under the system temp directory.
func makeTempFolder(_ label: String = #function) throws -> String {
    let name = "iprdata-\(label.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))"
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

func write(_ bytes: [UInt8], to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw IPRDataError(.io, "cannot write \(path)") }
}

func write(_ text: String, to path: String) throws { try write(Array(text.utf8), to: path) }

/// Runs `body`, expecting an `IPRDataError` with `code` whose message contains every string of `mentions`.
@discardableResult
func expectDataError(_ code: IPRDataError.Code, mentioning mentions: [String] = [], sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) -> IPRDataError? {
    do {
        try body()
        Issue.record("expected IPRDataError.\(code), nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as IPRDataError {
        #expect(error.code == code, "code \(error.code), expected \(code): \(error.message)", sourceLocation: sourceLocation)
        for m in mentions {
            #expect(error.message.contains(m), "message does not mention \"\(m)\": \(error.message)", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("expected IPRDataError.\(code), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
