import IPRModels
import IPRTensor

/// How passports are made (the reference's key generation: random, or images through the pretrained model).
public enum KeyType: String, Sendable, CaseIterable, Codable {
    /// Uniform in [−1, 1].
    case random
    /// One image through the pretrained network: the activation at the layer's input.
    case image
    /// 20 images through the pretrained network; channel k of the passport is a not-yet-used random
    /// channel of image k mod 20 (the first layer takes one whole image) — the reference's default.
    case shuffle
}

/// Makes passports from real images fed through a pretrained (plain) network of the same architecture.
public enum PassportKeys {
    /// Images needed per passport for a key type.
    public static func imagesPerPassport(_ type: KeyType) -> Int { type == .shuffle ? 20 : 1 }

    /// Replaces the passports of every passport layer of `model` with ones built from `scaleImages`
    /// (for `P_γ`) and `biasImages` (for `P_β`), `[N, C, H, W]` network inputs, fed through the
    /// pretrained checkpoint. Deterministic for a seed. The signatures follow the new passports
    /// (`SignatureCommitment`), with each layer's text from `texts` by path.
    public static func install(_ type: KeyType, into model: any Module, pretrained: String,
                               scaleImages: Tensor, biasImages: Tensor, seed: UInt64, texts: [String: String] = [:]) throws {
        guard type != .random else { return }
        let layers = model.namedModules().compactMap { m in (m.module as? any PassportLayer).map { (m.path, $0) } }
        let paths = Set(layers.map(\.0))
        let scaleInputs = try activations(at: paths, pretrained: pretrained, images: scaleImages)
        let biasInputs = try activations(at: paths, pretrained: pretrained, images: biasImages)
        var rng = RNG(seed: seed, stream: 0x5EED)
        for (path, layer) in layers {
            guard let s = scaleInputs[path], let b = biasInputs[path] else { continue }
            let skey = type == .shuffle ? shuffle(s, rng: &rng) : s.narrow(dim: 0, start: 0, length: 1)
            let key = type == .shuffle ? shuffle(b, rng: &rng) : b.narrow(dim: 0, start: 0, length: 1)
            guard skey.shape == layer.skey.shape else {
                throw IPRPassportError(.shapeMismatch, "passport layer '\(path)': activations \(skey.shape), the layer takes \(layer.skey.shape) (is the pretrained model the same architecture and input size?)")
            }
            layer.skey.assign(skey)
            layer.key.assign(key)
            let signature = try SignatureCommitment.signature(path: path, text: texts[path], key: layer.key, skey: layer.skey, channels: layer.b.count)
            layer.b.assign(Tensor(shape: [signature.channels], data: signature.bits))
        }
    }

    /// The reference's channel selection: `[N, C, H, W]` → `[1, C, H, W]`, channel k from image
    /// k mod N, a random channel of that image not used before; with 3 channels, one random image.
    public static func shuffle(_ x: Tensor, rng: inout RNG) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        if c == 3 { return x.narrow(dim: 0, start: rng.int(below: n), length: 1).copy() }
        let plane = h * w
        let out = Tensor.zeros([1, c, h, w])
        var used = Set<Int>()
        for k in 0..<c {
            let image = k % n
            // Each image has c channels and gives at most ⌈c/n⌉ of them: an unused one always exists.
            var channel = rng.int(below: c)
            while used.contains(image * c + channel) { channel = rng.int(below: c) }
            used.insert(image * c + channel)
            (out.pointer + k * plane).update(from: x.pointer + (image * c + channel) * plane, count: plane)
        }
        return out
    }

    /// Inputs of the blocks at `paths` when `images` go through the pretrained checkpoint (evaluation mode).
    static func activations(at paths: Set<String>, pretrained: String, images: Tensor) throws -> [String: Tensor] {
        let (info, file) = try Checkpoint.read(pretrained)
        let capture = CapturingFactory(paths: paths)
        let model = try Models.make(info.arch, config: info.config, blocks: capture, seed: 0)
        try model.load(file, source: pretrained)
        _ = noGrad { model(images, .eval) }
        let missing = paths.subtracting(capture.captured.keys)
        guard missing.isEmpty else {
            throw IPRPassportError(.unknownLayer, "\(pretrained): the pretrained \(info.arch) has no conv block at \(missing.sorted().joined(separator: ", "))")
        }
        return capture.captured
    }
}

/// Builds plain conv blocks that remember their input at the given paths (same state-dict names).
final class CapturingFactory: ConvBlockFactory {
    let paths: Set<String>
    var captured: [String: Tensor] = [:]
    init(paths: Set<String>) { self.paths = paths }

    func makeBlock(_ spec: ConvBlockSpec, rng: inout RNG) throws -> any Layer {
        let block = ConvBlock(spec, rng: &rng)
        return paths.contains(spec.path) ? CapturingBlock(block, path: spec.path, owner: self) : block
    }
}

final class CapturingBlock: Layer {
    let inner: ConvBlock
    let path: String
    unowned let owner: CapturingFactory
    init(_ inner: ConvBlock, path: String, owner: CapturingFactory) { self.inner = inner; self.path = path; self.owner = owner }
    func visit(_ v: inout StateVisitor) { inner.visit(&v) }
    func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        owner.captured[path] = x.copy()   // the block may overwrite its output, never its input; copy anyway
        return inner(x, context)
    }
}
