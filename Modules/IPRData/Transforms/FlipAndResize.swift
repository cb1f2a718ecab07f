import Foundation
import IPRTensor

/// `RandomHorizontalFlip(p)`: mirrors left to right when a uniform draw is below `p`.
public struct RandomHorizontalFlip: ImageTransform {
    /// Probability of flipping.
    public var p: Float
    public init(p: Float = 0.5) { self.p = p }
    public var isRandom: Bool { true }
    public func apply(_ image: Image, rng: inout RNG) throws -> Image {
        rng.nextFloat() < p ? image.flippedHorizontally() : image
    }
}

/// `Resize` with PIL's bilinear filter (antialiased when shrinking, as torchvision on PIL images).
public struct Resize: ImageTransform {
    /// The target: the shorter side (aspect ratio kept, as `Resize(256)`), or an exact size.
    public enum Size: Sendable, Equatable {
        case shorterSide(Int)
        case exact(height: Int, width: Int)
    }
    /// The target size.
    public var size: Size

    /// `Resize(n)`: the shorter side becomes `n`, the longer `int(n * long / short)`.
    public init(_ shorterSide: Int) { precondition(shorterSide > 0, "Resize: size must be positive"); size = .shorterSide(shorterSide) }
    /// `Resize((height, width))`.
    public init(height: Int, width: Int) {
        precondition(height > 0 && width > 0, "Resize: size must be positive")
        size = .exact(height: height, width: width)
    }

    public var isRandom: Bool { false }

    /// `Resize(n)` shrinks any input whose shorter side is at least n.
    public var sourceSide: Int? {
        if case let .shorterSide(s) = size { return s }
        return nil
    }

    /// The output size for an input of `width × height` (torchvision `_compute_resized_output_size`).
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        switch size {
        case let .exact(h, w): return (w, h)
        case let .shorterSide(s):
            let (short, long) = width <= height ? (width, height) : (height, width)
            let newLong = Int(Double(s * long) / Double(short))
            return width <= height ? (s, newLong) : (newLong, s)
        }
    }

    public func apply(_ image: Image, rng: inout RNG) throws -> Image {
        guard image.width > 0 && image.height > 0 else {
            throw IPRDataError(.imageSize, "Resize: cannot resize an empty \(image.width)x\(image.height) image")
        }
        let (w, h) = outputSize(width: image.width, height: image.height)
        return image.resized(width: w, height: h)
    }
}

/// `RandomResizedCrop(size, scale, ratio)`: a crop of random area and aspect ratio, resized
/// (bilinear) to `height × width`. torchvision's algorithm: up to 10 attempts drawing the area
/// fraction uniformly from `scale` and the aspect ratio log-uniformly from `ratio`, falling back to
/// a central crop clamped to the ratio range.
public struct RandomResizedCrop: ImageTransform {
    /// Output size.
    public var height: Int, width: Int
    /// Range of the crop's area fraction and of its aspect ratio (width / height).
    public var scale: ClosedRange<Double>, ratio: ClosedRange<Double>

    public init(_ size: Int, scale: ClosedRange<Double> = 0.08...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        self.init(height: size, width: size, scale: scale, ratio: ratio)
    }
    public init(height: Int, width: Int, scale: ClosedRange<Double> = 0.08...1.0,
                ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        precondition(height > 0 && width > 0, "RandomResizedCrop: bad size \(width)x\(height)")
        precondition(ratio.lowerBound > 0, "RandomResizedCrop: ratio must be positive")
        self.height = height; self.width = width; self.scale = scale; self.ratio = ratio
    }

    public var isRandom: Bool { true }

    /// The smallest crop (area fraction `scale.lowerBound`, the most elongated ratio) of an image
    /// whose shorter side is this still has the output's size on its own shorter side.
    public var sourceSide: Int? {
        guard scale.lowerBound > 0 else { return nil }
        let elongation = max(ratio.upperBound, 1 / ratio.lowerBound, 1)
        return Int((Double(max(height, width)) * (elongation / scale.lowerBound).squareRoot()).rounded(.up))
    }

    /// The crop box (torchvision `get_params`) for an image of `imageWidth × imageHeight`.
    public static func parameters(imageWidth: Int, imageHeight: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>,
                                  rng: inout RNG) -> (top: Int, left: Int, height: Int, width: Int) {
        let area = Double(imageWidth * imageHeight)
        let logLow = Foundation.log(ratio.lowerBound), logHigh = Foundation.log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * (scale.lowerBound + (scale.upperBound - scale.lowerBound) * Double(rng.nextFloat()))
            let aspect = Foundation.exp(logLow + (logHigh - logLow) * Double(rng.nextFloat()))
            let w = pythonRound((targetArea * aspect).squareRoot())
            let h = pythonRound((targetArea / aspect).squareRoot())
            if w > 0 && w <= imageWidth && h > 0 && h <= imageHeight {
                let top = rng.int(below: imageHeight - h + 1)
                let left = rng.int(below: imageWidth - w + 1)
                return (top, left, h, w)
            }
        }
        let inRatio = Double(imageWidth) / Double(imageHeight)
        var w = imageWidth, h = imageHeight
        if inRatio < ratio.lowerBound {
            h = pythonRound(Double(w) / ratio.lowerBound)
        } else if inRatio > ratio.upperBound {
            w = pythonRound(Double(h) * ratio.upperBound)
        }
        return ((imageHeight - h) / 2, (imageWidth - w) / 2, h, w)
    }

    public func apply(_ image: Image, rng: inout RNG) throws -> Image {
        guard image.width > 0 && image.height > 0 else {
            throw IPRDataError(.imageSize, "RandomResizedCrop: cannot crop an empty \(image.width)x\(image.height) image")
        }
        let box = RandomResizedCrop.parameters(imageWidth: image.width, imageHeight: image.height, scale: scale, ratio: ratio, rng: &rng)
        return image.cropped(top: box.top, left: box.left, height: box.height, width: box.width).resized(width: width, height: height)
    }
}
