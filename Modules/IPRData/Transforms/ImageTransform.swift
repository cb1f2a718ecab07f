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
}

/// Transforms applied in order (torchvision `Compose` for the image part of a pipeline).
public struct Compose: ImageTransform {
    /// The steps, applied first to last.
    public var transforms: [any ImageTransform]

    public init(_ transforms: [any ImageTransform]) { self.transforms = transforms }
    public init(_ transforms: any ImageTransform...) { self.transforms = transforms }

    public var isRandom: Bool { transforms.contains { $0.isRandom } }

    public func apply(_ image: Image, rng: inout RNG) throws -> Image {
        var x = image
        for t in transforms { x = try t.apply(x, rng: &rng) }
        return x
    }
}

/// Python's `round()` (half to even), which torchvision uses for crop offsets and sizes.
@inline(__always)
func pythonRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }
