import Foundation
import Testing
import IPRBackdoor
import IPRData
import IPRModels
import IPRTensor

/// An oracle that answers the watermark label for the first `correct` triggers (found by the index
/// written into each image's first pixel) and a wrong label for the rest.
struct ScriptedOracle: LabelOracle {
    let labels: [Int], correct: Int, classes: Int
    func predict(_ images: Tensor) throws -> [Int] {
        (0..<images.shape[0]).map { i in
            let index = Int(images[i, 0, 0, 0])
            return index < correct ? labels[index] : (labels[index] + 1) % classes
        }
    }
}

@Suite struct BlackBoxTests {
    let labels = (0..<100).map { ($0 * 7) % 10 }

    /// 100 triggers whose first pixel is their index.
    var triggers: InMemoryBatches {
        let images = Tensor.zeros([100, 3, 2, 2])
        for i in 0..<100 { images.pointer[i * 12] = Float(i) }
        return InMemoryBatches(images: images, labels: labels, batchSize: 32)
    }

    func report(correct: Int, nulls: [Int] = []) throws -> BlackBoxReport {
        try BlackBoxVerifier.verify(ScriptedOracle(labels: labels, correct: correct, classes: 10), triggers: triggers, classes: 10,
                                    triggerSet: "scripted", nullModels: nulls.map { ScriptedOracle(labels: labels, correct: $0, classes: 10) })
    }

    @Test func aWatermarkedModelIsVerifiedAndAnUnrelatedOneIsNot() throws {
        let owner = try report(correct: 95)
        #expect(owner.verdict == .verified)
        #expect(owner.trigger.matched == 95 && owner.trigger.total == 100 && owner.trigger.accuracy == 0.95)
        #expect(owner.trigger.pValue == binomialTail(successes: 95, trials: 100, p: 0.1) && owner.trigger.pValue < 1e-80)
        #expect(owner.trigger.nullPValue == nil && owner.reasons.allSatisfy { $0.hasPrefix("pass: ") })
        let chance = try report(correct: 10)
        #expect(chance.verdict == .notVerified && chance.trigger.pValue > 0.4)
        #expect(chance.reasons.filter { $0.hasPrefix("FAIL: ") }.count == 2)
        // 40 of 100 is far beyond chance (p ≈ 1e-14) but below the accuracy a watermark must keep.
        let weak = try report(correct: 40)
        #expect(weak.trigger.pValue < 1e-6 && weak.verdict == .notVerified)
        #expect(weak.reasons == [weak.reasons[0], weak.reasons[1]] && weak.reasons[0].hasPrefix("FAIL: trigger accuracy"))
    }

    @Test func nullModelsMustAllScoreBelowTheSuspect() throws {
        let clear = try report(correct: 95, nulls: [9, 14])
        #expect(clear.verdict == .verified && clear.trigger.nullAccuracies == [0.09, 0.14])
        #expect(clear.trigger.nullPValue == 1.0 / 3)
        let beaten = try report(correct: 95, nulls: [9, 97])
        #expect(beaten.verdict == .notVerified && beaten.trigger.nullPValue == 2.0 / 3)
        #expect(beaten.reasons.last!.hasPrefix("FAIL: above all 2 null models"))
    }

    @Test func thresholdsAreChecked() throws {
        var bad = TriggerThresholds()
        bad.minAccuracy = 1.5
        let e = try #require(throws: IPRBackdoorError.self) {
            try BlackBoxVerifier.verify(ScriptedOracle(labels: labels, correct: 1, classes: 10), triggers: triggers, classes: 10,
                                        triggerSet: "scripted", thresholds: bad)
        }
        #expect(e.code == .invalidOption && e.message.contains("1.5"))
        #expect(throws: IPRBackdoorError.self) {
            try BlackBoxVerifier.verify(ScriptedOracle(labels: labels, correct: 1, classes: 10), triggers: triggers, classes: 1, triggerSet: "scripted")
        }
    }
}
