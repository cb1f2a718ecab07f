import CImageCodecs
import CPNG
import IPRTensor

/// Image file formats IPRData reads, recognised by their first bytes (never by file name: the
/// WatermarkNN trigger set has PNG files named `.jpg`).
public enum ImageFormat: String, Sendable, CaseIterable {
    case png = "PNG"
    case jpeg = "JPEG"

    /// The format whose signature starts `bytes`, or nil.
    public static func detect<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        let head = Array(bytes.prefix(8))
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF { return .jpeg }
        return nil
    }

    /// A name for other well-known signatures, for error messages.
    static func describeUnknown(_ bytes: [UInt8]) -> String {
        let head = Array(bytes.prefix(12))
        let ascii = String(decoding: head.map { (32...126).contains($0) ? $0 : 46 }, as: UTF8.self)
        let hex = head.prefix(8).map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
        let known: [(prefix: [UInt8], name: String)] = [
            (Array("GIF8".utf8), "GIF"), (Array("BM".utf8), "BMP"), ([0x49, 0x49, 0x2A, 0x00], "TIFF"),
            ([0x4D, 0x4D, 0x00, 0x2A], "TIFF"), (Array("RIFF".utf8), "RIFF (WebP?)"), ([0x1F, 0x8B], "gzip"),
        ]
        for k in known where head.starts(with: k.prefix) { return "a \(k.name) file (bytes \(hex))" }
        return "bytes \(hex) (\"\(ascii)\")"
    }
}

extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// PNG/JPEG decoding to RGB8 and PNG encoding.
///
/// Decoding gives what `PIL.Image.open(path).convert("RGB")` gives: gray, gray+alpha, palette, RGB,
/// RGBA and 16-bit PNGs (alpha dropped, 16-bit → high byte) and gray, YCbCr, RGB, CMYK/YCCK JPEGs.
public enum ImageCodec {
    /// Decodes PNG or JPEG `bytes`, whichever their signature says; `source` names them in errors.
    /// - Throws: `IPRDataError` `.emptyFile`, `.unsupportedImage`, `.corruptImage`.
    /// `minimumSide` > 0 lets a JPEG decode at 1/2, 1/4 or 1/8 size (libjpeg's DCT scaling, much
    /// faster) while its shorter side stays at least that; PNGs always decode at full size.
    public static func decode(_ bytes: [UInt8], source: String = "<memory>", minimumSide: Int = 0) throws -> Image {
        if bytes.isEmpty { throw IPRDataError(.emptyFile, "\(source): empty image file (0 bytes)") }
        guard let format = ImageFormat.detect(bytes) else {
            throw IPRDataError(.unsupportedImage,
                               "\(source): expected a PNG or JPEG signature at offset 0, found \(ImageFormat.describeUnknown(bytes))")
        }
        var result = ipr_decoded_image()
        let status = bytes.withUnsafeBufferPointer { buffer in
            switch format {
            case .png: ipr_decode_png(buffer.baseAddress, buffer.count, &result)
            case .jpeg: ipr_decode_jpeg_scaled(buffer.baseAddress, buffer.count, Int32(clamping: minimumSide), &result)
            }
        }
        defer { ipr_codec_free(result.pixels) }
        guard status == Int32(IPR_CODEC_OK.rawValue), let pixels = result.pixels else {
            let kind = cString(&result.kind)
            let what = "\(source): \(kind.isEmpty ? format.rawValue : kind) of \(bytes.count) bytes: \(cString(&result.message))"
            switch UInt32(status) {
            case IPR_CODEC_UNSUPPORTED.rawValue, IPR_CODEC_TOO_LARGE.rawValue:
                throw IPRDataError(.unsupportedImage, what)
            default:
                throw IPRDataError(.corruptImage, "\(what) (corrupt or truncated \(format.rawValue))")
            }
        }
        let w = Int(result.width), h = Int(result.height)
        return Image(width: w, height: h, channels: 3) { out in
            out.baseAddress!.initialize(from: pixels, count: w * h * 3)
        }
    }

    /// Reads and decodes the image file at `path` (PNG or JPEG by content).
    public static func decode(contentsOf path: String, minimumSide: Int = 0) throws -> Image {
        try decode(FileSystem.read(path, allowEmpty: true), source: path, minimumSide: minimumSide)
    }

    /// A PNG file of `image` (8-bit RGB, or gray for 1-channel images), in memory.
    /// - Throws: `IPRDataError.io` if libpng refuses (it does not for valid images).
    public static func encodePNG(_ image: Image) throws -> [UInt8] {
        precondition(image.width > 0 && image.height > 0, "encodePNG: empty \(image.width)x\(image.height) image")
        var png = png_image()
        png.version = CPNG_IMAGE_VERSION
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        png.format = image.channels == 3 ? CPNG_FORMAT_RGB : CPNG_FORMAT_GRAY
        var size = 0
        let sized = image.pixels.withUnsafeBytes {
            png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, 0, nil)
        }
        guard sized != 0 else { throw pngError(&png, image) }
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBytes { dst in
            image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, dst.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        guard written != 0 else { throw pngError(&png, image) }
        png_image_free(&png)
        return Array(out.prefix(size))
    }

    /// Writes `image` as a PNG file at `path` (atomically: temp file + rename).
    public static func writePNG(_ image: Image, to path: String) throws {
        let bytes = try encodePNG(image)
        do { try AtomicFile.write(bytes, to: path) } catch {
            throw IPRDataError(.io, "\(path): cannot write PNG (\(error))")
        }
    }

    private static func pngError(_ png: inout png_image, _ image: Image) -> IPRDataError {
        let message = withUnsafeBytes(of: &png.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        png_image_free(&png)
        return IPRDataError(.io, "encoding \(image) as PNG: \(message)")
    }

    private static func cString<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

extension Image {
    /// Decodes the PNG or JPEG file at `path` to RGB (format from the file's content).
    public init(contentsOf path: String) throws { self = try ImageCodec.decode(contentsOf: path) }

    /// This image as a PNG file in memory.
    public func pngData() throws -> [UInt8] { try ImageCodec.encodePNG(self) }
}
