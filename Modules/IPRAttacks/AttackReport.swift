import IPRModels
/// What an attack did, as `report.json` (keys the tests and users rely on).
public struct AttackReport: Sendable, Codable, Equatable {
    /// The owner's claim at one moment.
    public struct Measurement: Sendable, Codable, Equatable {
        /// Accuracy with the owner's passport (the private path for V2/V3), 0…1.
        public var accuracy: Double
        /// Fraction of the owner's signature bits that γ, from the owner's passport, still carries.
        public var detection: Double
        /// Accuracy of the public path (V2/V3): what the deployed copy gives.
        public var publicAccuracy: Double?
        /// The owner's `verify` verdict.
        public var verdict: Verdict
        public init(accuracy: Double, detection: Double, publicAccuracy: Double?, verdict: Verdict) {
            self.accuracy = accuracy; self.detection = detection; self.publicAccuracy = publicAccuracy; self.verdict = verdict
        }
    }

    /// One row of a sweep (`steps.csv`): the level and what the owner measures there.
    public struct Step: Sendable, Codable, Equatable {
        public var level: Double
        /// Accuracy of the model as the attacker uses it at this level.
        public var accuracy: Double
        /// The owner's signature detection at this level.
        public var detection: Double
        /// The owner's verdict at this level.
        public var verdict: Verdict
        /// Further columns an attack reports (e.g. `publicAccuracy`, `modelSignAgreement`).
        public var extra: [String: Double]
        public init(level: Double, accuracy: Double, detection: Double, verdict: Verdict, extra: [String: Double] = [:]) {
            self.level = level; self.accuracy = accuracy; self.detection = detection; self.verdict = verdict; self.extra = extra
        }
    }

    /// What a forger obtains (ambiguity attacks).
    public struct Forgery: Sendable, Codable, Equatable {
        /// Accuracy with the forged passport, 0…1 (mean over the forgeries tried).
        public var accuracy: Double
        /// Detection of the forged signature on the attacked model.
        public var detection: Double
        /// Bit dissimilarity of the forged signature to the owner's (0…1).
        public var bdr: Double
        /// `verify`'s verdict on the forger's claim (the forged passport), the best forgery's.
        public var verdict: Verdict
        public init(accuracy: Double, detection: Double, bdr: Double, verdict: Verdict) {
            self.accuracy = accuracy; self.detection = detection; self.bdr = bdr; self.verdict = verdict
        }
    }

    /// The black-box claim (a trigger set) on the model before and after an attack that made a new one.
    public struct TriggerClaim: Sendable, Codable, Equatable {
        /// Trigger accuracy of the stolen model and of the attacked one, 0…1.
        public var before: Double
        public var after: Double
        /// `verify --trigger-set`'s verdict on the attacked model.
        public var verdict: Verdict
        public var triggerSet: String
        public init(before: Double, after: Double, verdict: Verdict, triggerSet: String) {
            self.before = before; self.after = after; self.verdict = verdict; self.triggerSet = triggerSet
        }
    }

    public var attack: String
    /// What a sweep's level is ("pruned fraction of the weights"); nil for attacks without levels.
    public var levelMeaning: String?
    public var options: [String: String]
    public var seed: UInt64
    public var before: Measurement
    public var after: Measurement
    public var steps: [Step]
    public var forged: Forgery?
    /// The trigger-set claim, for attacks that measure it (`distill` with a trigger set).
    public var trigger: TriggerClaim?
    /// The owner's verdict on the attacked model (`after.verdict`).
    public var ownerVerdict: Verdict
    public var seconds: Double

    public init(attack: String, levelMeaning: String? = nil, options: [String: String], seed: UInt64, before: Measurement,
                after: Measurement, steps: [Step] = [], forged: Forgery? = nil, seconds: Double = 0) {
        self.attack = attack; self.levelMeaning = levelMeaning; self.options = options; self.seed = seed; self.before = before; self.after = after
        self.steps = steps; self.forged = forged; self.ownerVerdict = after.verdict; self.seconds = seconds
    }

    /// `steps.csv`: level, accuracy, detection, verdict, then the extra columns in name order.
    public var stepsCSV: String {
        let extras = Array(Set(steps.flatMap { $0.extra.keys })).sorted()
        var lines = [(["level", "accuracy", "detection", "verdict"] + extras).joined(separator: ",")]
        for s in steps {
            lines.append(([String(s.level), String(s.accuracy), String(s.detection), s.verdict.rawValue]
                          + extras.map { s.extra[$0].map { String($0) } ?? "" }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
