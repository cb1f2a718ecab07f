import IPRModels
import IPRTensor

/// Checkpoints of passport models: the usual checkpoint plus the passport fields of its metadata
/// (`PassportMetadata`), so a checkpoint rebuilds its own passport layers.
public enum PassportCheckpoint {
    /// The passport fields that mark a model with `factory`'s passport layers.
    public static func passportMetadata(scheme: Scheme, factory: PassportBlockFactory) throws -> PassportMetadata {
        PassportMetadata(scheme: scheme, layers: try factory.config.passportLayers(in: factory.specs).map(\.spec.path))
    }

    /// The same as a checkpoint's extra metadata.
    public static func metadata(scheme: Scheme, factory: PassportBlockFactory) throws -> [String: String] {
        var extra: [String: String] = [:]
        try passportMetadata(scheme: scheme, factory: factory).write(into: &extra)
        return extra
    }

    /// `arch` with passport layers of `scheme` at the block paths `layers`, untrained: the architecture a
    /// checkpoint's metadata (or a claim) describes, for its tensors to be loaded into.
    static func architecture(_ arch: String, config: ModelConfig, scheme: Scheme, layers: [String], source: String) throws -> any Layer {
        let passports = try PassportConfig(leaves: layers.map { .init(keyPath: $0, entry: .passport(signatureText: nil)) }, source: source)
        return try PassportBlockFactory.makeModel(arch, config: config, scheme: scheme, passports: passports, seed: 0, passportSeed: 0).model
    }

    /// Loads any checkpoint: plain models as `Checkpoint.load`, passport models with their passport
    /// layers. Released V2 models (no private passport) load without it.
    public static func load(_ path: String) throws -> (model: any Layer, info: CheckpointInfo, scheme: Scheme?) {
        let (info, file) = try Checkpoint.read(path)
        return try build(info, file, source: path)
    }

    /// The model `info` describes, its tensors from `file` (read from `path`, named in errors).
    static func build(_ info: CheckpointInfo, _ file: SafeTensorsFile, source path: String) throws -> (model: any Layer, info: CheckpointInfo, scheme: Scheme?) {
        let recorded = try info.passportMetadata(source: path)
        guard let scheme = recorded.scheme else {
            let model = try Models.make(info.arch, config: info.config, seed: 0)
            try model.load(file, source: path)
            return (model, info, nil)
        }
        let model = try architecture(info.arch, config: info.config, scheme: scheme, layers: recorded.layers, source: path)
        let released = recorded.released
        if released {
            // Everything but the private passport must be there, and nothing the scheme does not
            // define: a passport layer with parameters of its own (an attack's substituted block) is
            // a structurally modified model, not a released one.
            let names = model.stateDict().names, secret = model.secretStateNames()
            let missing = names.filter { !secret.contains($0) && file[$0] == nil }
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
    /// A V1 claim reads a plain model as `plainAsV1` does.
    /// - Throws: for a plain model without the tensors the claim's layers need, or with tensors the
    ///   plain architecture does not define (structurally modified).
    public static func load(_ path: String, claimedBy passport: Passport) throws -> (model: any Layer, info: CheckpointInfo, scheme: Scheme, fromPlain: Bool) {
        let (info, file) = try Checkpoint.read(path)
        return try read(file, info: info, claimedBy: passport, source: path)
    }

    /// `load(_:claimedBy:)` of tensors already read (and perhaps aligned, `loadSuspect`).
    static func read(_ file: SafeTensorsFile, info: CheckpointInfo, claimedBy passport: Passport, source path: String) throws
        -> (model: any Layer, info: CheckpointInfo, scheme: Scheme, fromPlain: Bool) {
        var recorded = try info.passportMetadata(source: path)
        if recorded.scheme != nil {
            let (model, info, scheme) = try build(info, file, source: path)
            return (model, info, scheme!, false)
        }
        guard passport.scheme.hasPrivatePath else { return try plainAsV1(info, file, claimedBy: passport, source: path) }
        var renamed = SafeTensorsFile(metadata: file.metadata)
        let moved = Dictionary(uniqueKeysWithValues: passport.layers.flatMap { l in [(l.path + ".bn.weight", l.path + ".scale"), (l.path + ".bn.bias", l.path + ".bias")] })
        for name in file.names { renamed.set(moved[name] ?? name, file[name]!) }
        // A passport layer's state dict names its convolution weight twice (`weight`, `conv.weight`).
        for layer in passport.layers where renamed[layer.path + ".weight"] == nil {
            if let weight = file[layer.path + ".conv.weight"] { renamed.set(layer.path + ".weight", weight) }
        }
        var claimed = info
        (recorded.scheme, recorded.layers, recorded.released) = (passport.scheme, passport.layers.map(\.path), true)
        claimed.setPassportMetadata(recorded)
        let (model, _, scheme) = try build(claimed, renamed, source: path)
        return (model, claimed, scheme!, true)
    }

    /// A plain network read into a V1 claim's passport layers: convolution weights and norm statistics
    /// by name, and the network's own affine as each layer's `freeAffine` — the γ, β it runs with. A V1
    /// model needs γ, β at inference, so whoever runs one without the passport carries them as a plain
    /// network's affine (the forger of the ERB attack, `deployedNetwork(of:info:)`); the claim's γ, β
    /// come from its passport through the convolution weights that network kept.
    static func plainAsV1(_ info: CheckpointInfo, _ file: SafeTensorsFile, claimedBy passport: Passport, source path: String) throws
        -> (model: any Layer, info: CheckpointInfo, scheme: Scheme, fromPlain: Bool) {
        var claimed = info, recorded = try info.passportMetadata(source: path)
        (recorded.scheme, recorded.layers) = (.v1, passport.layers.map(\.path))
        claimed.setPassportMetadata(recorded)
        let model = try architecture(info.arch, config: info.config, scheme: .v1, layers: passport.layers.map(\.path), source: path)
        // What the claim supplies (its passports and signature) and what is the conv weight again.
        let supplied = Set(passport.layers.flatMap { l in ["key", "skey", "b", "sign_loss.b", "weight"].map { l.path + "." + $0 } })
        let affine = Set(passport.layers.flatMap { l in [l.path + ".bn.weight", l.path + ".bn.bias"] })
        let names = Set(model.stateDict().names)
        let missing = names.subtracting(supplied).filter { file[$0] == nil }.sorted()
        guard missing.isEmpty else {
            throw IPRTensorError(.stateDictMismatch, "\(path): a plain \(info.arch) lacks what the claim's V1 layers need: \(missing.prefix(5).joined(separator: ", "))")
        }
        let foreign = file.names.filter { !names.contains($0) && !affine.contains($0) }
        guard foreign.isEmpty else {
            throw IPRTensorError(.stateDictMismatch, "\(path): structurally modified: tensors a plain \(info.arch) does not define: \(foreign.prefix(5).joined(separator: ", "))")
        }
        var weights = SafeTensorsFile(metadata: file.metadata)
        for name in file.names where !affine.contains(name) { weights.set(name, file[name]!) }
        try model.load(weights, strict: false, source: path)
        let modules = Dictionary(model.namedModules().map { ($0.path, $0.module) }, uniquingKeysWith: { a, _ in a })
        for layer in passport.layers {
            guard let block = modules[layer.path] as? any PassportLayer,
                  let gamma = file[layer.path + ".bn.weight"], let beta = file[layer.path + ".bn.bias"] else {
                throw IPRTensorError(.stateDictMismatch, "\(path): layer '\(layer.path)' has no norm affine (bn.weight, bn.bias) to carry γ, β")
            }
            block.freeAffine = (Tensor(shape: gamma.shape, data: try gamma.floats()), Tensor(shape: beta.shape, data: try beta.floats()))
        }
        return (model, claimed, .v1, true)
    }

    /// The network a passport model deploys, as the plain architecture: each passport layer's γ, β
    /// in its norm's affine — V1: the free ones a thief substituted (`freeAffine`) or else its
    /// passport's; V2/V3: the public ones — and every other tensor by name (the reference's
    /// `load_passport_model_to_normal_model`). What a thief who ran an attack ships, and what
    /// `load(_:claimedBy:)` reads back into a claim's passport layers.
    public static func deployedNetwork(of model: any Layer, info: CheckpointInfo) throws -> (model: any Layer, info: CheckpointInfo) {
        let recorded = try info.passportMetadata(source: info.arch)
        var plainInfo = info, deployed = recorded.asPlain
        deployed.deployedFrom = recorded.scheme?.rawValue
        plainInfo.setPassportMetadata(deployed)
        let plain = try Models.make(info.arch, config: info.config, seed: 0)
        let source = model.stateDict()
        var file = SafeTensorsFile(metadata: plainInfo.metadata)
        var moved: [String: Tensor] = [:]
        for (path, module) in model.namedModules() {
            guard let layer = module as? any PassportLayer else { continue }
            let (gamma, beta) = layer.deployedAffine()
            moved[path + ".bn.weight"] = gamma
            moved[path + ".bn.bias"] = beta
        }
        for name in plain.stateDict().names {
            if let t = moved[name] { file.set(name, SafeTensor(floats: t.array, shape: t.shape)); continue }
            guard let t = source[name] else {
                throw IPRTensorError(.stateDictMismatch, "\(info.arch): the passport model has no '\(name)' for its plain network (a passport layer without a norm has no affine to carry γ, β)")
            }
            file.set(name, t)
        }
        try plain.load(file, source: "deployed network of \(info.arch)")
        return (plain, plainInfo)
    }

    /// Writes a (possibly modified) passport model as `info` describes it: a released model stays
    /// released, without the private passport and statistics it never had.
    public static func save(_ model: any Layer, info: CheckpointInfo, to path: String) throws {
        try SafeTensors.write(contents(of: model, info: info), to: path)
    }

    /// The tensors and metadata `save` writes.
    public static func contents(of model: any Layer, info: CheckpointInfo) -> SafeTensorsFile {
        let full = model.stateDict(metadata: info.metadata)
        guard (try? info.passportMetadata(source: "").released) == true else { return full }
        var file = SafeTensorsFile(metadata: full.metadata)
        let secret = model.secretStateNames()
        for name in full.names where !secret.contains(name) { file.set(name, full[name]!) }
        return file
    }

    /// The deployable V2/V3 model: everything except the private passports, the signature and the
    /// private-path statistics; `evaluate` runs it on the public path. Verification re-estimates the
    /// private path's statistics (`PassportStatistics`), so the released file verifies as it is.
    public static func release(_ checkpoint: String, to out: String) throws {
        let (info, file) = try Checkpoint.read(checkpoint)
        var recorded = try info.passportMetadata(source: checkpoint)
        guard let scheme = recorded.scheme, scheme.hasPrivatePath else {
            let what = recorded.scheme == .v1 ? "a V1 model needs its passport at inference, so it cannot be released without it" : "it is not a passport model"
            throw IPRPassportError(.invalidConfig, "\(checkpoint): only V2 and V3 models are released: \(what)")
        }
        recorded.released = true
        var metadata = file.metadata
        recorded.write(into: &metadata)
        var released = SafeTensorsFile(metadata: metadata)
        // What the layers declare secret (`StateVisitor.secret`) stays behind.
        let secret = try architecture(info.arch, config: info.config, scheme: scheme, layers: recorded.layers, source: checkpoint).secretStateNames()
        for name in file.names where !secret.contains(name) { released.set(name, file[name]!) }
        try SafeTensors.write(released, to: out)
    }
}
