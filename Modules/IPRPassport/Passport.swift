import Foundation
import IPRModels
import IPRTensor

/// Which DeepIPR scheme a model and its passport follow.
public enum Scheme: String, Sendable, Codable, CaseIterable {
    /// Passport layers need the passport at inference (`PassportBlock`).
    case v1
    /// Public and private paths; the released model runs without the passport (`PassportPrivateBlock`).
    case v2
    /// V2's layers and objective, trained on batches extended by trigger-set images (IPRBackdoor), so
    /// that ownership can also be checked from predictions alone.
    case v3

    /// Whether the passport runs a private path beside a public one (V2, V3).
    public var hasPrivatePath: Bool { self != .v1 }
}

/// The secret an owner keeps: every passport layer's scale and bias passports and signature bits.
/// Stored apart from the model (`passport.safetensors`, mode 0600).
public struct Passport: Sendable {
    /// One passport layer's secret.
    public struct Layer: Sendable {
        /// State-dict path of the layer (`features.4`).
        public var path: String
        /// Bias passport `P_β` and scale passport `P_γ`, `[1, C_in, H, W]`.
        public var key: Tensor, skey: Tensor
        /// Signature bits (±1 per output channel) and the text they carry, if any.
        public var bits: [Float]
        public var text: String?
    }

    public var scheme: Scheme
    public var layers: [Layer]
    /// Anything else recorded with the passport (config, key type, fingerprints).
    public var metadata: [String: String]

    public init(scheme: Scheme, layers: [Layer], metadata: [String: String] = [:]) {
        self.scheme = scheme; self.layers = layers; self.metadata = metadata
    }

    public static let format = "swift-deepipr-passport-1"

    /// The passport currently installed in a model's passport layers.
    public static func extract(from model: any Module) throws -> Passport {
        let found = model.namedModules().compactMap { m in (m.module as? any PassportLayer).map { (path: m.path, layer: $0) } }
        let v1 = found.filter { $0.layer is PassportBlock }.count
        guard !found.isEmpty, v1 == 0 || v1 == found.count else {
            throw IPRPassportError(.invalidConfig, found.isEmpty ? "the model has no passport layers" : "the model mixes V1 and V2 passport layers")
        }
        let layers = found.map { Layer(path: $0.path, key: $0.layer.key.copy(), skey: $0.layer.skey.copy(), bits: $0.layer.b.array, text: nil) }
        return Passport(scheme: v1 > 0 ? .v1 : .v2, layers: layers)   // V3's layers are V2's: the caller knows which
    }

    /// Copies this passport into the model's passport layers (same paths and shapes, or an error
    /// naming the layer; nothing changes unless every layer fits).
    public func install(into model: any Module) throws {
        var targets: [(key: Tensor, skey: Tensor, b: Tensor, layer: Layer)] = []
        let modules = Dictionary(model.namedModules().map { ($0.path, $0.module) }, uniquingKeysWith: { a, _ in a })
        for layer in layers {
            let block = modules[layer.path] as? any PassportLayer
            guard let block, (block is PassportBlock) == (scheme == .v1) else {
                throw IPRPassportError(.unknownLayer, "passport layer '\(layer.path)' (\(scheme.rawValue)) is not a \(scheme.rawValue) passport layer of this model; its passport layers: \(Self.passportPaths(modules).joined(separator: ", "))")
            }
            guard block.key.shape == layer.key.shape, block.skey.shape == layer.skey.shape, block.b.count == layer.bits.count else {
                throw IPRPassportError(.shapeMismatch, "passport layer '\(layer.path)': passport \(layer.key.shape) with \(layer.bits.count) signature bits, the model's layer takes \(block.key.shape) with \(block.b.count)")
            }
            targets.append((block.key, block.skey, block.b, layer))
        }
        let expected = Set(Self.passportPaths(modules)), given = Set(layers.map(\.path))
        guard expected == given else {
            throw IPRPassportError(.unknownLayer, "the passport covers \(given.sorted()) but the model's passport layers are \(expected.sorted())")
        }
        for t in targets {
            t.key.assign(t.layer.key)
            t.skey.assign(t.layer.skey)
            t.b.assign(Tensor(shape: [t.layer.bits.count], data: t.layer.bits))
        }
    }

    private static func passportPaths(_ modules: [String: any Module]) -> [String] {
        modules.filter { $0.value is any PassportLayer }.keys.sorted()
    }

    // MARK: - Files

    /// Writes the passport (safetensors, permissions 0600: it is a secret).
    public func write(to path: String) throws {
        var file = SafeTensorsFile(metadata: metadata.merging([
            "format": Self.format, "scheme": scheme.rawValue,
            "layers": layers.map(\.path).joined(separator: ","),
            "texts": (try? String(decoding: JSONEncoder().encode(Dictionary(uniqueKeysWithValues: layers.compactMap { l in l.text.map { (l.path, $0) } })), as: UTF8.self)) ?? "{}",
        ]) { _, new in new })
        for l in layers {
            file.set(l.path + ".key", SafeTensor(floats: l.key.array, shape: l.key.shape))
            file.set(l.path + ".skey", SafeTensor(floats: l.skey.array, shape: l.skey.shape))
            file.set(l.path + ".b", SafeTensor(floats: l.bits, shape: [l.bits.count]))
        }
        try SafeTensors.write(file, to: path, permissions: 0o600)
    }

    /// Reads a passport file, checking its format and every layer's tensors.
    public static func read(_ path: String) throws -> Passport {
        let file: SafeTensorsFile
        do { file = try SafeTensors.read(contentsOf: path) } catch let error as IPRTensorError {
            // The reader's messages name the file already.
            throw IPRPassportError(.malformedPassportFile, error.message.hasPrefix(path) ? error.message : "\(path): \(error.message)")
        } catch {
            throw IPRPassportError(.malformedPassportFile, "\(path): \(error)")
        }
        guard file.metadata["format"] == format else {
            throw IPRPassportError(.malformedPassportFile, "\(path): not a passport file (metadata format is '\(file.metadata["format"] ?? "missing")', expected '\(format)')")
        }
        guard let scheme = file.metadata["scheme"].flatMap(Scheme.init(rawValue:)) else {
            throw IPRPassportError(.malformedPassportFile, "\(path): metadata 'scheme' is '\(file.metadata["scheme"] ?? "missing")', expected v1, v2 or v3")
        }
        let texts = (file.metadata["texts"].flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }) ?? [:]
        let paths = (file.metadata["layers"] ?? "").split(separator: ",").map(String.init)
        guard !paths.isEmpty else { throw IPRPassportError(.malformedPassportFile, "\(path): the passport lists no layers") }
        var layers: [Layer] = []
        for p in paths {
            func tensor(_ role: String) throws -> Tensor {
                guard let st = file[p + "." + role] else {
                    throw IPRPassportError(.malformedPassportFile, "\(path): layer '\(p)' has no '\(p).\(role)' tensor")
                }
                return Tensor(shape: st.shape, data: try st.floats())
            }
            let key = try tensor("key"), skey = try tensor("skey"), b = try tensor("b")
            guard key.rank == 4, key.shape[0] == 1, key.shape == skey.shape, b.rank == 1,
                  b.array.allSatisfy({ $0 == 1 || $0 == -1 }) else {
                throw IPRPassportError(.malformedPassportFile, "\(path): layer '\(p)' needs key and skey of one shape [1, C, H, W] and ±1 bits; found \(key.shape), \(skey.shape), \(b.shape)")
            }
            layers.append(Layer(path: p, key: key, skey: skey, bits: b.array, text: texts[p]))
        }
        var metadata = file.metadata
        for k in ["format", "scheme", "layers", "texts"] { metadata[k] = nil }
        return Passport(scheme: scheme, layers: layers, metadata: metadata)
    }

    /// SHA-256 of a passport file's bytes: recorded in the checkpoints trained with it, so a
    /// verification report can say whether the claimed passport is the one training used.
    public static func fingerprint(ofFile path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IPRPassportError(.io, "\(path): cannot read the passport file")
        }
        return sha256Hex(data)
    }

    /// A passport of the same shapes with fresh uniform [−1, 1] keys and the same signature bits —
    /// what a forger without the owner's passport would try; also the null model of verification.
    public func randomized(seed: UInt64) -> Passport {
        var rng = RNG(seed: seed)
        var copy = self
        for i in copy.layers.indices {
            copy.layers[i].key = Tensor.uniform(layers[i].key.shape, low: -1, high: 1, rng: &rng)
            copy.layers[i].skey = Tensor.uniform(layers[i].skey.shape, low: -1, high: 1, rng: &rng)
        }
        return copy
    }
}
