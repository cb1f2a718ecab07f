import IPRBackdoor
import IPRModels
import IPRPassport
import IPRTensor

/// An attack on a protected model: what a thief or a forger does to a stolen copy.
/// Conform, and register in `Attacks.registry`, to add one: `iprtool attack NAME` runs it.
public protocol Attack {
    /// The options it takes, with defaults; any other option is an error.
    var options: [AttackOption] { get }
    /// Attacks `context.model` (which it may change: the caller passes a copy of its own) and
    /// reports what happened. The owner's passport is there to measure the claim, not to attack with.
    func run(_ context: AttackContext) throws -> AttackOutcome
}

/// One option an attack takes.
public struct AttackOption: Sendable, Equatable {
    public let name: String
    public let defaultValue: String
    public let help: String
    public init(_ name: String, default defaultValue: String, _ help: String) {
        self.name = name; self.defaultValue = defaultValue; self.help = help
    }

    /// `levels`: the fractions a sweep visits.
    public static func levels(_ defaultValue: String = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1") -> AttackOption {
        AttackOption("levels", default: defaultValue, "comma-separated fractions in 0…1 the sweep visits")
    }

    /// `epochs`, `lr`: the attacks that train.
    public static func epochs(_ help: String) -> AttackOption { AttackOption("epochs", default: "10", help) }
    public static func lr(_ help: String) -> AttackOption { AttackOption("lr", default: "0.01", help) }
    /// `flip-fraction`: the share of signature bits a forger flips to make a signature of its own.
    public static func flipFraction(_ help: String) -> AttackOption { AttackOption("flip-fraction", default: "0.5", help) }

    /// `save-level`: the sweep level whose model is written to `model.safetensors`.
    public static let saveLevel = AttackOption("save-level", default: "0.5", "the level whose attacked model is written (one of the levels)")
}

/// The options given to one run, checked against what the attack takes.
public struct AttackOptions: Sendable, Equatable {
    /// Every option the attack takes, the given value or its default.
    public let values: [String: String]
    /// The name the attack is registered and run under (`Attacks.registry`).
    public let attack: String

    /// - Throws: `.invalidOption` for a name the attack does not take (listing those it does).
    public init(_ given: [String: String], for attack: String, taking options: [AttackOption]) throws {
        let known = Dictionary(options.map { ($0.name, $0.defaultValue) }, uniquingKeysWith: { a, _ in a })
        for name in given.keys.sorted() where known[name] == nil {
            let takes = options.map(\.name).sorted()
            throw IPRAttacksError(.invalidOption, "attack '\(attack)' takes no option '\(name)'; it takes \(takes.isEmpty ? "none" : takes.joined(separator: ", "))")
        }
        values = known.merging(given) { _, new in new }
        self.attack = attack
    }

    public func string(_ name: String) -> String { values[name] ?? "" }

    public func int(_ name: String, atLeast minimum: Int = 0) throws -> Int {
        guard let v = Int(string(name)), v >= minimum else {
            throw IPRAttacksError(.invalidOption, "attack '\(attack)': option \(name) is '\(string(name))', expected an integer ≥ \(minimum)")
        }
        return v
    }

    public func double(_ name: String, in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) throws -> Double {
        guard let v = Double(string(name)), range.contains(v) else {
            throw IPRAttacksError(.invalidOption, "attack '\(attack)': option \(name) is '\(string(name))', expected a number in \(range.lowerBound)…\(range.upperBound)")
        }
        return v
    }

    /// A fraction in 0…1.
    public func fraction(_ name: String) throws -> Double { try double(name, in: 0...1) }

    /// The `levels` option: fractions in 0…1, in the order given.
    public func levels() throws -> [Double] {
        let parts = string("levels").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.map { Double($0) }
        guard !parts.isEmpty, values.allSatisfy({ $0.map { (0...1).contains($0) } ?? false }) else {
            throw IPRAttacksError(.invalidOption, "attack '\(attack)': levels '\(string("levels"))' must be comma-separated fractions in 0…1")
        }
        return values.map { $0! }
    }
}

/// The attacker's own data, for attacks that train.
public struct AttackerData {
    /// Training batches (augmented, shuffled per epoch as the attacker would).
    public let batches: any BatchSource
    /// Held-out data of the attacker's task, when there is any: the attacked model's accuracy on it.
    public let evaluation: (any BatchSource)?
    /// Classes of the attacker's task (nil: unknown, not checked).
    public let classes: Int?
    public init(batches: any BatchSource, evaluation: (any BatchSource)? = nil, classes: Int? = nil) {
        self.batches = batches; self.evaluation = evaluation; self.classes = classes
    }
}

/// What an attack is given.
public struct AttackContext {
    /// The stolen model (the attack may change it).
    public let model: any Layer
    public let info: CheckpointInfo
    /// Its passport scheme.
    public let scheme: Scheme
    /// The owner's passport: used to measure detection and the owner's verdict after the attack.
    public let ownerPassport: Passport
    /// Held-out data the owner measures accuracy on.
    public let evaluation: any BatchSource
    /// The attacker's own data, for attacks that train (nil when not given).
    public let attackerData: AttackerData?
    /// The owner's trigger set (V3, or any backdoor watermark), when given: attacks that make a new
    /// model report its trigger accuracy, the black-box claim that may survive where the white-box one cannot.
    public let triggers: (any TriggerSource)?
    public let options: AttackOptions
    public let seed: UInt64
    /// How the owner's verdict is reached after the attack (random passports etc.).
    public let thresholds: VerificationThresholds
    /// Progress lines for long attacks.
    public let progress: (String) -> Void

    public init(model: any Layer, info: CheckpointInfo, scheme: Scheme, ownerPassport: Passport, evaluation: any BatchSource,
                attackerData: AttackerData? = nil, triggers: (any TriggerSource)? = nil, options: AttackOptions, seed: UInt64,
                thresholds: VerificationThresholds = AttackContext.defaultThresholds, progress: @escaping (String) -> Void = { _ in }) {
        self.model = model; self.info = info; self.scheme = scheme; self.ownerPassport = ownerPassport
        self.evaluation = evaluation; self.attackerData = attackerData; self.triggers = triggers; self.options = options; self.seed = seed
        self.thresholds = thresholds; self.progress = progress
    }

    /// The owner's checks after an attack: verification's defaults, without the forged-accuracy
    /// passes (each costs passes over the data, at every level of a sweep).
    public static var defaultThresholds: VerificationThresholds {
        var t = VerificationThresholds()
        t.forgedAccuracySamples = 0
        return t
    }

    /// The name the attack runs under, as the registry gave it (its report's `attack`).
    public var attack: String { options.attack }

    /// The attacker's data, or an error saying that this attack (which `does` with it) needs some.
    func requireAttackerData(does: String = "trains on the attacker's data") throws -> AttackerData {
        guard let attackerData else {
            throw IPRAttacksError(.unsuitableInput, "attack '\(attack)' \(does): give it (iprtool: --attacker-data DIR)")
        }
        return attackerData
    }

    /// The model's passport layers, or an error: this attack works on them.
    func requirePassportLayers() throws -> [any PassportLayer] {
        let layers = passportLayers(in: model)
        guard !layers.isEmpty else { throw IPRAttacksError(.unsuitableInput, "\(attack): the model has no passport layers") }
        return layers
    }

    /// The owner's claim on the model as it is now: accuracy with the passport (the private path for
    /// V2/V3), the signature's detection, public accuracy and the verdict.
    public func measure() throws -> AttackReport.Measurement {
        let report = try Verifier.verify(model: model, passport: ownerPassport, data: evaluation, thresholds: thresholds, seed: seed)
        return .init(accuracy: report.accuracy, detection: report.signature.detection, publicAccuracy: report.publicAccuracy,
                     verdict: report.verdict)
    }
}

/// An attack's result: the report, and the artefacts the caller writes beside it.
public struct AttackOutcome {
    public var report: AttackReport
    /// The attacked model, when the attack changed it (`model.safetensors`).
    public var attackedModel: (any Layer)?
    /// How the attacked model is written when not as the stolen one was: a plain network's
    /// checkpoint (`PassportCheckpoint.deployedNetwork`), what a V1 forger runs without a passport.
    public var attackedInfo: CheckpointInfo?
    /// A forged passport, when the attack made one (`forged-passport.safetensors`).
    public var forgedPassport: Passport?
    /// The attacked model as a file, when no architecture of ours holds it (channels added or
    /// removed): written as it is to `model.safetensors`.
    public var attackedFile: SafeTensorsFile?

    public init(report: AttackReport, attackedModel: (any Layer)? = nil, attackedInfo: CheckpointInfo? = nil, forgedPassport: Passport? = nil,
                attackedFile: SafeTensorsFile? = nil) {
        self.report = report; self.attackedModel = attackedModel; self.attackedInfo = attackedInfo; self.forgedPassport = forgedPassport
        self.attackedFile = attackedFile
    }

    /// An outcome whose attacked model is the forger's network: V2/V3 `model` as it is (the forged
    /// γ, β are its public path's), V1 `model`'s deployed network with the forged γ, β `install`
    /// puts on its layers (`freeAffine`), written as a plain model.
    static func forgerNetwork(_ report: AttackReport, _ context: AttackContext, install: () -> Void) throws -> AttackOutcome {
        guard !context.scheme.hasPrivatePath else { return AttackOutcome(report: report, attackedModel: context.model) }
        install()
        defer { for layer in passportLayers(in: context.model) { layer.freeAffine = nil } }
        let (plain, info) = try PassportCheckpoint.deployedNetwork(of: context.model, info: context.info)
        return AttackOutcome(report: report, attackedModel: plain, attackedInfo: info)
    }
}
