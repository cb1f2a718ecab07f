import ArgumentParser
import Foundation
import IPRAttacks
import IPRWorkflows

extension IPRTool {
    struct AttacksCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "attacks", abstract: "List the attacks `iprtool attack` runs, with their options.")
        func run() {
            let items = Attacks.registry.all
            for (item, line) in zip(items, listing(items.map { ($0.name, $0.description) })) {
                say(line)
                for o in item.entry.options { say("      --option \(o.name)=… (default \(o.defaultValue)): \(o.help)") }
            }
        }
    }

    struct AttackCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attack",
            abstract: "Attack a protected model as a thief or forger would, and measure what the owner's passport still proves.",
            discussion: """
            Runs one attack (`iprtool attacks` lists them) on the suspect checkpoint and writes OUT/report.json \
            (options, the owner's accuracy, detection and verdict before and after, the sweep's steps, a forger's \
            result), and for sweeps OUT/steps.csv and OUT/plot.png / plot.svg (accuracy and the owner's detection \
            against the level); an attack that changes the model writes OUT/model.safetensors, one that forges a \
            passport OUT/forged-passport.safetensors (both load in `evaluate` and `verify`). The owner's passport \
            is only used to measure. Each measurement is a verification (`verify`'s thresholds, no forged-accuracy \
            passes).

            Example: iprtool attack prune --checkpoint runs/v2/best.safetensors --passport runs/v2/passport.safetensors \\
              --data Fixtures/cifar10_subset --out runs/attacks/prune
            Example: iprtool attack fake1 --checkpoint alexnet-public.safetensors --passport runs/v2/passport.safetensors \\
              --data Fixtures/cifar10_subset --option samples=10 --out runs/attacks/fake1
            Example: iprtool attack rtal --checkpoint alexnet-public.safetensors --passport runs/v2/passport.safetensors \\
              --data Fixtures/cifar10_subset --attacker-data Fixtures/cifar10_subset --option epochs=10 --out runs/attacks/rtal
            Example: iprtool attack distill --checkpoint v3-public.safetensors --passport runs/v3/passport.safetensors \\
              --data Fixtures/cifar10_subset --trigger-set Fixtures/trigger_set --option epochs=10 --out runs/attacks/distill
            """)

        @Argument(help: "The attack (see `iprtool attacks`).")
        var name: String

        @OptionGroup var target: AttackTarget

        @Option(help: "Where report.json and the other files go.")
        var out: String

        @Option(help: "Sweeps: comma-separated fractions in 0…1 (the same as --option levels=…).")
        var levels: String?

        @Option(parsing: .singleValue, help: "An option of the attack, NAME=VALUE (repeatable; `iprtool attacks` lists them).")
        var option: [String] = []

        @Flag(help: "Print report.json on standard output.")
        var json = false

        func validate() throws {
            try target.validateNames([name])
            for o in option where !o.contains("=") { throw ValidationError("--option takes NAME=VALUE, got '\(o)'") }
        }

        func run() throws {
            var given = Dictionary(option.map { o -> (String, String) in
                let parts = o.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }, uniquingKeysWith: { _, new in new })
            if let levels { given["levels"] = levels }
            let (outcome, files) = try target.prepare().run(name, options: given, out: out, progress: target.progress)
            let checkpoint = target.checkpoint
            if json {
                say(try String(contentsOfFile: out + "/report.json", encoding: .utf8).trimmingCharacters(in: .newlines))
                return
            }
            let r = outcome.report
            func line(_ label: String, _ m: AttackReport.Measurement) -> String {
                String(format: "  %@ accuracy with the passport %.1f%%%@, detection %.1f%%, owner's verdict %@", label, 100 * m.accuracy,
                       m.publicAccuracy.map { String(format: " (public path %.1f%%)", 100 * $0) } ?? "", 100 * m.detection, m.verdict.rawValue)
            }
            say("\(r.attack) on \(checkpoint) (\(String(format: "%.1f", r.seconds)) s)")
            say(line("before:", r.before))
            say(line("after: ", r.after))
            if !r.steps.isEmpty {
                say("  level  accuracy  detection  verdict")
                for s in r.steps { say(String(format: "  %5.2f  %7.1f%%  %8.1f%%  %@", s.level, 100 * s.accuracy, 100 * s.detection, s.verdict.rawValue)) }
            }
            if let f = r.forged {
                say(String(format: "  forger: accuracy %.1f%%, detection of the forged signature %.1f%%, BDR to the owner's %.1f%%, verdict %@",
                           100 * f.accuracy, 100 * f.detection, 100 * f.bdr, f.verdict.rawValue))
            }
            if let t = r.trigger {
                say(String(format: "  trigger set %@: accuracy %.1f%% on the stolen model, %.1f%% after, black-box verdict %@",
                           t.triggerSet, 100 * t.before, 100 * t.after, t.verdict.rawValue))
            }
            say("  wrote " + files.joined(separator: ", "))
        }
    }
}

/// What `attack` and `audit` share: the suspect, the owner's passport, the owner's and the attacker's
/// data, and how the owner's verdicts are reached.
struct AttackTarget: ParsableArguments {
    @Option(help: "The suspect (stolen) model: a passport checkpoint or a released one.")
    var checkpoint: String

    @Option(help: "The owner's passport, to measure detection and the owner's verdict.")
    var passport: String

    @OptionGroup var data: DataArguments

    @Option(help: "The attacker's own data, for the attacks that train (ftll, ftal, rtll, rtal, fake2, fake3, forge, cerb, ierb, distill): a dataset folder.")
    var attackerData: String?

    @Option(help: "Dataset of --attacker-data (default: --dataset). Another task with as many classes, e.g. fashion-mnist, is a transfer.")
    var attackerDataset: String?

    @Option(help: "Use only the first N attacker images of each split.")
    var attackerLimit: Int?

    @Option(help: "The attacker holds this fraction (0…1] of its training images, drawn at random with --seed (the ERB paper: 0.1). Default: all.")
    var attackerFraction: Double?

    @Option(help: "The owner's trigger set (V3, or any backdoor watermark): attacks that make a new model (distill) report its trigger accuracy and black-box verdict.")
    var triggerSet: String?

    @Option(help: "Random passports behind each owner's verdict (see `verify --null-samples`).")
    var nullSamples = 999

    @Option(help: "Seed of the attacks' random draws.")
    var seed: UInt64 = 0

    @Flag(help: "No progress lines.")
    var quiet = false

    /// The owner's test images and the attacker's, as the workflow takes them: without
    /// --attacker-data the training split of --data stands in for the thief's own images.
    var request: AttackRequest {
        var r = AttackRequest(suspect: checkpoint, ownerPassport: passport, data: data.request)
        if attackerData != nil || attackerDataset != nil || data.data != nil {
            var attacker = data.request(rootName: "--attacker-data")
            if let attackerDataset, attackerDataset != data.dataset { (attacker.dataset, attacker.root, attacker.padTo) = (attackerDataset, nil, nil) }
            if let attackerData { attacker.root = attackerData }
            attacker.limit = attackerLimit ?? data.limit
            r.attackerData = attacker
        }
        (r.attackerFraction, r.triggerSet, r.nullSamples, r.seed) = (attackerFraction, triggerSet, nullSamples, seed)
        return r
    }

    func validateNames(_ attacks: [String]) throws {
        try data.validateNames()
        guard nullSamples >= 0 else { throw ValidationError("--null-samples must be ≥ 0") }
        if let attackerFraction, !(attackerFraction > 0 && attackerFraction <= 1) {
            throw ValidationError("--attacker-fraction must be in (0, 1], got \(attackerFraction)")
        }
        do { try request.validate(attacks: attacks) } catch let error as WorkflowError { throw ValidationError(error.message) }
    }

    /// The suspect, the passport and the images read once; the notes on the data on standard error.
    func prepare() throws -> PreparedAttack {
        let prepared = try PreparedAttack(request)
        for note in prepared.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        return prepared
    }

    /// Progress lines on standard error, unless --quiet.
    var progress: (String) -> Void {
        let quiet = self.quiet
        return { line in if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
    }
}
