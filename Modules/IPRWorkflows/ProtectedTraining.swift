import Foundation
import IPRBackdoor
import IPRData
import IPRDistributed
import IPRModels
import IPRPassport
import IPRTensor

/// A passport to embed while training (DeepIPR scheme V1, V2 or V3).
public struct PassportProtection: Sendable {
    public var scheme: Scheme
    /// The passport config file (the reference's passport_configs JSON: which blocks, which texts).
    public var config: String
    /// The secret's seed; nil draws a fresh one from the system's cryptographic source (the default:
    /// give one only to rebuild a passport exactly, never one that was published).
    public var passportSeed: UInt64?
    /// Sign-loss weight α per passport layer.
    public var signLoss: Float = 0.1
    /// Random keys, or keys from images through the pretrained model.
    public var keyType: KeyType = .random
    /// Where image keys come from (default: the training data's test split).
    public var keyData: DataRequest?

    public init(scheme: Scheme, config: String) { self.scheme = scheme; self.config = config }
}

/// One training run: a plain model, a protected one (a passport, and for V3 or a backdoor a trigger
/// set), written to `out` as last/best checkpoints, history.csv and (protected) passport.safetensors.
public struct TrainingRequest: Sendable {
    public var model: String
    public var data: DataRequest
    public var out: String
    public var epochs: Int
    public var learningRate: Float = 0.01
    public var momentum: Float = 0.9
    public var weightDecay: Float = 1e-4
    /// Default: ×0.1 at 50 % and 75 % of the epochs.
    public var schedule: LRSchedule?
    public var norm: NormKind = .bn
    public var inputSize = 32
    /// Initialisation, shuffling and augmentation.
    public var seed: UInt64 = 0
    public var protection: PassportProtection?
    /// A trigger set mixed into every batch: V3 with a passport, the backdoor watermark without.
    public var triggerSet: String?
    public var triggerBatch = 2
    /// A trained plain checkpoint to start from (weights copied by name).
    public var pretrained: String?
    public var microBatches = 1
    /// Continue from `out`/last.safetensors.
    public var resume = false

    public init(model: String, data: DataRequest, out: String, epochs: Int) {
        self.model = model; self.data = data; self.out = out; self.epochs = epochs
    }
}

/// What a training run left: the checkpoints' description, and whether it finished or was stopped.
public struct TrainingResult: Sendable {
    public var info: CheckpointInfo
    public var outcome: TrainingOutcome
    /// The secret passport file (protected runs; written by rank 0 on a fresh start).
    public var passport: String?
}

/// Training as one call: the model (with passport layers for a protected run), its secret passport
/// drawn, broadcast to every rank and written (mode 0600) with the model it protects, image keys,
/// the trigger-set mix, the checkpoint metadata that commits to the passport, and the trainer.
public enum ProtectedTraining {
    /// - Parameters:
    ///   - group: data-parallel ranks (nil: this process alone); every rank makes the same call.
    /// - Throws: `WorkflowError` for inconsistent inputs; the domain libraries' errors otherwise.
    public static func run(_ r: TrainingRequest, group: (any Collective)? = nil, progress: ProgressReporter = ProgressReporter()) throws -> TrainingResult {
        let trainSet = try r.data.open(.train)
        let testSet = try r.data.openTest()
        if testSet == nil { progress.line("note: \(r.data.root ?? r.data.dataset) has no test split; training without evaluation") }
        let classes = trainSet.classNames.count
        if let group, group.size > 1 {
            // The same request on the same data everywhere: settings, sizes and the first labels.
            let labels = try (0..<min(32, trainSet.count)).map { try trainSet.sample(at: $0).label }
            try group.agree(on: "\(r.describedForRanks); \(trainSet.count) training images, \(testSet?.count ?? 0) test, \(classes) classes, first labels \(labels)",
                            what: "the command or the data")
            progress.line("data-parallel over \(group.size) ranks: each takes \(r.data.batchSize / group.size)–\((r.data.batchSize + group.size - 1) / group.size) images of every global batch of \(r.data.batchSize)")
        }
        let config = ModelConfig(classes: classes, inputSize: r.inputSize, norm: r.norm)
        let triggers = try r.triggerSet.map { try TriggerFolder(root: $0) }
        try triggers?.check(classes: classes, model: "this \(r.model) run (\(r.data.dataset))")
        var extra: [String: String] = triggers == nil ? [:] : ["watermark": "trigger-set", "trigger_batch": String(r.triggerBatch)]
        let normalize = Normalize.imageNet
        let network: any Layer
        var objective: any TrainingObjective = CrossEntropyObjective()
        var passportFile: String?
        if let p = r.protection {
            let passports = try PassportConfig.load(path: p.config)
            // On resume the passports come from last.safetensors, whatever this seed builds.
            var system = SystemRandomNumberGenerator()
            let drawn = p.passportSeed ?? system.next()
            let secretSeed = group?.broadcast(drawn) ?? drawn   // one passport for all ranks
            let (built, factory) = try PassportBlockFactory.makeModel(r.model, config: config, scheme: p.scheme, passports: passports,
                                                                      signLossRatio: p.signLoss, seed: r.seed, passportSeed: secretSeed)
            network = built
            objective = p.scheme == .v1 ? PassportObjective() : PrivatePassportObjective()
            var recorded = try PassportCheckpoint.passportMetadata(scheme: p.scheme, factory: factory)
            passportFile = r.out + "/passport.safetensors"
            if r.resume {
                let last = r.out + "/last.safetensors"
                recorded.passportSha256 = try? Checkpoint.read(last).info.passportMetadata(source: last).passportSha256
            }
            if !r.resume && p.keyType != .random {
                guard let pretrained = r.pretrained else { throw WorkflowError("\(p.keyType.rawValue) keys feed images through the pretrained model: give a pretrained checkpoint") }
                try installImageKeys(p, into: network, pretrained: pretrained, request: r, seed: secretSeed, texts: try factory.signatureTexts())
            }
            if !r.resume && group?.isRoot ?? true {
                var passport = try Passport.extract(from: network)
                passport.scheme = p.scheme
                let texts = try factory.signatureTexts()
                for i in passport.layers.indices { passport.layers[i].text = texts[passport.layers[i].path] }
                passport.metadata["config"] = p.config
                passport.metadata["key_type"] = p.keyType.rawValue
                passport.metadata["passport_seed"] = String(secretSeed)
                // The model it protects, so that a suspect stripped of its metadata reads with the passport alone.
                passport.describe(CheckpointInfo(arch: r.model, config: config, dataset: r.data.dataset, mean: normalize.mean, std: normalize.std))
                try FileManager.default.createDirectory(atPath: r.out, withIntermediateDirectories: true)
                try passport.write(to: passportFile!)
                recorded.passportSha256 = try Passport.fingerprint(ofFile: passportFile!)
                progress.line("\(p.scheme.rawValue) passport layers: \(passport.layers.map(\.path).joined(separator: ", ")); passport → \(passportFile!) (keep it secret)")
            }
            recorded.write(into: &extra)
        } else {
            network = try Models.make(r.model, config: config, seed: r.seed)
        }
        if let pretrained = r.pretrained, !r.resume {
            let (info, file) = try Checkpoint.read(pretrained)
            guard info.arch == r.model, info.config.classes == config.classes else {
                throw WorkflowError("the pretrained \(pretrained) is \(info.arch) with \(info.config.classes) classes, this run is \(r.model) with \(config.classes)")
            }
            try network.load(file, strict: false, source: pretrained)
        }
        let info = CheckpointInfo(arch: r.model, config: config, dataset: r.data.dataset, mean: normalize.mean, std: normalize.std, extra: extra)
        let trainLoader = try r.data.loader(trainSet, for: info, shuffle: true, seed: r.seed)
        let trainData: any BatchSource = try triggers?.mixed(into: trainLoader, perBatch: r.triggerBatch, inputSize: r.inputSize, normalize: normalize, seed: r.seed)
            ?? trainLoader
        let testData = try testSet.map { try r.data.loader($0, for: info) }
        var monitors = triggers.map { [Monitor(name: "trigger", data: $0.batches(inputSize: r.inputSize, normalize: normalize))] } ?? []
        // V2 and V3 evaluate (and `release` ships) the public path as test_acc; the owner's passport
        // path is what verification measures, so its test accuracy is logged beside it.
        if let p = r.protection, p.scheme != .v1, let testData {
            monitors.append(Monitor(name: "passport", data: testData, context: ForwardContext(training: false, path: 1)))
        }
        var options = TrainingOptions(epochs: r.epochs, outputDirectory: r.out)
        (options.learningRate, options.momentum, options.weightDecay) = (r.learningRate, r.momentum, r.weightDecay)
        (options.resume, options.microBatches) = (r.resume, r.microBatches)
        options.schedule = r.schedule ?? LRSchedule(epochs: r.epochs, steps: [r.epochs / 2, r.epochs * 3 / 4].filter { $0 > 0 }, gamma: 0.1)
        progress.line("training \(r.model) (\(network.trainableParameters().reduce(0) { $0 + $1.count }) parameters) on \(r.data.dataset): \(trainSet.count) train / \(testSet?.count ?? 0) test images, \(classes) classes, \(r.epochs) epochs → \(r.out)")
        let trainer = Trainer(model: network, info: info, options: options, objective: objective, progress: progress, group: group)
        let outcome = try trainer.fit(train: trainData, test: testData, monitors: monitors)
        return TrainingResult(info: trainer.info, outcome: outcome, passport: passportFile)
    }

    /// Passports from real images through the pretrained model (image or shuffle keys): two
    /// independent random draws of images, one for the scale passport and one for the bias passport,
    /// drawn with the passport's seed: which images make the passport is part of the secret.
    static func installImageKeys(_ p: PassportProtection, into model: any Layer, pretrained: String, request r: TrainingRequest,
                                 seed: UInt64, texts: [String: String]) throws {
        var keys = p.keyData ?? r.data
        keys.limit = nil
        // Any images will do: the test split where there is one, else the training images.
        let source = try keys.openTest() ?? keys.open(.train)
        let per = PassportKeys.imagesPerPassport(p.keyType)
        guard source.count >= 2 * per else {
            throw WorkflowError("\(p.keyType.rawValue) keys need \(2 * per) images; \(keys.dataset) at \(keys.root ?? "its default place") has \(source.count)")
        }
        var rng = RNG(seed: seed, stream: 0xCE75)
        let order = rng.permutation(source.count)
        let transform = try Datasets.kind(keys.dataset).transforms(r.inputSize, .imageNet).test
        func batch(_ indices: ArraySlice<Int>) throws -> Tensor {
            let images = try indices.map { i -> Tensor in
                var g = RNG(seed: seed, stream: UInt64(i))
                return try transform(source.sample(at: i).image, rng: &g).reshape([1, 3, r.inputSize, r.inputSize])
            }
            return Tensor.concat(images, dim: 0)
        }
        try PassportKeys.install(p.keyType, into: model, pretrained: pretrained, scaleImages: try batch(order[0..<per]),
                                 biasImages: try batch(order[per..<(2 * per)]), seed: seed, texts: texts)
    }
}

extension TrainingRequest {
    /// What every rank of a data-parallel run must agree on.
    var describedForRanks: String {
        "\(model) \(data.dataset) \(data.root ?? "") batch \(data.batchSize) limit \(data.limit.map(String.init) ?? "-") epochs \(epochs) lr \(learningRate) "
            + "momentum \(momentum) decay \(weightDecay) schedule \(schedule.map { "\($0)" } ?? "default") norm \(norm.rawValue) size \(inputSize) seed \(seed) "
            + "\(protection.map { "\($0.scheme.rawValue) \($0.config) α \($0.signLoss) keys \($0.keyType.rawValue)" } ?? "plain") "
            + "triggers \(triggerSet ?? "-") \(triggerBatch) pretrained \(pretrained ?? "-") micro \(microBatches) resume \(resume) out \(out)"
    }
}
