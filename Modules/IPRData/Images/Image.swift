/// A decoded 8-bit image: `height × width × channels` bytes, row-major, interleaved (HWC).
///
/// Decoders always give RGB (3 channels); 1 channel is for gray datasets (MNIST-style IDX) that
/// feed 1-channel models. Geometric transforms work on either; `ToTensor` turns it into CHW floats.
public struct Image: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Interleaved samples per pixel: 3 (RGB) or 1 (gray).
    public let channels: Int
    /// `height * width * channels` bytes, row-major, channels interleaved.
    public var pixels: [UInt8]

    /// Wraps `pixels` (HWC); their count must be `width * height * channels`.
    public init(width: Int, height: Int, channels: Int = 3, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "Image: negative size \(width)x\(height)")
        precondition(channels == 1 || channels == 3, "Image: channels must be 1 or 3, got \(channels)")
        precondition(pixels.count == width * height * channels,
                     "Image: \(width)x\(height)x\(channels) needs \(width * height * channels) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An all-zero (black) image.
    public init(width: Int, height: Int, channels: Int = 3) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: 0, count: width * height * channels))
    }

    /// Builds an image by filling its bytes in place.
    init(width: Int, height: Int, channels: Int, fill: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        let count = width * height * channels
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { fill(buffer) }
            initialized = count
        }
        self.init(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// The sample at row `y`, column `x`, channel `c`.
    public subscript(y: Int, x: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// The same pixels with 3 channels (gray replicated); RGB images are returned as they are.
    public func rgb() -> Image {
        if channels == 3 { return self }
        return Image(width: width, height: height, channels: 3) { out in
            pixels.withUnsafeBufferPointer { src in
                for i in 0..<src.count { let v = src[i]; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
            }
        }
    }

    // MARK: - Geometry (PIL semantics)

    /// The `height × width` region whose top-left corner is at (`top`, `left`); parts outside the image
    /// are zero, as PIL's `Image.crop` (and so torchvision's `F.crop`) gives them.
    public func cropped(top: Int, left: Int, height h: Int, width w: Int) -> Image {
        precondition(h >= 0 && w >= 0, "cropped: negative size \(w)x\(h)")
        let c = channels
        return Image(width: w, height: h, channels: c) { out in
            pixels.withUnsafeBufferPointer { src in
                let x0 = max(0, -left), x1 = min(w, width - left)    // output columns that hit the image
                for y in 0..<h {
                    let row = out.baseAddress! + y * w * c
                    let sy = top + y
                    guard sy >= 0, sy < height, x1 > x0 else { row.initialize(repeating: 0, count: w * c); continue }
                    if x0 > 0 { row.initialize(repeating: 0, count: x0 * c) }
                    (row + x0 * c).initialize(from: src.baseAddress! + (sy * width + left + x0) * c, count: (x1 - x0) * c)
                    if x1 < w { (row + x1 * c).initialize(repeating: 0, count: (w - x1) * c) }
                }
            }
        }
    }

    /// The image with zero borders (`torchvision.transforms.Pad` with fill 0, constant mode).
    public func padded(left: Int, top: Int, right: Int, bottom: Int) -> Image {
        precondition(left >= 0 && top >= 0 && right >= 0 && bottom >= 0, "padded: negative padding")
        return cropped(top: -top, left: -left, height: height + top + bottom, width: width + left + right)
    }

    /// The image mirrored left to right.
    public func flippedHorizontally() -> Image {
        let c = channels
        return Image(width: width, height: height, channels: c) { out in
            pixels.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    let s = src.baseAddress! + y * width * c, d = out.baseAddress! + y * width * c
                    if c == 3 {
                        for x in 0..<width {
                            let o = (width - 1 - x) * 3
                            d[3 * x] = s[o]; d[3 * x + 1] = s[o + 1]; d[3 * x + 2] = s[o + 2]
                        }
                    } else {
                        for x in 0..<width { d[x] = s[width - 1 - x] }
                    }
                }
            }
        }
    }
}

extension Image: CustomStringConvertible {
    public var description: String { "Image(\(width)x\(height), \(channels == 3 ? "RGB" : "gray"))" }
}
