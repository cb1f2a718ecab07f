import Foundation
import Testing
@testable import IPRData

/// Inputs the fuzzers (`Tools/fuzz/run`) found crashing a reader, kept in `Fixtures/fuzz/`: each must
/// now be refused with an error that says what is wrong.
@Suite("Fuzz findings")
struct FuzzFindingTests {
    static func finding(_ name: String) -> String { Fixtures.root.appendingPathComponent("fuzz/" + name).path }

    /// IDX dimensions are four big-endian 32-bit numbers; their product overflowed Int and trapped.
    @Test func idxDimensionsWhoseProductOverflowsAreRefused() throws {
        let dir = Self.finding("idx-dimensions-overflow")
        let e = try #require(throws: IPRDataError.self) {
            _ = try IDXDataset(imagesFile: dir + "/images-idx3-ubyte", labelsFile: dir + "/labels-idx1-ubyte")
        }
        #expect(e.code == .malformedFile && e.message.contains("262240x33554432x67108864") && e.message.contains("more than"))
    }

    /// A claim within Int but beyond the limit is refused before any data is compared or copied.
    @Test func idxHeadersClaimingMoreThanTheLimitAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-idx-claim-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(IDXTests.idx([65536, 65536, 1], [])).write(to: URL(fileURLWithPath: dir + "/images"))
        try Data(IDXTests.idx([1], [0])).write(to: URL(fileURLWithPath: dir + "/labels"))
        let e = try #require(throws: IPRDataError.self) { _ = try IDXDataset(imagesFile: dir + "/images", labelsFile: dir + "/labels") }
        #expect(e.message.contains("65536x65536x1") && e.message.contains("\(IDXDataset.maximumBytes) bytes"))
        try Data(IDXTests.idx([2, 0, 28], [])).write(to: URL(fileURLWithPath: dir + "/images"))
        let empty = try #require(throws: IPRDataError.self) { _ = try IDXDataset(imagesFile: dir + "/images", labelsFile: dir + "/labels") }
        #expect(empty.message.contains("0x28 images"))
    }

    /// A small gzip stream can inflate to any size: inflation stops at the limit with an error.
    @Test func gzipInflationStopsAtItsLimit() throws {
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 4 << 20))
        #expect(bomb.count < 10_000)
        let e = try #require(throws: IPRDataError.self) { _ = try Gzip.decompress(bomb, source: "bomb.gz", maximumBytes: 1 << 20) }
        #expect(e.code == .malformedFile && e.message.contains("inflates to more than 1048576 bytes"))
        #expect(try Gzip.decompress(bomb, source: "bomb.gz", maximumBytes: 4 << 20).count == 4 << 20)
    }
}
