import IPRModels
import IPRTensor

/// Checkpoints of passport models: the usual checkpoint plus metadata `scheme` and
/// `passport_layers` (the flagged block paths — never the signature texts, which stay in the
/// passport file), so a checkpoint rebuilds its own passport layers.
public enum PassportCheckpoint {
    /// Metadata that marks a passport model.
    public static func metadata(scheme: Scheme, factory: PassportBlockFactory) throws -> [String: String] {
        let paths = try factory.config.passportLayers(in: factory.specs).map(\.spec.path)
        return ["scheme": scheme.rawValue, "passport_layers": paths.joined(separator: ",")]
    }

    /// Loads any checkpoint: plain models as `Checkpoint.load`, passport models with their passport
    /// layers. Released V2 models (no private passport) load without it.
    public static func load(_ path: String) throws -> (model: any Layer, info: CheckpointInfo, scheme: Scheme?) {
        let (info, file) = try Checkpoint.read(path)
        return try build(info, file, source: path)
    }

    /// The model `info` describes, its tensors from `file` (read from `path`, named in errors).
    static func build(_ info: CheckpointInfo, _ file: SafeTensorsFile, source path: String) throws -> (model: any Layer, info: CheckpointInfo, scheme: Scheme?) {
        guard let schemeName = info.extra["scheme"] else {
            let model = try Models.make(info.arch, config: info.config, seed: 0)
            try model.load(file, source: path)
            return (model, info, nil)
        }
        guard let scheme = Scheme(rawValue: schemeName) else {
            throw IPRPassportError(.malformedPassportFile, "\(path): metadata 'scheme' is '\(schemeName)', expected v1, v2 or v3")
        }
        let paths = (info.extra["passport_layers"] ?? "").split(separator: ",").map(String.init)
        let config = try PassportConfig(leaves: paths.map { .init(keyPath: $0, entry: .passport(signatureText: nil)) }, source: path)
        let (model, _) = try PassportBlockFactory.makeModel(info.arch, config: info.config, scheme: scheme, passports: config, seed: 0, passportSeed: 0)
        let released = info.extra["released"] == "true"
        if released {
            // Everything but the private passport must be there, and nothing the scheme does not
            // define: a passport layer with parameters of its own (an attack's substituted block) is
            // a structurally modified model, not a released one.
            let names = model.stateDict().names
            let missing = names.filter { !isPrivate($0) && file[$0] == nil }
            guard missing.isEmpty else {
                throw IPRTensorError(.stateDictMismatch, "\(path): released model lacks \(missing.prefix(5).joined(separator: ", "))")
            }
            let defined = Set(names)
            let foreign = file.names.filter { !defined.contains($0) }
            guard foreign.isEmpty else {
                throw IPRTensorError(.stateDictMismatch, "\(path): structurally modified: tensors \(info.arch) \(scheme.rawValue) does not define: \(foreign.prefix(5).joined(separator: ", "))")
            }
        }
        try model.load(file, strict: !released, source: path)
        return (model, info, scheme)
    }

    /// The suspect as claim `passport` needs it. A passport checkpoint loads as `load(_:)` does. A
    /// plain one is what a thief makes of a released V2/V3 model by moving each passport layer's
    /// public γ, β into its norm's affine (the reference's `load_passport_model_to_normal_model`): it is
    /// read back into the passport architecture the claim names — convolution weights and norm
    /// statistics by name, the affine as the public γ, β — and verified as a released model is.
    /// - Throws: for a V1 claim on a plain model (V1 needs its passport at inference: a working copy
    ///   keeps passport layers), or a plain model without the tensors the claim's layers need.
    public static func load(_ path: String, claimedBy passport: Passport) throws -> (model: any Layer, info: CheckpointInfo, scheme: Scheme, fromPlain: Bool) {
        let (info, file) = try Checkpoint.read(path)
        if info.extra["scheme"] != nil {
            let (model, info, scheme) = try load(path)
            return (model, info, scheme!, false)
        }
        guard passport.scheme.hasPrivatePath else {
            throw IPRPassportError(.schemeMismatch, "\(path) is a plain model and the claim is a V1 passport: a V1 model needs its passport at inference, so a working copy of one keeps its passport layers")
        }
        var renamed = SafeTensorsFile(metadata: file.metadata)
        let moved = Dictionary(uniqueKeysWithValues: passport.layers.flatMap { l in [(l.path + ".bn.weight", l.path + ".scale"), (l.path + ".bn.bias", l.path + ".bias")] })
        for name in file.names { renamed.set(moved[name] ?? name, file[name]!) }
        // A passport layer's state dict names its convolution weight twice (`weight`, `conv.weight`).
        for layer in passport.layers where renamed[layer.path + ".weight"] == nil {
            if let weight = file[layer.path + ".conv.weight"] { renamed.set(layer.path + ".weight", weight) }
        }
        var claimed = info
        claimed.extra["scheme"] = passport.scheme.rawValue
        claimed.extra["passport_layers"] = passport.layers.map(\.path).joined(separator: ",")
        claimed.extra["released"] = "true"
        let (model, _, scheme) = try build(claimed, renamed, source: path)
        return (model, claimed, scheme!, true)
    }

    /// Whether a state-dict name belongs to what a V2 owner keeps private (passports, signature,
    /// private-path statistics).
    public static func isPrivate(_ name: String) -> Bool {
        let last = name.split(separator: ".").last.map(String.init) ?? name
        return ["key_private", "skey_private", "b"].contains(last) || name.contains(".bn_private.") || name.contains(".sign_loss_private.")
    }

    /// Writes a (possibly modified) passport model as `info` describes it: a released model stays
    /// released, without the private passport and statistics it never had.
    public static func save(_ model: any Layer, info: CheckpointInfo, to path: String) throws {
        guard info.extra["released"] == "true" else { return try Checkpoint.save(model, info: info, to: path) }
        let full = model.stateDict(metadata: info.metadata)
        var file = SafeTensorsFile(metadata: full.metadata)
        for name in full.names where !isPrivate(name) { file.set(name, full[name]!) }
        try SafeTensors.write(file, to: path)
    }

    /// The deployable V2/V3 model: everything except the private passports, the signature and the
    /// private-path statistics; `evaluate` runs it on the public path. Verification re-estimates the
    /// private path's statistics (`PrivateStatistics`), so the released file verifies as it is.
    public static func release(_ checkpoint: String, to out: String) throws {
        let (info, file) = try Checkpoint.read(checkpoint)
        guard let scheme = info.extra["scheme"].flatMap(Scheme.init(rawValue:)), scheme.hasPrivatePath else {
            let what = info.extra["scheme"] == Scheme.v1.rawValue ? "a V1 model needs its passport at inference, so it cannot be released without it" : "it is not a passport model"
            throw IPRPassportError(.invalidConfig, "\(checkpoint): only V2 and V3 models are released: \(what)")
        }
        var released = SafeTensorsFile(metadata: file.metadata.merging(["released": "true"]) { _, new in new })
        for name in file.names where !isPrivate(name) { released.set(name, file[name]!) }
        try SafeTensors.write(released, to: out)
    }
}
