// Bilinear resampling exactly as Pillow's `Image.resize(size, Image.BILINEAR)` computes it
// (libImaging/Resample.c), which is what torchvision's `Resize` runs on PIL images: a separable
// triangle filter whose support widens by the downscale factor (so downscaling antialiases),
// coefficients normalised in double precision, then applied in 22-bit fixed point, horizontal pass
// first (only over the rows the vertical pass reads), each pass rounding to 8 bits.

/// Per-output-pixel filter taps of one axis, in Pillow's fixed point.
struct ResampleAxis {
    /// First input index read by each output pixel.
    var start: [Int]
    /// Number of taps of each output pixel.
    var count: [Int]
    /// `outSize * taps` coefficients (22-bit fixed point), output pixel major.
    var weights: [Int32]
    /// Coefficient stride per output pixel.
    var taps: Int

    static let precisionBits = 32 - 8 - 2

    /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear filter (support 1).
    init(inSize: Int, outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        taps = Int(support.rounded(.up)) * 2 + 1
        start = [Int](repeating: 0, count: outSize)
        count = [Int](repeating: 0, count: outSize)
        weights = [Int32](repeating: 0, count: outSize * taps)
        var k = [Double](repeating: 0, count: taps)
        let ss = 1.0 / filterScale
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            var ww = 0.0
            let xmin = max(0, Int(center - support + 0.5))
            let xmax = min(inSize, Int(center + support + 0.5)) - xmin
            for x in 0..<max(xmax, 0) {
                var t = (Double(x + xmin) - center + 0.5) * ss
                if t < 0 { t = -t }
                let w = t < 1.0 ? 1.0 - t : 0.0
                k[x] = w
                ww += w
            }
            for x in 0..<max(xmax, 0) {
                if ww != 0 { k[x] /= ww }
                let v = k[x] * Double(1 << ResampleAxis.precisionBits)
                weights[xx * taps + x] = Int32(v < 0 ? (-0.5 + v) : (0.5 + v))
            }
            start[xx] = xmin
            count[xx] = max(xmax, 0)
        }
    }
}

extension Image {
    /// The image resampled to `width × height` with Pillow's bilinear filter (antialiased when
    /// shrinking). Matches `PIL.Image.resize((width, height), Image.BILINEAR)` bit for bit.
    public func resized(width outWidth: Int, height outHeight: Int) -> Image {
        precondition(outWidth > 0 && outHeight > 0, "resized: target size must be positive, got \(outWidth)x\(outHeight)")
        if outWidth == width && outHeight == height { return self }
        precondition(width > 0 && height > 0, "resized: cannot resample an empty \(width)x\(height) image")
        let horizontal = ResampleAxis(inSize: width, outSize: outWidth)
        let vertical = ResampleAxis(inSize: height, outSize: outHeight)
        var current = self
        if outWidth != width {
            // Only the rows the vertical pass reads.
            let firstRow = outHeight != height ? vertical.start[0] : 0
            let lastRow = outHeight != height ? vertical.start[outHeight - 1] + vertical.count[outHeight - 1] : height
            current = Image.resampleRows(self, axis: horizontal, outWidth: outWidth, rows: firstRow..<lastRow)
            if outHeight != height {
                var shifted = vertical
                for i in 0..<outHeight { shifted.start[i] -= firstRow }
                return Image.resampleColumns(current, axis: shifted, outHeight: outHeight)
            }
            return current
        }
        return Image.resampleColumns(current, axis: vertical, outHeight: outHeight)
    }

    @inline(__always)
    static func clip8(_ v: Int32) -> UInt8 {
        let s = v >> Int32(ResampleAxis.precisionBits)
        return s < 0 ? 0 : (s > 255 ? 255 : UInt8(s))
    }

    /// Horizontal pass: each output row of `rows` mixes input columns.
    static func resampleRows(_ image: Image, axis: ResampleAxis, outWidth: Int, rows: Range<Int>) -> Image {
        let c = image.channels, inWidth = image.width
        let half = Int32(1) << Int32(ResampleAxis.precisionBits - 1)
        return Image(width: outWidth, height: rows.count, channels: c) { out in
            image.pixels.withUnsafeBufferPointer { src in
                axis.weights.withUnsafeBufferPointer { kk in
                    for (oy, y) in rows.enumerated() {
                        let srow = src.baseAddress! + y * inWidth * c
                        let drow = out.baseAddress! + oy * outWidth * c
                        for xx in 0..<outWidth {
                            let x0 = axis.start[xx], n = axis.count[xx]
                            let k = kk.baseAddress! + xx * axis.taps
                            for ch in 0..<c {
                                var ss = half
                                for x in 0..<n { ss &+= Int32(srow[(x0 + x) * c + ch]) &* k[x] }
                                drow[xx * c + ch] = clip8(ss)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Vertical pass: each output row mixes input rows.
    static func resampleColumns(_ image: Image, axis: ResampleAxis, outHeight: Int) -> Image {
        let c = image.channels, rowLength = image.width * c
        let half = Int32(1) << Int32(ResampleAxis.precisionBits - 1)
        return Image(width: image.width, height: outHeight, channels: c) { out in
            image.pixels.withUnsafeBufferPointer { src in
                axis.weights.withUnsafeBufferPointer { kk in
                    for yy in 0..<outHeight {
                        let y0 = axis.start[yy], n = axis.count[yy]
                        let k = kk.baseAddress! + yy * axis.taps
                        let drow = out.baseAddress! + yy * rowLength
                        for i in 0..<rowLength {
                            var ss = half
                            for y in 0..<n { ss &+= Int32(src[(y0 + y) * rowLength + i]) &* k[y] }
                            drow[i] = clip8(ss)
                        }
                    }
                }
            }
        }
    }
}
