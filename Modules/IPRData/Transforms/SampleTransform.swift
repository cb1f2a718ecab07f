import IPRTensor

/// What the loader applies to every sample: image transforms, then to-tensor, then an optional
/// normalisation (torchvision `Compose([..., ToTensor(), Normalize(mean, std)])`).
public struct SampleTransform: Sendable {
    /// The image part of the pipeline.
    public let image: Compose
    /// The normalisation after to-tensor, or nil for values in [0, 1].
    public let normalize: Normalize?
    let tables: [ChannelTable]   // index 0: 1 channel, 1: 3 channels

    /// `transforms`, then to-tensor, then `normalize` if given.
    public init(_ transforms: [any ImageTransform], normalize: Normalize? = nil) {
        image = Compose(transforms)
        self.normalize = normalize
        // A table is only used for images whose channel count the normalisation fits (`write` checks).
        let gray = normalize?.mean.count == 1 ? normalize : nil
        let rgb = normalize?.mean.count == 1 || normalize?.mean.count == 3 ? normalize : nil
        tables = [ChannelTable(channels: 1, normalize: gray), ChannelTable(channels: 3, normalize: rgb)]
    }

    /// `transforms`, then to-tensor, then `normalize` if given.
    public init(_ transforms: any ImageTransform..., normalize: Normalize? = nil) { self.init(transforms, normalize: normalize) }

    /// Whether any image transform is random.
    public var isRandom: Bool { image.isRandom }

    /// The sample as a `[C, H, W]` tensor.
    public func callAsFunction(_ input: Image, rng: inout RNG) throws -> Tensor {
        let x = try image.apply(input, rng: &rng)
        let out = Tensor(shape: [x.channels, x.height, x.width], storage: TensorStorage(count: x.pixels.count, zeroed: false))
        try write(x, to: out.pointer)
        return out
    }

    /// Writes an already transformed image as CHW floats (to-tensor + normalise) at `out`.
    func write(_ x: Image, to out: UnsafeMutablePointer<Float>) throws {
        if let n = normalize, n.mean.count != 1 && n.mean.count != x.channels {
            throw IPRDataError(.invalidOption, "Normalize has \(n.mean.count) means, but the image has \(x.channels) channel(s)")
        }
        tables[x.channels == 1 ? 0 : 1].write(x, to: out)
    }

    // MARK: - The pipelines of the reference (SPEC §5)

    /// CIFAR training: random crop 32 with 4 pixels of zero padding, random horizontal flip, to-tensor, normalise.
    public static func cifarTrain(normalize: Normalize? = .imageNet) -> SampleTransform {
        SampleTransform(RandomCrop(32, padding: 4), RandomHorizontalFlip(), normalize: normalize)
    }
    /// CIFAR test: to-tensor, normalise.
    public static func cifarTest(normalize: Normalize? = .imageNet) -> SampleTransform {
        SampleTransform([], normalize: normalize)
    }
    /// Trigger set: center crop 32 of the full-size photo (no resize), to-tensor, normalise.
    public static func triggerSet(normalize: Normalize? = .imageNet) -> SampleTransform {
        SampleTransform(CenterCrop(32), normalize: normalize)
    }
    /// ImageNet training: random-resized-crop `size` (224), random horizontal flip, to-tensor, normalise.
    public static func imageNetTrain(size: Int = 224, normalize: Normalize? = .imageNet) -> SampleTransform {
        SampleTransform(RandomResizedCrop(size), RandomHorizontalFlip(), normalize: normalize)
    }
    /// ImageNet test: resize the shorter side to 256/224 of `size` (256), center crop `size` (224),
    /// to-tensor, normalise.
    public static func imageNetTest(size: Int = 224, normalize: Normalize? = .imageNet) -> SampleTransform {
        SampleTransform(Resize(size * 256 / 224), CenterCrop(size), normalize: normalize)
    }
}
