import IPRModels
import IPRTensor

/// A suspect model as a thief ships it, read for an ownership claim: with or without our metadata,
/// under a prefix (`module.`), in F16, and — given the owner's reference copy — permuted, rescaled,
/// widened with dummy neurons or channel-pruned (`ChannelAlignment`).
public struct Suspect {
    public var model: any Layer
    public var info: CheckpointInfo
    public var scheme: Scheme
    /// A plain network read into the claim's passport layers.
    public var fromPlain: Bool
    /// How the suspect was aligned to `--reference` (nil without one).
    public var alignment: AlignmentReport?
    /// Per passport layer, the reference channels the suspect lacks: their signature bits are unreadable.
    public var unreadable: [String: Set<Int>]
    /// What was supplied or changed to read it (where the model description came from, a prefix removed).
    public var notes: [String]

    /// The checks a verdict on it needs beside the signature's: that it is a copy of the reference.
    public var checks: [(passed: Bool, line: String)] {
        alignment.map { [(passed: $0.isCopy, line: "alignment to the reference: " + $0.summary)] } ?? []
    }
}

extension Passport {
    /// The metadata keys of a checkpoint that describe the model a passport was trained for.
    static let describedKeys = ["arch", "classes", "input_size", "norm", "dataset", "mean", "std"]

    /// Records the model this passport protects (architecture, classes, input size, norm, input
    /// normalisation) in its metadata, so a suspect without metadata (re-saved by another tool) can
    /// be read with the passport alone.
    public mutating func describe(_ info: CheckpointInfo) {
        let m = info.metadata
        for k in Self.describedKeys { metadata["model." + k] = m[k] }
    }

    /// The model this passport was trained for, when its file records it.
    public var modelDescription: CheckpointInfo? {
        var m: [String: String] = ["format": CheckpointInfo.format]
        for k in Self.describedKeys { if let v = metadata["model." + k] { m[k] = v } }
        return m["arch"] == nil ? nil : try? CheckpointInfo(metadata: m, source: "the passport's model description")
    }
}

extension PassportCheckpoint {
    /// The suspect at `path` read for `passport`'s claim. Its model description is its own metadata,
    /// else the reference's, else the passport's. With `reference` (the owner's copy: a training
    /// checkpoint or the released file) the suspect is first aligned to it from weights alone; without
    /// one, only a prefix is removed from its names.
    public static func loadSuspect(_ path: String, claimedBy passport: Passport, reference: String? = nil,
                                   threshold: Double = ChannelAlignment.defaultThreshold) throws -> Suspect {
        try loadSuspect(SafeTensors.read(contentsOf: path), source: path, claimedBy: passport,
                        reference: try reference.map { (try SafeTensors.read(contentsOf: $0), $0) }, threshold: threshold)
    }

    /// `loadSuspect(_:claimedBy:reference:threshold:)` of files already read (`source` and the
    /// reference's name in messages): what attacks that edit a model's structure measure with.
    public static func loadSuspect(_ raw: SafeTensorsFile, source path: String, claimedBy passport: Passport,
                                   reference referenceRead: (file: SafeTensorsFile, source: String)?,
                                   threshold: Double = ChannelAlignment.defaultThreshold) throws -> Suspect {
        let referenceFile = referenceRead?.file, reference = referenceRead?.source
        var notes: [String] = []
        let own = raw.metadata["arch"] != nil
        let description: CheckpointInfo
        if own {
            description = try CheckpointInfo(metadata: raw.metadata, source: path)
        } else if let referenceFile, referenceFile.metadata["arch"] != nil, let reference {
            let r = try CheckpointInfo(metadata: referenceFile.metadata, source: reference)
            description = CheckpointInfo(arch: r.arch, config: r.config, dataset: r.dataset, mean: r.mean, std: r.std)
            notes.append("\(path) has no metadata: the model description (\(r.arch), \(r.config.classes) classes, \(r.config.inputSize) px) comes from the reference \(reference)")
        } else if let d = passport.modelDescription {
            description = d
            notes.append("\(path) has no metadata: the model description (\(d.arch), \(d.config.classes) classes, \(d.config.inputSize) px) comes from the passport file")
        } else {
            throw IPRPassportError(.invalidConfig, "\(path) has no metadata (no 'arch'), and neither a reference nor the passport file describes the model: give --reference FILE, the owner's copy of the model")
        }

        var file = raw
        var alignment: AlignmentReport?, missing: [String: Set<Int>] = [:]
        if let referenceFile {
            let graph = try ChannelGraph.registry.lookup(description.arch)(description.config)
            let aligned = try ChannelAlignment.align(suspect: raw, reference: referenceFile, graph: graph, threshold: threshold)
            (file, missing, alignment) = (aligned.aligned, aligned.missing, aligned.report)
        } else {
            let names = try Models.make(description.arch, config: description.config, seed: 0).stateDict()
            let (renamed, prefix) = ChannelAlignment.stripPrefix(raw, toMatch: names)
            file = renamed
            if let prefix { notes.append("prefix '\(prefix)' removed from \(path)'s tensor names") }
        }
        for name in file.names where [.f16, .bf16].contains(file[name]!.dtype) {
            file.set(name, SafeTensor(floats: try file[name]!.floats(), shape: file[name]!.shape))
        }

        // Without metadata, the tensors say what the suspect is: a released passport model (public γ, β
        // in `scale`, `bias`), a V1 passport model (its passports), or a plain network.
        if !own {
            var m = description.metadata, recorded = try PassportMetadata(m, source: path)
            let paths = passport.layers.map(\.path)
            if passport.scheme.hasPrivatePath && paths.allSatisfy({ file[$0 + ".scale"] != nil }) {
                // Released unless it holds what the claim's layers declare secret.
                let secret = try PassportCheckpoint.architecture(description.arch, config: description.config, scheme: passport.scheme,
                                                                 layers: paths, source: path).secretStateNames()
                (recorded.scheme, recorded.layers, recorded.released) = (passport.scheme, paths, !file.names.contains(where: secret.contains))
            } else if !passport.scheme.hasPrivatePath && paths.allSatisfy({ file[$0 + ".skey"] != nil }) {
                (recorded.scheme, recorded.layers) = (.v1, paths)
            }
            recorded.write(into: &m)
            file.metadata = m
        }
        let info = try CheckpointInfo(metadata: file.metadata, source: path)
        let read: (model: any Layer, info: CheckpointInfo, scheme: Scheme, fromPlain: Bool)
        do {
            read = try self.read(file, info: info, claimedBy: passport, source: path)
        } catch let error as IPRTensorError where error.code == .stateDictMismatch && referenceFile == nil {
            throw IPRTensorError(.stateDictMismatch, error.message + " — a copy with channels added or removed reads once aligned: --reference FILE (the owner's copy of the model)")
        }
        let (model, readInfo, scheme, fromPlain) = read
        let passportPaths = Set(passport.layers.map(\.path))
        return Suspect(model: model, info: readInfo, scheme: scheme, fromPlain: fromPlain, alignment: alignment,
                       unreadable: missing.filter { passportPaths.contains($0.key) }, notes: notes)
    }
}
