import Foundation
import IPRModels
import IPRTensor

/// The thresholds a verdict uses (all shown in the report).
public struct VerificationThresholds: Sendable, Codable, Equatable {
    /// Minimum overall signature detection (fraction of bits whose γ sign matches).
    public var minDetection: Double = 0.95
    /// Maximum p-value of the detection against random passports through the same model.
    public var maxNullPValue: Double = 0.05
    /// Largest accepted drop from the model's own accuracy (absolute, 0…1).
    public var maxAccuracyDrop: Double = 0.10
    /// Random passports drawn for the empirical null. Each costs no pass over data (γ is the passport
    /// through the conv weights), so there are enough for a p-value of 0.001 (with 19 it could never
    /// go below 0.05).
    public var nullSamples: Int = 999
    /// Random passports whose accuracy is measured too (a test-set pass each): what a forger gets.
    public var forgedAccuracySamples: Int = 5
    public init() {}
}

/// Evidence for or against an ownership claim, written as JSON by `iprtool verify`.
public struct VerificationReport: Sendable, Codable, Equatable {
    public struct LayerEvidence: Sendable, Codable, Equatable {
        public var path: String
        /// Readable signature bits (the layer's channels the suspect has), those whose γ sign
        /// matches, and the bits of channels the suspect lacks (structurally pruned), never counted.
        public var bits: Int
        public var matched: Int
        public var detection: Double
        public var text: String?
        public var unreadable: Int
    }
    public struct SignatureEvidence: Sendable, Codable, Equatable {
        /// Fraction of all signature bits whose γ sign matches (0…1).
        public var detection: Double
        public var bits: Int, matched: Int
        /// The text read back from the signs of γ (layers that carry text).
        public var text: String
        /// P(≥ matched of bits by chance) if each bit matched with p = ½ — shown for reference only:
        /// trained weights push γ toward the signature even under random passports.
        public var pValue: Double
        /// Detection under random passports through the same model: mean, standard deviation, max,
        /// and the empirical p-value (1 + #null ≥ observed) / (1 + samples).
        public var nullMean: Double, nullStd: Double, nullMax: Double, nullPValue: Double
        public var nullSamples: Int
        /// How many null standard deviations the observed detection lies above the null mean
        /// (+inf when every random passport gave the same detection below it).
        public var zScore: Double
    }

    public var verdict: Verdict
    public var scheme: String
    /// Accuracy with the claimed passport (the private path for V2).
    public var accuracy: Double
    /// The model's own accuracy: its public path (V2), or the passport stored in the model (V1) — or
    /// the γ, β a V1 network run without its passport carries (a plain copy).
    public var referenceAccuracy: Double
    /// Public-path accuracy (V2).
    public var publicAccuracy: Double?
    /// Accuracy with random passports instead of the claimed one (one value per draw).
    public var forgedAccuracies: [Double]
    /// How the passport path was normalised (batch norm: V2/V3's private path, V1's layers): its
    /// statistics re-estimated on the verification images for each passport tried
    /// (`PassportStatistics`); nil otherwise.
    public var passportStatistics: String?
    public var samples: Int
    public var signature: SignatureEvidence
    public var layers: [LayerEvidence]
    public var thresholds: VerificationThresholds
    /// Why the verdict is what it is, one line per check.
    public var reasons: [String]
}

/// Checks an ownership claim: installs the claimed passport into the suspect model's passport layers,
/// measures accuracy and signature detection, compares with random passports, and decides.
public enum Verifier {
    /// - Parameters:
    ///   - unreadable: per passport layer, channels the suspect lacks (aligned to a reference, pruned):
    ///     their bits count neither as matches nor as misses, for the claim and the null alike.
    ///   - checks: further checks the verdict needs (the alignment's: the suspect is a copy).
    public static func verify(model: any Layer, passport: Passport, data: any BatchSource,
                              thresholds: VerificationThresholds = VerificationThresholds(), seed: UInt64 = 0,
                              unreadable: [String: Set<Int>] = [:], checks: [(passed: Bool, line: String)] = []) throws -> VerificationReport {
        // The model's own accuracy before the claim replaces anything.
        let publicContext = ForwardContext(training: false, path: 0)
        let reference = try Evaluation.run(model, on: data, context: publicContext)
        let original = try Passport.extract(from: model)
        let statistics = PassportStatistics.snapshot(of: model)
        // A V1 network run without its passport carries γ, β of its own (`freeAffine`): that is the
        // model's accuracy above; every passport tried below gives γ, β through the conv weights.
        let carried = passportLayers(in: model).map { ($0, $0.freeAffine) }
        for (block, _) in carried { block.freeAffine = nil }
        defer {   // leave the suspect model as it was
            try? original.install(into: model)
            PassportStatistics.restore(statistics)
            for (block, affine) in carried { block.freeAffine = affine }
        }

        let claimedContext = ForwardContext(training: false, path: passport.scheme.hasPrivatePath ? 1 : 0)
        /// Accuracy with a passport installed: for a private path, normalised by statistics of its own.
        var reestimated = 0
        func accuracy(with candidate: Passport) throws -> Evaluation {
            try candidate.install(into: model)
            reestimated = try PassportStatistics.reestimate(in: model, on: data)
            return try Evaluation.run(model, on: data, context: claimedContext)
        }
        let claimed = try accuracy(with: passport)
        let (layers, matched, bits) = signatureEvidence(model, passport, unreadable: unreadable)
        let detection = Double(matched) / Double(max(bits, 1))

        let nullRates = nullDetections(model, passport, count: max(thresholds.nullSamples, 0), seed: seed, unreadable: unreadable)
        let nullP = empiricalPValue(detection, null: nullRates)
        var forged: [Double] = []
        for k in 0..<max(thresholds.forgedAccuracySamples, 0) {
            forged.append(try accuracy(with: passport.randomized(seed: seed &+ 1 &+ UInt64(k))).accuracy)
        }
        let text = layers.compactMap(\.text).joined()
        let nullMean = nullRates.isEmpty ? Double.nan : nullRates.reduce(0, +) / Double(nullRates.count)
        let nullStd = nullRates.count < 2 ? Double.nan
            : (nullRates.map { ($0 - nullMean) * ($0 - nullMean) }.reduce(0, +) / Double(nullRates.count - 1)).squareRoot()
        let signature = VerificationReport.SignatureEvidence(
            detection: detection, bits: bits, matched: matched, text: text,
            pValue: binomialTail(successes: matched, trials: bits),
            nullMean: nullMean, nullStd: nullStd, nullMax: nullRates.max() ?? .nan, nullPValue: nullP,
            nullSamples: nullRates.count,
            zScore: nullStd > 0 ? (detection - nullMean) / nullStd : detection > nullMean ? .infinity : .nan)

        var reasons: [String] = []
        var ok = true
        func check(_ pass: Bool, _ line: String) { ok = ok && pass; reasons.append((pass ? "pass: " : "FAIL: ") + line) }
        check(detection >= thresholds.minDetection,
              String(format: "signature detection %.3f ≥ %.3f", detection, thresholds.minDetection))
        check(nullP <= thresholds.maxNullPValue,
              String(format: "detection beats %d random passports (max %.3f, z = %.1f): p = %.4g ≤ %.4g", nullRates.count,
                     signature.nullMax, signature.zScore, nullP, thresholds.maxNullPValue))
        check(claimed.accuracy >= reference.accuracy - thresholds.maxAccuracyDrop,
              String(format: "accuracy with the passport %.3f ≥ model's own %.3f − %.3f", claimed.accuracy,
                     reference.accuracy, thresholds.maxAccuracyDrop))
        let commitment = SignatureCommitment.check(passport)
        check(commitment.passed, commitment.line)
        for c in checks { check(c.passed, c.line) }
        return VerificationReport(verdict: Verdict(passed: ok), scheme: passport.scheme.rawValue,
                                  accuracy: claimed.accuracy, referenceAccuracy: reference.accuracy,
                                  publicAccuracy: passport.scheme.hasPrivatePath ? reference.accuracy : nil, forgedAccuracies: forged,
                                  passportStatistics: reestimated > 0 ? "re-estimated on the \(claimed.samples) verification images for each passport (\(reestimated) layers)" : nil,
                                  samples: claimed.samples, signature: signature, layers: layers,
                                  thresholds: thresholds, reasons: reasons)
    }

    /// Signature detection under `count` random passports through the model's weights: the empirical
    /// null. Only the scale passport decides the signs of γ, so only it is drawn (uniform in [−1, 1],
    /// as random keys are), in batches: one im2col mean and one matrix product per layer and batch.
    static func nullDetections(_ model: any Module, _ passport: Passport, count: Int, seed: UInt64, unreadable: [String: Set<Int>] = [:]) -> [Double] {
        let modules = Dictionary(model.namedModules().map { ($0.path, $0.module) }, uniquingKeysWith: { a, _ in a })
        var matched = [Int](repeating: 0, count: count), bits = 0
        for (l, layer) in passport.layers.enumerated() {
            guard let block = modules[layer.path] as? any PassportLayer else { continue }
            var rng = RNG(seed: seed, stream: 0x4E55_4C4C_0000 | UInt64(l))
            let shape = Array(layer.skey.shape.dropFirst())
            for start in stride(from: 0, to: count, by: 128) {
                let n = min(128, count - start)
                let gammas = noGrad { block.scales(of: Tensor.uniform([n] + shape, low: -1, high: 1, rng: &rng)) }
                let c = layer.bits.count, skipped = unreadable[layer.path] ?? []
                gammas.array.withUnsafeBufferPointer { g in
                    for i in 0..<n { for j in 0..<c where !skipped.contains(j) && g[i * c + j] * layer.bits[j] > 0 { matched[start + i] += 1 } }
                }
            }
            bits += layer.bits.count - (unreadable[layer.path]?.count ?? 0)
        }
        return matched.map { Double($0) / Double(max(bits, 1)) }
    }

    /// Per-layer sign agreement between γ (from the installed passport) and the passport's bits.
    static func signatureEvidence(_ model: any Module, _ passport: Passport, unreadable: [String: Set<Int>] = [:]) -> ([VerificationReport.LayerEvidence], Int, Int) {
        let modules = Dictionary(model.namedModules().map { ($0.path, $0.module) }, uniquingKeysWith: { a, _ in a })
        var out: [VerificationReport.LayerEvidence] = []
        var matched = 0, total = 0
        for layer in passport.layers {
            guard let block = modules[layer.path] as? any PassportLayer else { continue }
            let gamma = noGrad { block.scale() }.array
            let skipped = unreadable[layer.path] ?? []
            let m = zip(gamma, layer.bits).enumerated().filter { !skipped.contains($0.offset) && $0.element.0 * $0.element.1 > 0 }.count
            let readable = layer.bits.count - skipped.count
            let decoded = layer.text.map { Signature.decodeText(from: gamma, byteCount: $0.utf8.count) }
            out.append(.init(path: layer.path, bits: readable, matched: m,
                             detection: Double(m) / Double(max(readable, 1)), text: decoded, unreadable: skipped.count))
            matched += m
            total += readable
        }
        return (out, matched, total)
    }
}
