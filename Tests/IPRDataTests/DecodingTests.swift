import Foundation
import IPRTensor
import Testing
@testable import IPRData

@Suite("Image decoding")
struct DecodingTests {
    @Test("PNG: every color type and bit depth decodes to the expected RGB8")
    func pngKinds() throws {
        let g = try TransformGolden.load()
        let cases = g.cases(prefix: "png_")
        #expect(cases.count >= 13)
        for c in cases {
            let image = try ImageCodec.decode(g.bytes("\(c).file"), source: c)
            let expected = try g.image("\(c).expected")
            #expect(maxDifference(image, expected) == 0, "\(c): \(image) differs from \(expected)")
        }
    }

    @Test("JPEG: YCbCr 4:2:0/4:4:4, progressive, gray and CMYK match Pillow")
    func jpegKinds() throws {
        let g = try TransformGolden.load()
        let cases = g.cases(prefix: "jpeg_")
        #expect(cases.count == 5)
        for c in cases {
            let image = try ImageCodec.decode(g.bytes("\(c).file"), source: c)
            let expected = try g.image("\(c).expected")
            #expect(maxDifference(image, expected) == 0, "\(c): max difference \(maxDifference(image, expected))")
        }
    }

    @Test("Format comes from the magic bytes: the trigger set's PNG files named .jpg")
    func pngNamedJPG() throws {
        for (file, w, h) in [("24.jpg", 480, 480), ("66.jpg", 1489, 838)] {
            let path = Fixtures.triggerSet + "/pics/" + file
            let bytes = try FileSystem.read(path)
            #expect(ImageFormat.detect(bytes) == .png)
            let image = try Image(contentsOf: path)
            #expect(image.width == w && image.height == h && image.channels == 3)
        }
        #expect(ImageFormat.detect(try FileSystem.read(Fixtures.triggerSet + "/pics/1.jpg")) == .jpeg)
    }

    @Test("Real trigger images decode and center-crop exactly as Pillow")
    func triggerCropsMatchPillow() throws {
        let g = try TransformGolden.load()
        for (c, file) in [("trigger_1", "1.jpg"), ("trigger_24", "24.jpg")] {
            let image = try Image(contentsOf: Fixtures.triggerSet + "/pics/" + file)
            let crop = try CenterCrop(32).apply(image)
            #expect(maxDifference(crop, try g.image("\(c).center_crop")) == 0, "\(file)")
        }
    }

    @Test("PNG encoding round-trips RGB and gray")
    func pngRoundTrip() throws {
        var rgb = Image(width: 5, height: 3)
        for i in 0..<rgb.pixels.count { rgb.pixels[i] = UInt8((i * 37) % 256) }
        let png = try rgb.pngData()
        #expect(ImageFormat.detect(png) == .png)
        #expect(try ImageCodec.decode(png) == rgb)
        let gray = Image(width: 4, height: 2, channels: 1, pixels: [0, 10, 20, 30, 40, 50, 60, 255])
        #expect(try ImageCodec.decode(gray.pngData()) == gray.rgb())
        let folder = try makeTempFolder()
        try ImageCodec.writePNG(rgb, to: folder + "/out.png")
        #expect(try Image(contentsOf: folder + "/out.png") == rgb)
    }

    // MARK: - Bad input: a typed error naming the file, never a crash

    @Test("Zero-byte image file")
    func zeroByte() throws {
        let folder = try makeTempFolder()
        try write([UInt8](), to: folder + "/empty.png")
        expectDataError(.emptyFile, mentioning: ["empty.png", "0 bytes"]) { _ = try Image(contentsOf: folder + "/empty.png") }
        expectDataError(.emptyFile) { _ = try ImageCodec.decode([]) }
    }

    @Test("Missing image file")
    func missing() throws {
        expectDataError(.missingFile, mentioning: ["nope.jpg"]) { _ = try Image(contentsOf: Fixtures.absent("nope.jpg")) }
    }

    @Test("Unsupported types: GIF, text, a lone PNG signature start")
    func unsupported() throws {
        expectDataError(.unsupportedImage, mentioning: ["x.gif", "GIF", "PNG or JPEG"]) {
            _ = try ImageCodec.decode(Array("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8), source: "x.gif")
        }
        expectDataError(.unsupportedImage, mentioning: ["notes.jpg", "68 65 6c 6c 6f"]) {
            _ = try ImageCodec.decode(Array("hello world".utf8), source: "notes.jpg")
        }
    }

    @Test("Truncated PNG and JPEG files")
    func truncated() throws {
        let g = try TransformGolden.load()
        for c in ["png_rgb8", "png_rgba16_interlaced", "jpeg_ycbcr420", "jpeg_progressive", "jpeg_cmyk"] {
            let bytes = try g.bytes("\(c).file")
            for cut in [12, bytes.count / 2, bytes.count - 3] {
                expectDataError(.corruptImage, mentioning: ["\(c)-cut"]) {
                    _ = try ImageCodec.decode(Array(bytes.prefix(cut)), source: "\(c)-cut")
                }
            }
        }
        // A real trigger photo cut in half.
        let photo = try FileSystem.read(Fixtures.triggerSet + "/pics/1.jpg")
        expectDataError(.corruptImage, mentioning: ["1.jpg"]) {
            _ = try ImageCodec.decode(Array(photo.prefix(photo.count / 2)), source: "pics/1.jpg")
        }
    }

    @Test("Corrupt PNG (bad CRC, bad data, bad header) and JPEG (bad frame header, 12-bit)")
    func corrupt() throws {
        let g = try TransformGolden.load()
        let png = try g.bytes("png_rgb8.file")
        var crc = png
        crc[29] ^= 0xFF                                            // last byte of IHDR's CRC
        expectDataError(.corruptImage, mentioning: ["crc.png", "CRC"]) { _ = try ImageCodec.decode(crc, source: "crc.png") }
        var data = png
        data[png.count - 20] ^= 0xFF                               // inside the IDAT stream
        expectDataError(.corruptImage, mentioning: ["bad.png", "IDAT"]) { _ = try ImageCodec.decode(data, source: "bad.png") }
        var header = png
        header[16...19] = [0, 0, 0, 0]                             // width 0 in IHDR
        expectDataError(.corruptImage, mentioning: ["zero.png"]) { _ = try ImageCodec.decode(header, source: "zero.png") }

        let jpeg = try g.bytes("jpeg_ycbcr444.file")
        let sof = try #require((2..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        var badFrame = jpeg
        badFrame[sof + 9] = 7                                      // 7 components in the frame header
        expectDataError(.corruptImage, mentioning: ["f.jpg"]) { _ = try ImageCodec.decode(badFrame, source: "f.jpg") }
        var noRows = jpeg
        noRows[(sof + 5)...(sof + 6)] = [0, 0]                     // height 0
        expectDataError(.corruptImage, mentioning: ["h.jpg"]) { _ = try ImageCodec.decode(noRows, source: "h.jpg") }
        var twelveBit = jpeg
        twelveBit[sof + 4] = 12                                    // sample precision 12
        expectDataError(.unsupportedImage, mentioning: ["p.jpg", "12"]) { _ = try ImageCodec.decode(twelveBit, source: "p.jpg") }
        var garbage = jpeg
        for i in (jpeg.count / 2)..<(jpeg.count - 2) { garbage[i] = UInt8(truncatingIfNeeded: i &* 97) }
        do {   // entropy-coded garbage either fails or decodes to something; it must not crash
            _ = try ImageCodec.decode(garbage, source: "garbage.jpg")
        } catch let error as IPRDataError {
            #expect(error.code == .corruptImage)
        }
    }

    @Test("Random damage to PNG and JPEG files gives an image or a typed error, never a crash")
    func randomDamage() throws {
        let g = try TransformGolden.load()
        var rng = RNG(seed: 2024)
        var failures = 0, decoded = 0
        for c in ["png_rgb8", "png_palette4_trns", "png_rgba16_interlaced", "jpeg_ycbcr420", "jpeg_progressive", "jpeg_cmyk"] {
            let original = try g.bytes("\(c).file")
            for _ in 0..<150 {
                var bytes = original
                for _ in 0..<(1 + rng.int(below: 4)) { bytes[rng.int(below: bytes.count)] = UInt8(rng.int(below: 256)) }
                if rng.int(below: 4) == 0 { bytes = Array(bytes.prefix(rng.int(below: bytes.count))) }
                do { _ = try ImageCodec.decode(bytes, source: c); decoded += 1 } catch is IPRDataError { failures += 1 }
            }
        }
        #expect(failures + decoded == 900 && failures > 100)
    }
}
