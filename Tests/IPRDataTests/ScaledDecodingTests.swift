import Foundation
import IPRTensor
import Testing
@testable import IPRData

/// JPEGs decoded smaller (libjpeg's DCT scaling) when the first transform shrinks them anyway.
@Suite("Scaled JPEG decoding")
struct ScaledDecodingTests {
    let photo = Fixtures.triggerSet + "/pics/100.jpg"  // a real 1200x1200 photo

    @Test("The smallest 1/8, 1/4, 1/2 scaling that keeps the shorter side, else full size")
    func scales() throws {
        let full = try ImageCodec.decode(contentsOf: photo)
        #expect(full.width == 1200 && full.height == 1200)
        for (minimum, side) in [(0, 1200), (150, 150), (151, 300), (256, 300), (300, 300), (301, 600), (600, 600), (601, 1200), (5000, 1200)] {
            let image = try ImageCodec.decode(contentsOf: photo, minimumSide: minimum)
            #expect(image.width == side && image.height == side, "minimumSide \(minimum)")
        }
        // A non-square photo: 720x480 at 1/4 rounds up to 180x120.
        let wide = try ImageCodec.decode(contentsOf: Fixtures.triggerSet + "/pics/1.jpg", minimumSide: 120)
        #expect(wide.width == 180 && wide.height == 120)
        // PNGs decode whole.
        let png = try Image(width: 40, height: 40, pixels: [UInt8](repeating: 7, count: 4800)).pngData()
        #expect(try ImageCodec.decode(png, minimumSide: 5).width == 40)
    }

    @Test("Transforms say what they need: Resize its side, RandomResizedCrop its smallest crop, crops everything")
    func sourceSides() {
        #expect(Resize(256).sourceSide == 256 && Resize(height: 4, width: 4).sourceSide == nil)
        // 224 · √((4/3) / 0.08) = 914.5…
        #expect(RandomResizedCrop(224).sourceSide == 915)
        #expect(CenterCrop(32).sourceSide == nil && RandomHorizontalFlip().sourceSide == nil)
        #expect(SampleTransform.imageNetTest().image.sourceSide == 256 && SampleTransform.cifarTrain().image.sourceSide == nil)
    }

    @Test("The loader decodes smaller only when allowed, and the result is what a full decode gives, up to resampling")
    func loader() throws {
        let root = try makeTempFolder()
        try write(FileSystem.read(photo), to: root + "/a/100.jpg")
        let data = try ImageFolder(root: root)
        func batch(_ scaled: Bool) throws -> Tensor {
            let loader = DataLoader(dataset: data, batchSize: 1, transform: .imageNetTest(normalize: nil), scaledDecoding: scaled)
            return try #require(try loader.epoch(0).next()).images
        }
        let fast = try batch(true), exact = try batch(false)
        #expect(fast.shape == [1, 3, 224, 224] && exact.shape == fast.shape)
        let difference = zip(fast.array, exact.array).map { Swift.abs($0 - $1) }
        let mean = difference.reduce(0, +) / Float(difference.count)
        #expect(mean > 0 && mean < 3.0 / 255, "mean difference \(mean * 255) levels")
        // Full decoding is the PIL path, bit for bit (the golden transforms test the rest).
        var rng = RNG(seed: 0)
        let reference = try SampleTransform.imageNetTest(normalize: nil)(try ImageCodec.decode(contentsOf: photo), rng: &rng)
        #expect(reference.array == exact.array[...].map { $0 })
    }
}
