import IPRModels

/// What a checkpoint's metadata says about passports, decoded and encoded here only, so each key is
/// spelled once: `scheme` and `passport_layers` (the flagged block paths — never signature texts,
/// which stay in the passport file) rebuild the passport layers; `released` marks a file without the
/// private passport; `passport_sha256` is the commitment to the passport file the model was trained
/// with; `deployed_from`, `extracted_from` and `attack` say what an attack made of a model.
public struct PassportMetadata: Sendable, Equatable {
    public var scheme: Scheme?
    public var layers: [String] = []
    public var released = false
    public var passportSha256: String?
    /// A plain network made of a passport model's deployed path: that model's scheme.
    public var deployedFrom: String?
    /// A network extracted from another's predictions: that model's architecture.
    public var extractedFrom: String?
    /// The registered attack that wrote the file.
    public var attack: String?

    enum Key: String, CaseIterable {
        case scheme, layers = "passport_layers", released, passportSha256 = "passport_sha256"
        case deployedFrom = "deployed_from", extractedFrom = "extracted_from", attack
    }

    public init(scheme: Scheme? = nil, layers: [String] = [], released: Bool = false) {
        self.scheme = scheme; self.layers = layers; self.released = released
    }

    /// Decodes `metadata` (a checkpoint's extra fields or a file's whole metadata).
    /// - Throws: `.malformedPassportFile` for a scheme other than v1, v2 or v3 (errors name `source`).
    public init(_ metadata: [String: String], source: String) throws {
        if let name = metadata[Key.scheme.rawValue] {
            guard let scheme = Scheme(rawValue: name) else {
                throw IPRPassportError(.malformedPassportFile, "\(source): metadata 'scheme' is '\(name)', expected v1, v2 or v3")
            }
            self.scheme = scheme
        }
        layers = (metadata[Key.layers.rawValue] ?? "").split(separator: ",").map(String.init)
        released = metadata[Key.released.rawValue] == "true"
        passportSha256 = metadata[Key.passportSha256.rawValue]
        deployedFrom = metadata[Key.deployedFrom.rawValue]
        extractedFrom = metadata[Key.extractedFrom.rawValue]
        attack = metadata[Key.attack.rawValue]
    }

    /// Writes every field into `metadata`, removing the keys of those that are unset.
    public func write(into metadata: inout [String: String]) {
        let values: [Key: String?] = [
            .scheme: scheme?.rawValue, .layers: layers.isEmpty ? nil : layers.joined(separator: ","),
            .released: released ? "true" : nil, .passportSha256: passportSha256,
            .deployedFrom: deployedFrom, .extractedFrom: extractedFrom, .attack: attack,
        ]
        for key in Key.allCases { metadata[key.rawValue] = values[key] ?? nil }
    }

    /// The model this metadata describes stripped of its passport: a plain network (the deployed
    /// path of a thief's copy, an extracted student), which keeps the commitment it was made from.
    public var asPlain: PassportMetadata {
        var plain = self
        (plain.scheme, plain.layers, plain.released) = (nil, [], false)
        return plain
    }
}

extension CheckpointInfo {
    /// The passport fields of this checkpoint's metadata.
    /// - Throws: `.malformedPassportFile` for an unknown scheme (errors name `source`).
    public func passportMetadata(source: String) throws -> PassportMetadata { try PassportMetadata(extra, source: source) }

    /// Replaces the passport fields of this checkpoint's metadata.
    public mutating func setPassportMetadata(_ metadata: PassportMetadata) { metadata.write(into: &extra) }
}
