import Foundation
import Testing
import IPRModels
import IPRTensor
import IPRTestSupport
@testable import IPRPassport

/// The file a thief holds is the released one: it must verify with the owner's passport as the
/// training checkpoint does, and with no other.
@Suite(.serialized) struct ReleasedVerificationTests {
    init() { _ = TwoBlockNet.registered }

    @Test func aReleasedV2ModelVerifiesWithItsPassportAndNoOtherAlsoAfterFineTuning() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-released-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (checkpoint, passport) = try TrainedTwoBlockNet.train(.v2, seed: 1, dir: dir)
        let otherPassport = try Passport.extract(from: TrainedTwoBlockNet.model(.v2, seed: 2).model)   // another run's keys and signature
        let released = dir + "/public.safetensors"
        try PassportCheckpoint.release(checkpoint, to: released)
        let test = redSignData(count: 64, seed: 9)
        var thresholds = VerificationThresholds()
        thresholds.nullSamples = 199
        thresholds.forgedAccuracySamples = 2

        let fromCheckpoint = try Verifier.verify(model: PassportCheckpoint.load(checkpoint).model, passport: passport, data: test, thresholds: thresholds)
        let (releasedModel, _, _) = try PassportCheckpoint.load(released)
        var rng = RNG(seed: 3)
        let probe = Tensor.normal([4, 3, 8, 8], rng: &rng)
        let before = noGrad { releasedModel(probe, .eval) }.array
        let fromRelease = try Verifier.verify(model: releasedModel, passport: passport, data: test, thresholds: thresholds)
        #expect(fromCheckpoint.verdict == .verified, "\(fromCheckpoint.reasons)")
        #expect(fromRelease.verdict == .verified, "\(fromRelease.reasons)")
        #expect(fromRelease.accuracy >= 0.9 && abs(fromRelease.accuracy - fromCheckpoint.accuracy) <= 0.05)
        #expect(fromRelease.passportStatistics?.contains("re-estimated on the 64 verification images") == true)
        let s = fromRelease.signature
        #expect(s.nullPValue == 1.0 / 200 && s.nullSamples == 199 && s.zScore > 0)
        #expect(abs(s.zScore - (s.detection - s.nullMean) / s.nullStd) < 1e-9)
        // Verification leaves the suspect as it was: the public path answers the same.
        #expect(noGrad { releasedModel(probe, .eval) }.array == before)

        // A thief fine-tunes the released copy (public path, its own data): weights and statistics move.
        let sgd = SGD(parameters: releasedModel.trainableParameters(), learningRate: 0.02, momentum: 0.9)
        let thiefData = redSignData(count: 64, seed: 11)
        for epoch in 0..<3 {
            try thiefData.forEachBatch(epoch: epoch) { batch in
                let (images, labels) = (batch.images, batch.labels)
                sgd.zeroGrad()
                CrossEntropyObjective().step(model: releasedModel, images: images, labels: labels).loss.backward()
                sgd.step()
            }
        }
        #expect(noGrad { releasedModel(probe, .eval) }.array != before)
        let fromFineTuned = try Verifier.verify(model: releasedModel, passport: passport, data: test, thresholds: thresholds)
        #expect(fromFineTuned.verdict == .verified, "\(fromFineTuned.reasons)")

        let forged = try Verifier.verify(model: PassportCheckpoint.load(released).model, passport: otherPassport, data: test, thresholds: thresholds)
        #expect(forged.verdict == .notVerified)
        #expect(forged.signature.detection < 0.9)
    }

    @Test func reestimatedStatisticsAreTheDataStatistics() throws {
        var rng = RNG(seed: 4)
        let spec = ConvBlockSpec(path: "0", inChannels: 3, outChannels: 4, kernel: 3, norm: .bn, inputHeight: 6, inputWidth: 6)
        let block = PassportPrivateBlock(spec, signature: [1, -1, 1, -1], rng: &rng)
        let model = Sequential([block])
        let images = Tensor.normal([10, 3, 6, 6], rng: &rng) * 3 + 5
        let data = InMemoryBatches(images: images, labels: [Int](repeating: 0, count: 10), batchSize: 3)   // 3 + 3 + 3 + 1
        let snapshot = PassportStatistics.snapshot(of: model)
        #expect(try PassportStatistics.reestimate(in: model, on: data) == 1)
        // What one pass over all ten images gives: mean and unbiased variance of the conv output.
        let y = noGrad { block.conv(images, .eval) }
        let n = Double(y.count / 4)
        let mean = noGrad { y.mean(axes: [0, 2, 3]) }.array
        let variance = noGrad { (y - y.mean(axes: [0, 2, 3], keepDims: true)).pow(2).sum(axes: [0, 2, 3]) }.array.map { Double($0) / (n - 1) }
        let norm = try #require(block.privateNorm as? BatchNorm2d)
        for k in 0..<4 {
            #expect(abs(Double(norm.runningMean.array[k] - mean[k])) < 1e-3 * max(1, abs(Double(mean[k]))))
            #expect(abs(Double(norm.runningVar.array[k]) - variance[k]) < 1e-3 * variance[k])
        }
        PassportStatistics.restore(snapshot)
        #expect(norm.runningMean.array == [0, 0, 0, 0] && norm.runningVar.array == [1, 1, 1, 1])
    }
}
