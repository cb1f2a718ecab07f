import ArgumentParser
import Foundation
import IPRData
import IPRModels
import IPRPassport
import IPRTensor

extension IPRTool {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an ownership claim: a suspect model plus a claimed passport → evidence and a verdict.",
            discussion: """
            Installs the claimed passport in the suspect model's passport layers and reports: accuracy with \
            the passport (the private path for V2), the model's own accuracy (public path for V2, its stored \
            passport for V1), per-layer and total signature detection, the decoded signature text, and how the \
            detection compares with random passports through the same model (the honest null: trained weights \
            push γ toward the signature even for random passports, so p = ½ per bit overstates the evidence; \
            that binomial p-value is shown only for reference). Verdict `verified` needs all three checks.

            Example: iprtool verify --checkpoint suspect.safetensors --passport runs/alexnet-v2/passport.safetensors \\
              --dataset cifar10 --data Fixtures/cifar10_subset --json
            """)

        @Option(help: "The suspect model (a checkpoint with passport layers).")
        var checkpoint: String

        @Option(help: "The claimed passport file (written by `iprtool train --scheme …`).")
        var passport: String

        @OptionGroup var data: DataArguments

        @Option(help: "Minimum overall signature detection (0…1).")
        var minDetection: Double = 0.95

        @Option(help: "Largest accepted drop from the model's own accuracy (absolute, 0…1).")
        var maxAccuracyDrop: Double = 0.10

        @Option(help: "Random passports drawn for the null distribution of detection.")
        var nullSamples = 19

        @Option(help: "Random passports whose accuracy is also measured (one test-set pass each): what a forger would get.")
        var forgedSamples = 5

        @Option(help: "Largest accepted p-value of detection against the random passports.")
        var maxNullP: Double = 0.05

        @Option(help: "Seed for the random passports.")
        var seed: UInt64 = 0

        @Flag(help: "Print the report as one JSON object on standard output.")
        var json = false

        func validate() throws {
            try data.validateNames()
            guard (0...1).contains(minDetection), (0...1).contains(maxAccuracyDrop), (0...1).contains(maxNullP) else {
                throw ValidationError("--min-detection, --max-accuracy-drop and --max-null-p are fractions in 0…1")
            }
            guard nullSamples >= 0, forgedSamples >= 0 else { throw ValidationError("--null-samples and --forged-samples must be ≥ 0") }
        }

        func run() throws {
            let (model, info, scheme) = try PassportCheckpoint.load(checkpoint)
            guard scheme != nil else { throw ValidationError("\(checkpoint) has no passport layers: nothing to verify") }
            let claimed = try Passport.read(passport)
            let testSet = try data.open(.test)
            let normalize = info.mean.count == 3 && info.std.count == 3 ? Normalize(mean: info.mean, std: info.std) : .imageNet
            let transform = transforms(dataset: data.dataset, inputSize: info.config.inputSize, normalize: normalize).test
            let loader = DataLoader(dataset: testSet, batchSize: data.batchSize, transform: transform, workers: data.workers)
            var thresholds = VerificationThresholds()
            thresholds.minDetection = minDetection
            thresholds.maxAccuracyDrop = maxAccuracyDrop
            thresholds.maxNullPValue = maxNullP
            thresholds.nullSamples = nullSamples
            thresholds.forgedAccuracySamples = forgedSamples
            let report = try Verifier.verify(model: model, passport: claimed,
                                             data: LoaderTrainingData(loader: loader, samples: testSet.count),
                                             thresholds: thresholds, seed: seed)
            let fingerprint = try Passport.fingerprint(ofFile: passport)
            let trainedWith = info.extra["passport_sha256"]
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                var object = try JSONSerialization.jsonObject(with: encoder.encode(report)) as? [String: Any] ?? [:]
                object["passportSha256"] = fingerprint
                object["checkpointPassportSha256"] = trainedWith ?? NSNull()
                say(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                say("verdict: \(report.verdict) (\(report.scheme), \(report.samples) test images)")
                say(String(format: "  accuracy with the claimed passport %.1f%%, model's own %.1f%%", 100 * report.accuracy, 100 * report.referenceAccuracy))
                say(String(format: "  signature: %d/%d bits (%.1f%%), text \"%@\"", report.signature.matched, report.signature.bits,
                           100 * report.signature.detection, report.signature.text))
                say(String(format: "  random passports (%d): detection mean %.3f, max %.3f → p = %.3f (binomial p = ½ per bit, for reference: %.2g)",
                           report.signature.nullSamples, report.signature.nullMean, report.signature.nullMax,
                           report.signature.nullPValue, report.signature.pValue))
                if !report.forgedAccuracies.isEmpty {
                    say(String(format: "  accuracy with %d random passports: mean %.1f%%, max %.1f%%", report.forgedAccuracies.count,
                               100 * report.forgedAccuracies.reduce(0, +) / Double(report.forgedAccuracies.count),
                               100 * (report.forgedAccuracies.max() ?? 0)))
                }
                for l in report.layers {
                    say(String(format: "  %@: %d/%d bits%@", l.path, l.matched, l.bits, l.text.map { ", text \"\($0)\"" } ?? ""))
                }
                for r in report.reasons { say("  " + r) }
                let match = trainedWith.map { $0 == fingerprint ? "is the one this checkpoint was trained with" : "is NOT the one this checkpoint was trained with (\($0.prefix(12))…)" }
                    ?? "(the checkpoint records no passport fingerprint)"
                say("  passport sha256 \(fingerprint.prefix(12))… \(match)")
            }
            if report.verdict != "verified" { throw ExitCode(1) }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the deployable V2 model: public path only, no private passport or signature.",
            discussion: """
            The released file has every weight and the learned public scale/bias, and none of key_private, \
            skey_private, the signature bits or the private-path statistics; `iprtool evaluate` runs it as is.
            Example: iprtool release --checkpoint runs/alexnet-v2/best.safetensors --out alexnet-public.safetensors
            """)

        @Option(help: "A V2 checkpoint.")
        var checkpoint: String

        @Option(help: "Where to write the released model.")
        var out: String

        func run() throws {
            try PassportCheckpoint.release(checkpoint, to: out)
            say("released \(checkpoint) → \(out) (no private passport, no signature)")
        }
    }
}
