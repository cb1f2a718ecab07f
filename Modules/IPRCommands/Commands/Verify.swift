import ArgumentParser
import Foundation
import IPRBackdoor
import IPRModels
import IPRPassport
import IPRServe
import IPRWorkflows

extension IPRTool {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an ownership claim: a suspect model plus a claimed passport and/or a trigger set → evidence and a verdict.",
            discussion: """
            Black-box (--trigger-set DIR, no passport needed, works on any checkpoint with matching classes, \
            released or plain): the suspect's predictions on the trigger images. Reports the trigger accuracy, \
            the chance of matching as many triggers at 1/classes each (binomial tail) and, with --null-models \
            (models trained without the trigger set), their trigger accuracies and the empirical p-value. \
            Verified when the accuracy reaches --min-trigger-accuracy, the chance is at most --max-trigger-p \
            and the accuracy is above every null model.

            White-box (--passport FILE, --data): installs the claimed passport in the suspect's passport layers \
            and reports accuracy with it (the private path for V2/V3, its batch-norm statistics re-estimated on \
            the verification images for every passport tried, so a released or fine-tuned copy verifies as \
            the training checkpoint does), the model's own accuracy (public path for V2/V3, its stored passport \
            for V1), per-layer and total signature detection, the decoded text, and detection under \
            --null-samples random passports through the same model (the honest null: trained weights push γ \
            toward the signature even for random passports; the p = ½ binomial is shown for reference only). \
            Verified when detection ≥ --min-detection, beats the random passports at p ≤ --max-null-p, and \
            accuracy is within --max-accuracy-drop of the model's own.

            A thief's copy may have its neurons permuted or rescaled, dummy neurons added, filters pruned, \
            its names prefixed (`module.`), its metadata stripped or its weights in F16: with --reference FILE \
            (the owner's own copy: the training checkpoint or the released file) the suspect is first aligned \
            to it from its convolution and linear weights alone — never from γ, β or signs — and the report \
            says how much of it is the reference (`alignment`: per layer, channels matched, missing, extra, \
            the filters' similarity). Channels the suspect lacks make their bits unreadable, for the claim and \
            the random passports alike; a suspect that is not a copy is not verified. Without metadata, the \
            model description comes from --reference or from the passport file.

            With both, the black-box stage runs first; the verdict is `verified` only if both stages are. Exit \
            status 0 when verified, 1 when not.

            A deployed suspect (--endpoint URL instead of --checkpoint, black-box only): the trigger images are \
            sent as UINT8 pixels to an Open Inference Protocol server (`iprtool serve`, KServe, Triton) that \
            normalises them as its model expects; --timeout per request, --retries on connection errors, \
            429 and 5xx, and --query-budget on the images sent. The report is the one a file gets.

            Example: iprtool verify --checkpoint suspect.safetensors --trigger-set Fixtures/trigger_set
            Example: iprtool verify --endpoint http://127.0.0.1:8080 --model model --trigger-set Fixtures/trigger_set
            Example: iprtool verify --checkpoint suspect.safetensors --passport runs/alexnet-v2/passport.safetensors \\
              --dataset cifar10 --data Fixtures/cifar10_subset --json
            Example: iprtool verify --checkpoint stolen.safetensors --reference alexnet-public.safetensors \\
              --passport runs/alexnet-v2/passport.safetensors --data Fixtures/cifar10_subset
            """)

        @Option(help: "The suspect model (any checkpoint: trained, released or converted).")
        var checkpoint: String?

        @Option(help: "Instead of a file: the suspect deployed behind an Open Inference Protocol (KServe v2) endpoint, e.g. http://host:8080; black-box only.")
        var endpoint: String?

        @Option(help: "The model's name at --endpoint.")
        var model = "model"

        @Option(help: "Seconds each request to --endpoint may take.")
        var timeout: Double = 30

        @Option(help: "Retries of a failed or refused request to --endpoint (connection error, 429, 5xx).")
        var retries = 2

        @Option(help: "Most images sent to --endpoint in all (a deployed API may charge per query).")
        var queryBudget: Int?

        @Option(help: "The claimed passport file (written by `iprtool train --scheme v1|v2|v3`): white-box verification.")
        var passport: String?

        @Option(help: "The owner's own copy of the model (training checkpoint or released file): the suspect is aligned to it first (permuted, rescaled, widened, pruned or renamed copies).")
        var reference: String?

        @Option(help: "Trigger set (pics/ + labels-cifar.txt) the model was watermarked with: black-box verification.")
        var triggerSet: String?

        @Option(parsing: .upToNextOption, help: "Checkpoints trained without the trigger set, of the suspect's architecture: their trigger accuracies are the empirical null.")
        var nullModels: [String] = []

        @OptionGroup var data: DataArguments

        @OptionGroup var rule: VerificationRule

        @Option(help: "Minimum trigger-set accuracy for a black-box verdict (0…1).")
        var minTriggerAccuracy: Double = 0.5

        @Option(help: "Largest accepted chance probability of the trigger matches (binomial tail at 1/classes).")
        var maxTriggerP: Double = 1e-6

        @Flag(help: "Print the report as one JSON object on standard output.")
        var json = false

        func validate() throws {
            guard (checkpoint == nil) != (endpoint == nil) else { throw ValidationError("give the suspect as --checkpoint FILE or --endpoint URL (one of them)") }
            if endpoint != nil {
                guard triggerSet != nil, passport == nil else {
                    throw ValidationError("--endpoint is black-box: give --trigger-set DIR (a passport needs the model's weights, --checkpoint)")
                }
                guard timeout > 0, retries >= 0, (queryBudget ?? 1) > 0 else { throw ValidationError("--timeout and --query-budget must be positive, --retries at least 0") }
            }
            guard passport != nil || triggerSet != nil else {
                throw ValidationError("give --passport FILE (white-box), --trigger-set DIR (black-box), or both")
            }
            if passport != nil { try data.validateNames() }
            if triggerSet == nil && !nullModels.isEmpty { throw ValidationError("--null-models needs --trigger-set") }
            if reference != nil && passport == nil { throw ValidationError("--reference aligns the suspect for a white-box claim: give --passport FILE too") }
            for (name, v) in [("--min-trigger-accuracy", minTriggerAccuracy), ("--max-trigger-p", maxTriggerP)] {
                guard (0...1).contains(v) else { throw ValidationError("\(name) is a fraction in 0…1, got \(v)") }
            }
        }

        func run() throws {
            var claim = OwnershipClaim(suspect: checkpoint ?? endpoint!, passport: passport, triggerSet: triggerSet,
                                       data: passport == nil ? nil : data.request)
            (claim.reference, claim.nullModels, claim.thresholds, claim.nullSeed) = (reference, nullModels, rule.thresholds, rule.seed)
            (claim.trigger.minAccuracy, claim.trigger.maxPValue) = (minTriggerAccuracy, maxTriggerP)
            let report: OwnershipReport
            if let endpoint, let triggerSet {
                let remote = try RemoteModel(endpoint: endpoint, name: model, timeout: timeout, retries: retries, budget: queryBudget)
                report = try OwnershipVerification.verify(deployed: remote, triggerSet: triggerSet, claim: claim)
            } else {
                report = try OwnershipVerification.verify(claim)
            }
            if json {
                for note in report.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
                say(try ReportJSON.encode(report))
            } else {
                for note in report.notes { say("note: " + note) }
                if let blackbox = report.blackbox { printBlackBox(blackbox, staged: report.whitebox != nil) }
                if let endpoint = report.endpoint { say("  \(report.queries ?? 0) images sent to \(endpoint) (model \(model))") }
                if let alignment = report.alignment { printAlignment(alignment) }
                if let whitebox = report.whitebox, let fingerprint = report.passportSha256 {
                    printWhiteBox(whitebox, fingerprint: fingerprint, trainedWith: report.checkpointPassportSha256, staged: report.blackbox != nil)
                }
                if report.blackbox != nil && report.whitebox != nil { say("verdict: \(report.verdict) (black-box and white-box)") }
            }
            if report.verdict != .verified { throw ExitCode(1) }
        }

        func printBlackBox(_ r: BlackBoxReport, staged: Bool) {
            let t = r.trigger
            say("\(staged ? "black-box stage" : "verdict"): \(r.verdict) (trigger set \(r.triggerSet), \(t.total) images, \(t.classes) classes)")
            say(String(format: "  trigger accuracy %.1f%% (%d/%d), chance %.1f%%: p = %.3g", 100 * t.accuracy, t.matched, t.total,
                       100 / Double(t.classes), t.pValue))
            if !t.nullAccuracies.isEmpty {
                say("  null models (\(t.nullAccuracies.count)): " + t.nullAccuracies.map { String(format: "%.1f%%", 100 * $0) }.joined(separator: ", ")
                    + String(format: " → empirical p = %.3g", t.nullPValue ?? 1))
            }
            for reason in r.reasons { say("  " + reason) }
        }

        func printAlignment(_ a: AlignmentReport) {
            say("alignment to the reference: " + a.summary)
            for l in a.layers {
                var line = String(format: "  %@: %d/%d channels, similarity mean %.3f min %.3f", l.path, l.matched, l.channels, l.meanSimilarity, l.minSimilarity)
                if l.permuted { line += ", permuted" }
                if l.rescaled { line += ", rescaled" }
                if l.missing > 0 { line += ", \(l.missing) missing" }
                if l.extra > 0 { line += ", \(l.extra) extra (\(l.inertExtra) inert)" }
                say(line)
            }
            if !a.foreignTensors.isEmpty { say("  left out (not in the reference's architecture): " + a.foreignTensors.prefix(5).joined(separator: ", ")) }
        }

        func printWhiteBox(_ report: VerificationReport, fingerprint: String, trainedWith: String?, staged: Bool) {
            say("\(staged ? "white-box stage" : "verdict"): \(report.verdict) (\(report.scheme), \(report.samples) test images)")
            say(String(format: "  accuracy with the claimed passport %.1f%%, model's own %.1f%%", 100 * report.accuracy, 100 * report.referenceAccuracy))
            if let statistics = report.passportStatistics { say("  passport-path statistics " + statistics) }
            say(String(format: "  signature: %d/%d bits (%.1f%%), text \"%@\"", report.signature.matched, report.signature.bits,
                       100 * report.signature.detection, report.signature.text))
            say(String(format: "  random passports (%d): detection mean %.3f ± %.3f, max %.3f → p = %.4g, z = %.1f (binomial p = ½ per bit, for reference: %.2g)",
                       report.signature.nullSamples, report.signature.nullMean, report.signature.nullStd, report.signature.nullMax,
                       report.signature.nullPValue, report.signature.zScore, report.signature.pValue))
            if !report.forgedAccuracies.isEmpty {
                say(String(format: "  accuracy with %d random passports: mean %.1f%%, max %.1f%%", report.forgedAccuracies.count,
                           100 * report.forgedAccuracies.reduce(0, +) / Double(report.forgedAccuracies.count),
                           100 * (report.forgedAccuracies.max() ?? 0)))
            }
            for l in report.layers {
                say(String(format: "  %@: %d/%d bits%@%@", l.path, l.matched, l.bits, l.unreadable > 0 ? " (\(l.unreadable) unreadable: channels the suspect lacks)" : "",
                           l.text.map { ", text \"\($0)\"" } ?? ""))
            }
            for r in report.reasons { say("  " + r) }
            let match = trainedWith.map { $0 == fingerprint ? "is the one this checkpoint was trained with" : "is NOT the one this checkpoint was trained with (\($0.prefix(12))…)" }
                ?? "(the checkpoint records no passport fingerprint)"
            say("  passport sha256 \(fingerprint.prefix(12))… \(match)")
        }
    }
}

/// The white-box verification rule's thresholds, shared by `verify` and `dispute` so that every
/// claim is judged by the same rule.
struct VerificationRule: ParsableArguments {
    @Option(help: "Minimum overall signature detection (0…1).")
    var minDetection: Double = 0.95

    @Option(help: "Largest accepted drop from the model's own accuracy (absolute, 0…1).")
    var maxAccuracyDrop: Double = 0.10

    @Option(help: "Random passports drawn for the null distribution of detection (no data pass each; 999 resolves p = 0.001).")
    var nullSamples = 999

    @Option(help: "Random passports whose accuracy is also measured (one or two test-set passes each): what a forger would get.")
    var forgedSamples = 5

    @Option(help: "Largest accepted p-value of detection against the random passports.")
    var maxNullP: Double = 0.05

    @Option(help: "Seed for the random passports.")
    var seed: UInt64 = 0

    func validate() throws {
        for (name, v) in [("--min-detection", minDetection), ("--max-accuracy-drop", maxAccuracyDrop), ("--max-null-p", maxNullP)] {
            guard (0...1).contains(v) else { throw ValidationError("\(name) is a fraction in 0…1, got \(v)") }
        }
        guard nullSamples >= 0, forgedSamples >= 0 else { throw ValidationError("--null-samples and --forged-samples must be ≥ 0") }
    }

    /// The rule as the verifier takes it.
    var thresholds: VerificationThresholds {
        var t = VerificationThresholds()
        (t.minDetection, t.maxAccuracyDrop, t.maxNullPValue) = (minDetection, maxAccuracyDrop, maxNullP)
        (t.nullSamples, t.forgedAccuracySamples) = (nullSamples, forgedSamples)
        return t
    }
}

