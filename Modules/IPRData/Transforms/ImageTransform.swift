import IPRTensor

/// One step of an augmentation pipeline on decoded images, with torchvision's semantics.
///
/// Random steps draw only from the `rng` they are given, so a sample's augmentation depends on
/// the generator the loader derives for it (seed, epoch, index), never on thread timing.
public protocol ImageTransform: Sendable {
    /// Whether the result depends on `rng` (the loader caches results of non-random pipelines).
    var isRandom: Bool { get }
    /// The transformed image.
    /// - Throws: `IPRDataError.imageSize` when the image cannot take the transform (a crop larger
    ///   than the image).
    func apply(_ image: Image, rng: inout RNG) throws -> Image
    /// The shorter side an input needs for this transform to give, up to resampling, what it gives
    /// on the full-size image: a JPEG at least twice that large may be decoded at 1/2, 1/4 or 1/8
    /// size first (libjpeg's DCT scaling). nil: every pixel matters (crops, flips).
    var sourceSide: Int? { get }
}

extension ImageTransform {
    public var sourceSide: Int? { nil }
}

/// Transforms applied in order (torchvision `Compose` for the image part of a pipeline).
public struct Compose: ImageTransform {
    /// The steps, applied first to last.
    public var transforms: [any ImageTransform]

    public init(_ transforms: [any ImageTransform]) { self.transforms = transforms }
    public init(_ transforms: any ImageTransform...) { self.transforms = transforms }

    public var isRandom: Bool { transforms.contains { $0.isRandom } }

    /// What the first step needs: it alone sees the decoded image.
    public var sourceSide: Int? { transforms.first?.sourceSide }

    public func apply(_ image: Image, rng: inout RNG) throws -> Image {
        var x = image
        for t in transforms { x = try t.apply(x, rng: &rng) }
        return x
    }
}

/// Python's `round()` (half to even), which torchvision uses for crop offsets and sizes.
@inline(__always)
func pythonRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }
