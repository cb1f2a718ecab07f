import IPRTensor

/// `RandomCrop(size, padding)`: zero-pad every side by `padding`, then crop `height × width` at an
/// offset drawn uniformly (top first, then left), as torchvision does.
public struct RandomCrop: ImageTransform {
    /// Crop size and zero padding added to every side first.
    public var height: Int, width: Int, padding: Int

    public init(_ size: Int, padding: Int = 0) { self.init(height: size, width: size, padding: padding) }
    public init(height: Int, width: Int, padding: Int = 0) {
        precondition(height > 0 && width > 0 && padding >= 0, "RandomCrop: bad size \(width)x\(height) or padding \(padding)")
        self.height = height; self.width = width; self.padding = padding
    }

    public var isRandom: Bool { true }

    public func apply(_ image: Image, rng: inout RNG) throws -> Image {
        let ph = image.height + 2 * padding, pw = image.width + 2 * padding
        guard ph >= height && pw >= width else {
            throw IPRDataError(.imageSize, "RandomCrop \(width)x\(height): image is \(image.width)x\(image.height)"
                               + (padding > 0 ? " (\(pw)x\(ph) padded)" : "") + ", smaller than the crop")
        }
        let top = rng.int(below: ph - height + 1), left = rng.int(below: pw - width + 1)
        // Cropping the padded image at (top, left) = cropping the original at (top - p, left - p).
        return image.cropped(top: top - padding, left: left - padding, height: height, width: width)
    }
}

/// `CenterCrop(size)`: the central `height × width` region; offsets `round((H - h) / 2)` as
/// torchvision computes them. Images larger than the crop are cropped without resizing (the
/// trigger set's photos are center-cropped to 32 this way). A smaller image is an error unless
/// `padIfSmaller`, which zero-pads it first exactly as torchvision's `center_crop` does.
public struct CenterCrop: ImageTransform {
    /// Crop size, and whether a smaller image is zero-padded (torchvision) instead of refused.
    public var height: Int, width: Int, padIfSmaller: Bool

    public init(_ size: Int, padIfSmaller: Bool = false) { self.init(height: size, width: size, padIfSmaller: padIfSmaller) }
    public init(height: Int, width: Int, padIfSmaller: Bool = false) {
        precondition(height > 0 && width > 0, "CenterCrop: bad size \(width)x\(height)")
        self.height = height; self.width = width; self.padIfSmaller = padIfSmaller
    }

    public var isRandom: Bool { false }

    public func apply(_ image: Image, rng: inout RNG) throws -> Image { try apply(image) }

    /// The crop (no randomness involved).
    public func apply(_ image: Image) throws -> Image {
        var x = image
        if x.width < width || x.height < height {
            guard padIfSmaller else {
                throw IPRDataError(.imageSize, "CenterCrop \(width)x\(height): image is \(image.width)x\(image.height), smaller than the crop")
            }
            let dw = max(width - x.width, 0), dh = max(height - x.height, 0)
            x = x.padded(left: dw / 2, top: dh / 2, right: (dw + 1) / 2, bottom: (dh + 1) / 2)
            if x.width == width && x.height == height { return x }
        }
        let top = pythonRound(Double(x.height - height) / 2), left = pythonRound(Double(x.width - width) / 2)
        return x.cropped(top: top, left: left, height: height, width: width)
    }
}

/// `Pad(padding)` with fill 0: zero borders of `padding` pixels on every side.
public struct Pad: ImageTransform {
    /// Zero pixels added to every side.
    public var padding: Int
    public init(_ padding: Int) { precondition(padding >= 0, "Pad: negative padding"); self.padding = padding }
    public var isRandom: Bool { false }
    public func apply(_ image: Image, rng: inout RNG) throws -> Image {
        image.padded(left: padding, top: padding, right: padding, bottom: padding)
    }
}
