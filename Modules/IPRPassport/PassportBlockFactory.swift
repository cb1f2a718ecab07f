import IPRModels
import IPRTensor

/// Builds passport layers where a passport config flags a block (V1 `PassportBlock` or V2
/// `PassportPrivateBlock`) and plain `ConvBlock`s elsewhere — so every architecture written against
/// `ConvBlockFactory` gets passports with no change.
public final class PassportBlockFactory: ConvBlockFactory {
    public let scheme: Scheme
    public let config: PassportConfig
    public let signLossRatio: Float
    /// Seeds the secret: the random passports (and through them the signature bits beyond the text,
    /// `SignatureCommitment`). Apart from the weights' seed on purpose: a training seed
    /// is not a secret (it is in logs, scripts, papers), and whoever knows this one rebuilds the passport.
    public let passportSeed: UInt64
    /// Every block asked for, in order (for validating the config against the model).
    public private(set) var specs: [ConvBlockSpec] = []

    public init(scheme: Scheme, config: PassportConfig, signLossRatio: Float = 0.1, passportSeed: UInt64) {
        self.scheme = scheme
        self.config = config
        self.signLossRatio = signLossRatio
        self.passportSeed = passportSeed
    }

    public func makeBlock(_ spec: ConvBlockSpec, rng: inout RNG) throws -> any Layer {
        specs.append(spec)
        guard case .passport(let text)? = config.entry(forBlockPath: spec.path) else { return ConvBlock(spec, rng: &rng) }
        let placement = PassportConfig.Placement(spec: spec, keyPath: spec.path, signatureText: text)
        var passportRNG = RNG(seed: passportSeed, stream: 0x9A55_0000 | UInt64(specs.count))
        let keys = randomKeys(spec, rng: &passportRNG)
        let signature = try placement.makeSignature(key: keys.key, skey: keys.skey)
        switch scheme {
        case .v1: return PassportBlock(spec, signature: signature.bits, keys: keys, signLossRatio: signLossRatio, rng: &rng)
        case .v2, .v3: return PassportPrivateBlock(spec, signature: signature.bits, keys: keys, signLossRatio: signLossRatio, rng: &rng)
        }
    }

    /// Builds registered model `name` with passport layers (weights from `seed`, passports and
    /// signatures from `passportSeed`), and checks that the config names only blocks the model has
    /// (an error listing the model's blocks otherwise).
    public static func makeModel(_ name: String, config: ModelConfig, scheme: Scheme, passports: PassportConfig,
                                 signLossRatio: Float = 0.1, seed: UInt64,
                                 passportSeed: UInt64) throws -> (model: any Layer, factory: PassportBlockFactory) {
        let factory = PassportBlockFactory(scheme: scheme, config: passports, signLossRatio: signLossRatio, passportSeed: passportSeed)
        let model = try Models.make(name, config: config, blocks: factory, seed: seed)
        try passports.validate(against: factory.specs)
        return (model, factory)
    }

    /// The passport layers' signature texts by state-dict path (for passport files and decoding).
    public func signatureTexts() throws -> [String: String] {
        var out: [String: String] = [:]
        for p in try config.passportLayers(in: specs) { if let t = p.signatureText { out[p.spec.path] = t } }
        return out
    }
}
