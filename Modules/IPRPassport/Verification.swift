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
    /// Random passports drawn for the empirical null.
    public var nullSamples: Int = 19
    /// Random passports whose accuracy is measured too (a test-set pass each): what a forger gets.
    public var forgedAccuracySamples: Int = 5
    public init() {}
}

/// Evidence for or against an ownership claim (SPEC.md §7), written as JSON by `iprtool verify`.
public struct VerificationReport: Sendable, Codable, Equatable {
    public struct LayerEvidence: Sendable, Codable, Equatable {
        public var path: String
        public var bits: Int
        public var matched: Int
        public var detection: Double
        public var text: String?
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
        /// Detection under random passports through the same model: mean, max, and the empirical
        /// p-value (1 + #null ≥ observed) / (1 + samples).
        public var nullMean: Double, nullMax: Double, nullPValue: Double
        public var nullSamples: Int
    }

    public var verdict: String
    public var scheme: String
    /// Accuracy with the claimed passport (the private path for V2).
    public var accuracy: Double
    /// The model's own accuracy: its public path (V2) or the passport stored in the model (V1).
    public var referenceAccuracy: Double
    /// Public-path accuracy (V2).
    public var publicAccuracy: Double?
    /// Accuracy with random passports instead of the claimed one (one value per draw).
    public var forgedAccuracies: [Double]
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
    public static func verify(model: any Layer, passport: Passport, data: any TrainingData,
                              thresholds: VerificationThresholds = VerificationThresholds(), seed: UInt64 = 0) throws -> VerificationReport {
        // The model's own accuracy before the claim replaces anything.
        let publicContext = ForwardContext(training: false, path: 0)
        let reference = try Evaluation.run(model, on: data, context: publicContext)
        let original = try Passport.extract(from: model)
        defer { try? original.install(into: model) }   // leave the suspect model as it was

        try passport.install(into: model)
        let claimedContext = ForwardContext(training: false, path: passport.scheme == .v2 ? 1 : 0)
        let claimed = try Evaluation.run(model, on: data, context: claimedContext)
        let (layers, matched, bits) = signatureEvidence(model, passport)
        let detection = Double(matched) / Double(max(bits, 1))

        var nullRates: [Double] = []
        for k in 0..<max(thresholds.nullSamples, 0) {
            try passport.randomized(seed: seed &+ UInt64(k) &+ 1).install(into: model)
            let (_, m, n) = signatureEvidence(model, passport)
            nullRates.append(Double(m) / Double(max(n, 1)))
        }
        let nullP = Double(1 + nullRates.filter { $0 >= detection }.count) / Double(1 + nullRates.count)
        var forged: [Double] = []
        for k in 0..<max(thresholds.forgedAccuracySamples, 0) {
            try passport.randomized(seed: seed &+ 1_000 &+ UInt64(k)).install(into: model)
            forged.append(try Evaluation.run(model, on: data, context: claimedContext).accuracy)
        }
        let text = layers.compactMap(\.text).joined()
        let signature = VerificationReport.SignatureEvidence(
            detection: detection, bits: bits, matched: matched, text: text,
            pValue: binomialTail(successes: matched, trials: bits),
            nullMean: nullRates.isEmpty ? .nan : nullRates.reduce(0, +) / Double(nullRates.count),
            nullMax: nullRates.max() ?? .nan, nullPValue: nullP, nullSamples: nullRates.count)

        var reasons: [String] = []
        var ok = true
        func check(_ pass: Bool, _ line: String) { ok = ok && pass; reasons.append((pass ? "pass: " : "FAIL: ") + line) }
        check(detection >= thresholds.minDetection,
              String(format: "signature detection %.3f ≥ %.3f", detection, thresholds.minDetection))
        check(nullP <= thresholds.maxNullPValue,
              String(format: "detection beats %d random passports (max %.3f): p = %.3f ≤ %.3f", nullRates.count,
                     signature.nullMax, nullP, thresholds.maxNullPValue))
        check(claimed.accuracy >= reference.accuracy - thresholds.maxAccuracyDrop,
              String(format: "accuracy with the passport %.3f ≥ model's own %.3f − %.3f", claimed.accuracy,
                     reference.accuracy, thresholds.maxAccuracyDrop))
        return VerificationReport(verdict: ok ? "verified" : "not-verified", scheme: passport.scheme.rawValue,
                                  accuracy: claimed.accuracy, referenceAccuracy: reference.accuracy,
                                  publicAccuracy: passport.scheme == .v2 ? reference.accuracy : nil, forgedAccuracies: forged,
                                  samples: claimed.samples, signature: signature, layers: layers,
                                  thresholds: thresholds, reasons: reasons)
    }

    /// Per-layer sign agreement between γ (from the installed passport) and the passport's bits.
    static func signatureEvidence(_ model: any Module, _ passport: Passport) -> ([VerificationReport.LayerEvidence], Int, Int) {
        let modules = Dictionary(model.namedModules().map { ($0.path, $0.module) }, uniquingKeysWith: { a, _ in a })
        var out: [VerificationReport.LayerEvidence] = []
        var matched = 0, total = 0
        for layer in passport.layers {
            guard let block = modules[layer.path] as? any PassportLayer else { continue }
            let gamma = noGrad { block.scale() }.array
            let m = zip(gamma, layer.bits).filter { $0 * $1 > 0 }.count
            let decoded = layer.text.map { Signature.decodeText(from: gamma, byteCount: $0.utf8.count) }
            out.append(.init(path: layer.path, bits: layer.bits.count, matched: m,
                             detection: Double(m) / Double(max(layer.bits.count, 1)), text: decoded))
            matched += m
            total += layer.bits.count
        }
        return (out, matched, total)
    }
}

/// P(X ≥ successes) for X ~ Binomial(trials, p), summed in log space (stable for thousands of bits).
public func binomialTail(successes k: Int, trials n: Int, p: Double = 0.5) -> Double {
    guard k > 0 else { return 1 }
    guard k <= n else { return 0 }
    let logP = log(p), logQ = log1p(-p), logNFactorial = logGamma(Double(n + 1))
    let logs: [Double] = (k...n).map { i in
        let choose = logNFactorial - logGamma(Double(i + 1)) - logGamma(Double(n - i + 1))
        return choose + Double(i) * logP + Double(n - i) * logQ
    }
    let m = logs.max()!
    return min(1, exp(m) * logs.reduce(0) { $0 + exp($1 - m) })
}

/// log Γ(x) (Glibc's reentrant `lgamma_r`; plain `lgamma` is ambiguous between overlays).
private func logGamma(_ x: Double) -> Double {
    var sign: Int32 = 0
    return lgamma_r(x, &sign)
}
