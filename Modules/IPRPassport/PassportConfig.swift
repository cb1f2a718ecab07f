#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import IPRModels
import IPRTensor

/// Which conv blocks of a model are passport layers: the reference's `passport_configs/*.json`.
///
/// The file is a JSON object mirroring the layer tree. Each leaf is `false` (plain conv block),
/// `true` (passport layer, random signature) or a string (passport layer carrying that text as its
/// signature). Nested objects join their keys with dots, so a leaf has a *key path*:
///
/// - AlexNet (`alexnet_passport.json`): flat, keyed by index into `features`:
///   `{"0": false, "2": false, "4": true, "5": true, "6": true}`; key `"4"` is block `features.4`.
/// - ResNet (`resnet18_passport.json`, `resnet9_passport.json`): `"convbnrelu_1"` (the stem) at the
///   top, then `"layer1"`…`"layer4"` → block index `"0"`, `"1"` → `"convbnrelu_1"`, `"convbn_2"`,
///   and `"shortcut"` where the block has one; key path `layer4.0.convbn_2` is that block's path.
///
/// A block path `P` takes the entry of the first leaf found among these key paths:
/// 1. `P` itself (a config may spell out our full paths, nested or dotted: `{"features": {"4": true}}`);
/// 2. `P` without a leading `features.` (the reference's AlexNet keys);
/// 3. `P` without a trailing `.0` (the reference's ImageNet ResNet stem: its `convbnrelu_1` is
///    `Sequential(block, max-pool)`, so the block is `convbnrelu_1.0` but the key is `convbnrelu_1`).
///
/// Deliberate differences from the reference's reader (`construct_passport_kwargs` in
/// `experiments/utils.py`, read by `models/*_passport.py`), none of which affects its files:
/// - A block the config does not mention is a plain block; the reference raises `KeyError`.
/// - Leaves the model does not read are ignored there whatever they say; here a passport leaf
///   (`true` or text) that names no block is an `.unknownLayer` error in `validate(against:)`,
///   while a `false` leaf that names no block stays harmless.
/// - The reference allows exactly one level (AlexNet) or three (ResNet) and crashes on others; here
///   any nesting works. Duplicate keys, values other than booleans, strings and objects, and
///   malformed JSON are `.invalidConfig` errors instead of being taken as the last or as truthy.
public struct PassportConfig: Sendable, Equatable {
    /// What a config says about one conv block.
    public enum Entry: Sendable, Equatable {
        /// `false`: an ordinary conv block.
        case plain
        /// `true` (`signatureText` nil: random signature) or a string (the text of the signature).
        case passport(signatureText: String?)

        /// Whether the block is a passport layer.
        public var isPassport: Bool { if case .passport = self { true } else { false } }
    }

    /// One leaf of the file: its dot-joined key path and its entry, in file order.
    public struct Leaf: Sendable, Equatable {
        public var keyPath: String
        public var entry: Entry

        public init(keyPath: String, entry: Entry) {
            self.keyPath = keyPath
            self.entry = entry
        }
    }

    /// A passport layer of a concrete model: its block and what the config says about it.
    public struct Placement: Sendable, Equatable {
        /// The conv block (its `path` is the state-dict path, e.g. `features.4`).
        public var spec: ConvBlockSpec
        /// The key path of the config leaf that flagged it (e.g. `4`).
        public var keyPath: String
        /// The signature text, or nil for a random signature.
        public var signatureText: String?

        /// The layer's signature over `spec.outChannels` channels: the text at the head, every other bit
        /// committed to the passports (`SignatureCommitment`).
        public func makeSignature(key: Tensor, skey: Tensor) throws -> Signature {
            try SignatureCommitment.signature(path: spec.path, text: signatureText, key: key, skey: skey, channels: spec.outChannels)
        }
    }

    /// Every leaf, in file order.
    public let leaves: [Leaf]
    /// Where the config came from (a path, or a label such as `<memory>`), for messages.
    public let source: String

    /// Passport configs are a few hundred bytes; refuse anything absurd before reading it.
    public static let maximumFileBytes = 1 << 20

    /// A config built in code; key paths are dot-joined (`layer4.0.convbn_2`, or `features.4`).
    /// Throws `.invalidConfig` for an empty key path component or a key path given twice.
    public init(leaves: [Leaf], source: String = "<code>") throws {
        self.source = source
        self.leaves = leaves
        var seen: Set<String> = []
        for leaf in leaves {
            if leaf.keyPath.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                throw IPRPassportError(.invalidConfig, "\(source): key path '\(leaf.keyPath)' has an empty component; "
                                       + "expected names joined by single dots, e.g. 'layer4.0.convbn_2' or '4'")
            }
            guard seen.insert(leaf.keyPath).inserted else {
                throw IPRPassportError(.invalidConfig, "\(source): key path '\(leaf.keyPath)' is given twice "
                                       + "(e.g. once nested and once dotted); each layer may be named once")
            }
        }
    }

    // MARK: - Reading

    /// Parses a config held in memory; `source` names it in error messages.
    public static func parse(_ bytes: [UInt8], source: String = "<memory>") throws -> PassportConfig {
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes, allowsByteOrderMark: true)
        } catch {
            throw IPRPassportError(.invalidConfig, "\(source): not valid JSON at byte offset \(error.offset) "
                                   + "(line \(error.line), column \(error.column)): \(error.reason)"
                                   + (error.reason.hasPrefix("duplicate key") ? " (each layer may be named once)" : ""))
        }
        guard case .object(let members) = root else {
            throw IPRPassportError(.invalidConfig, "\(source): expected a JSON object mapping layer names to true, false, "
                                   + "a signature string or a nested object, but found \(root.summary) at the top level")
        }
        var leaves: [Leaf] = []
        try collect(members, prefix: [], into: &leaves, source: source)
        return try PassportConfig(leaves: leaves, source: source)
    }

    /// Parses a config given as text.
    public static func parse(_ text: String, source: String = "<memory>") throws -> PassportConfig {
        try parse(Array(text.utf8), source: source)
    }

    /// Reads and parses the config file at `path`; unreadable files throw `.io`.
    public static func load(path: String) throws -> PassportConfig {
        try parse(readFile(path), source: path)
    }

    private static func collect(_ members: [(key: String, value: JSONValue)], prefix: [String],
                                into leaves: inout [Leaf], source: String) throws {
        for (key, value) in members {
            let path = prefix + [key]
            let keyPath = path.joined(separator: ".")
            switch value {
            case .bool(let flag): leaves.append(Leaf(keyPath: keyPath, entry: flag ? .passport(signatureText: nil) : .plain))
            case .string(let text): leaves.append(Leaf(keyPath: keyPath, entry: .passport(signatureText: text)))
            case .object(let children): try collect(children, prefix: path, into: &leaves, source: source)
            case .number, .null, .array:
                throw IPRPassportError(.invalidConfig, "\(source): key '\(keyPath)': expected true (passport layer), false "
                                       + "(plain layer), a signature string or a nested object, but found \(value.summary)")
            }
        }
    }

    private static func readFile(_ path: String) throws -> [UInt8] {
        func failure(_ what: String) -> IPRPassportError {
            IPRPassportError(.io, "\(path): cannot read the passport config: \(what)")
        }
        guard let file = fopen(path, "rb") else { throw failure(String(cString: strerror(errno))) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if bytes.count > maximumFileBytes {
                throw failure("expected a passport config of at most \(maximumFileBytes) bytes but the file is larger")
            }
            if n < chunk.count {
                if ferror(file) != 0 { throw failure(String(cString: strerror(errno))) }
                return bytes
            }
        }
    }

    // MARK: - Mapping to a model

    /// Every passport leaf (key path and signature text), in file order.
    public var passportLeaves: [Leaf] { leaves.filter(\.entry.isPassport) }

    /// The key paths that may name block `path`, most specific first (see the type's documentation).
    static func candidateKeyPaths(forBlockPath path: String) -> [String] {
        var candidates = [path]
        if path.hasPrefix("features."), path.count > "features.".count { candidates.append(String(path.dropFirst("features.".count))) }
        if path.hasSuffix(".0"), path.count > 2 { candidates.append(String(path.dropLast(2))) }
        return candidates
    }

    /// The leaf for block `path` (a `ConvBlockSpec.path` such as `features.4` or `layer4.0.convbn_2`), if any.
    public func leaf(forBlockPath path: String) -> Leaf? {
        for candidate in Self.candidateKeyPaths(forBlockPath: path) {
            if let leaf = leaves.first(where: { $0.keyPath == candidate }) { return leaf }
        }
        return nil
    }

    /// What the config says about block `path`; nil when it does not mention it (a plain block).
    public func entry(forBlockPath path: String) -> Entry? { leaf(forBlockPath: path)?.entry }

    /// Checks the config against a model's conv blocks (as its `ConvBlockFactory` saw them):
    /// - every passport leaf names a block (`.unknownLayer`, listing the model's blocks);
    /// - no block is named by two leaves, e.g. `"4"` and `"features.4"` (`.invalidConfig`);
    /// - every signature text fits its block's output channels (`.signatureTooLong`, naming the layer).
    public func validate(against specs: [ConvBlockSpec]) throws {
        _ = try passportLayers(in: specs)
    }

    /// The passport layers of a model, in the order of `specs` (the order the model built its blocks),
    /// after the checks of `validate(against:)`.
    public func passportLayers(in specs: [ConvBlockSpec]) throws -> [Placement] {
        var owner: [String: String] = [:]   // leaf key path → block path it names
        for spec in specs {
            let named = Self.candidateKeyPaths(forBlockPath: spec.path).filter { k in leaves.contains { $0.keyPath == k } }
            if named.count > 1 {
                throw IPRPassportError(.invalidConfig, "\(source): block '\(spec.path)' is named by more than one key "
                                       + "(\(named.map { "'\($0)'" }.joined(separator: " and "))); name each layer once")
            }
            guard let keyPath = named.first else { continue }
            if let other = owner[keyPath] {
                throw IPRPassportError(.invalidConfig, "\(source): key '\(keyPath)' names two blocks, '\(other)' and "
                                       + "'\(spec.path)'; spell out the full block path")
            }
            owner[keyPath] = spec.path
        }
        for leaf in leaves where leaf.entry.isPassport && owner[leaf.keyPath] == nil {
            let blocks = specs.map(\.path).joined(separator: ", ")
            throw IPRPassportError(.unknownLayer, "\(source): passport layer '\(leaf.keyPath)' names no conv block of this model; "
                                   + "its conv blocks are \(blocks.isEmpty ? "(none)" : blocks) (a key is the block's path, or "
                                   + "for 'features.N' just 'N' as in the reference's AlexNet config)")
        }
        var placements: [Placement] = []
        for spec in specs {
            guard let leaf = leaf(forBlockPath: spec.path), case .passport(let text) = leaf.entry else { continue }
            if let text, text.utf8.count > Signature.maximumTextBytes(channels: spec.outChannels) {
                let layer = "\(source): layer '\(spec.path)'" + (leaf.keyPath == spec.path ? "" : " (key '\(leaf.keyPath)')")
                throw Signature.tooLong(text: text, channels: spec.outChannels, layer: layer)
            }
            placements.append(Placement(spec: spec, keyPath: leaf.keyPath, signatureText: text))
        }
        return placements
    }
}
