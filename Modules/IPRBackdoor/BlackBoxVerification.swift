import Foundation
import IPRModels
import IPRTensor

/// What black-box verification may ask of a suspect: the class it predicts for each image. A model
/// in this process is one (`ModelOracle`); a model behind an API can be another.
public protocol LabelOracle {
    /// Predicted classes of `[N, C, H, W]` images, one per image.
    func predict(_ images: Tensor) throws -> [Int]
}

/// A loaded model as an oracle: evaluation mode on its default (public) path — what a deployed
/// copy answers, so released V2/V3 models and plain models are checked alike.
public struct ModelOracle: LabelOracle {
    public let model: any Layer
    public init(_ model: any Layer) { self.model = model }
    public func predict(_ images: Tensor) throws -> [Int] { noGrad { model(images, .eval).argmax(axis: 1) } }
}

/// The thresholds of a black-box verdict (all shown in the report).
public struct TriggerThresholds: Sendable, Codable, Equatable {
    /// Minimum fraction of trigger images given their watermark label. Unwatermarked models score
    /// about 1/classes; 0.5 leaves room for a fine-tuned copy that lost part of the watermark.
    public var minAccuracy: Double = 0.5
    /// Maximum probability of matching at least as many triggers by chance, P(X ≥ matched) with
    /// X ~ Binomial(total, 1/classes).
    public var maxPValue: Double = 1e-6
    public init() {}
}

/// Trigger-set evidence (JSON `trigger.*`).
public struct TriggerEvidence: Sendable, Codable, Equatable {
    /// Fraction of triggers given their watermark label (0…1), `matched` of `total`.
    public var accuracy: Double
    public var matched: Int, total: Int
    /// Classes the labels are drawn from: chance is 1/classes.
    public var classes: Int
    /// P(X ≥ matched), X ~ Binomial(total, 1/classes).
    public var pValue: Double
    /// Trigger accuracies of the null models (trained without the trigger set), when given.
    public var nullAccuracies: [Double]
    /// (1 + #null ≥ accuracy) / (1 + null models); nil without null models.
    public var nullPValue: Double?
}

/// A black-box verdict: evidence, thresholds and one line per check.
public struct BlackBoxReport: Sendable, Codable, Equatable {
    public var verdict: Verdict
    /// The trigger set's name (its folder).
    public var triggerSet: String
    public var trigger: TriggerEvidence
    public var thresholds: TriggerThresholds
    public var reasons: [String]
}

/// Ownership from predictions alone: does the suspect give the trigger images their watermark labels
/// far more often than chance — and than models trained without the watermark?
public enum BlackBoxVerifier {
    /// How many triggers `oracle` labels as the watermark says.
    public static func matches(_ oracle: any LabelOracle, triggers: any BatchSource) throws -> (matched: Int, total: Int) {
        var matched = 0, total = 0
        try triggers.forEachBatch(epoch: 0) { batch in
            let (images, labels) = (batch.images, batch.labels)
            let predicted = try oracle.predict(images)
            matched += zip(predicted, labels).filter { $0 == $1 }.count
            total += labels.count
        }
        return (matched, total)
    }

    /// Verdict `verified` when the trigger accuracy reaches `thresholds.minAccuracy`, its chance
    /// probability is at most `thresholds.maxPValue` and, when null models are given, it is above
    /// every null model's trigger accuracy.
    public static func verify(_ suspect: any LabelOracle, triggers: any BatchSource, classes: Int, triggerSet: String,
                              nullModels: [any LabelOracle] = [], thresholds: TriggerThresholds = TriggerThresholds()) throws -> BlackBoxReport {
        guard (0...1).contains(thresholds.minAccuracy), (0...1).contains(thresholds.maxPValue) else {
            throw IPRBackdoorError(.invalidOption, "trigger thresholds are fractions in 0…1: minimum accuracy \(thresholds.minAccuracy), maximum p-value \(thresholds.maxPValue)")
        }
        guard classes > 1 else { throw IPRBackdoorError(.invalidOption, "black-box verification needs at least 2 classes, got \(classes)") }
        let (matched, total) = try matches(suspect, triggers: triggers)
        guard total > 0 else { throw IPRBackdoorError(.emptyTriggerSet, "trigger set \(triggerSet) has no images") }
        let accuracy = Double(matched) / Double(total)
        let nullAccuracies = try nullModels.map { oracle -> Double in
            let (m, n) = try matches(oracle, triggers: triggers)
            return Double(m) / Double(max(n, 1))
        }
        let evidence = TriggerEvidence(accuracy: accuracy, matched: matched, total: total, classes: classes,
                                       pValue: binomialTail(successes: matched, trials: total, p: 1 / Double(classes)),
                                       nullAccuracies: nullAccuracies,
                                       nullPValue: nullAccuracies.isEmpty ? nil : empiricalPValue(accuracy, null: nullAccuracies))
        var reasons: [String] = []
        var ok = true
        func check(_ pass: Bool, _ line: String) { ok = ok && pass; reasons.append((pass ? "pass: " : "FAIL: ") + line) }
        check(accuracy >= thresholds.minAccuracy,
              String(format: "trigger accuracy %.3f (%d/%d) ≥ %.3f", accuracy, matched, total, thresholds.minAccuracy))
        check(evidence.pValue <= thresholds.maxPValue,
              String(format: "chance of ≥ %d/%d at 1/%d per trigger: p = %.3g ≤ %.3g", matched, total, classes,
                     evidence.pValue, thresholds.maxPValue))
        if let top = nullAccuracies.max() {
            check(accuracy > top, String(format: "above all %d null models (max %.3f, empirical p = %.3g)",
                                         nullAccuracies.count, top, evidence.nullPValue ?? 1))
        }
        return BlackBoxReport(verdict: Verdict(passed: ok), triggerSet: triggerSet, trigger: evidence,
                              thresholds: thresholds, reasons: reasons)
    }
}
