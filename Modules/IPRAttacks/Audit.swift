import Foundation
import IPRModels
import IPRTensor

/// The robustness card of a protected model: a suite of attacks run one after another into one
/// folder, each in its own subfolder, summarised in `audit.json` and `audit.md` after every attack (so
/// Ctrl-C, or a crash, keeps every finished one). An attack that throws is recorded as failed and the
/// audit goes on; with `resume`, attacks whose `report.json` is already there are not run again.
public enum Audit {
    /// One attack of the suite and its options.
    public struct Item: Sendable, Equatable, Codable {
        public var attack: String
        public var options: [String: String]
        public init(_ attack: String, _ options: [String: String] = [:]) { self.attack = attack; self.options = options }
    }

    /// The default suite: both sweeps, the forgeries (the ERB attack's CERB among them), short
    /// fine-tuning (a few minutes for AlexNet on the Fixtures subset on 2 cores), the thief's
    /// structural edits (permuted, widened, channel-pruned, quantised copies) and model extraction.
    public static let defaultSuite: [Item] = [
        Item("prune"), Item("flip"), Item("fake1"),
        Item("ftal", ["epochs": "3"]), Item("rtal", ["epochs": "3"]),
        Item("fake2", ["epochs": "3"]), Item("fake3", ["epochs": "3"]), Item("cerb", ["epochs": "3"]),
        Item("permute"), Item("widen"), Item("channel-prune"), Item("quantize"), Item("resave"), Item("obfuscate"),
        Item("distill", ["epochs": "3"]),
    ]

    /// `items` (the default suite when nil) with their options from the default suite, and
    /// `epochs` given to every one that trains.
    public static func suite(_ items: [String]?, epochs: Int? = nil) -> [Item] {
        let defaults = Dictionary(defaultSuite.map { ($0.attack, $0.options) }, uniquingKeysWith: { a, _ in a })
        let suite = items.map { $0.map { Item($0, defaults[$0] ?? [:]) } } ?? defaultSuite
        guard let epochs else { return suite }
        return suite.map { item in
            var item = item
            if item.options["epochs"] != nil || (try? Attacks.registry.lookup(item.attack))?.options.contains(where: { $0.name == "epochs" }) == true {
                item.options["epochs"] = String(epochs)
            }
            return item
        }
    }

    /// How one attack of an audit ended.
    public struct Entry: Sendable, Equatable, Codable {
        public enum Status: String, Sendable, Codable {
            /// Run now.
            case done
            /// Its report was already there (`--resume`).
            case resumed
            /// It threw; `error` says why.
            case failed
            /// The audit was interrupted before it.
            case notRun = "not-run"
        }
        public var status: Status
        public var attack: String
        public var options: [String: String]
        public var error: String?
        public var report: AttackReport?
    }

    /// `audit.json`.
    public struct Report: Sendable, Equatable, Codable {
        public var checkpoint: String
        public var arch: String
        public var scheme: String
        public var entries: [Entry]
        public var interrupted: Bool
    }

    /// Runs `suite`, writing each attack's files to `out/NAME/` and the summaries to `out/`.
    /// `context` builds a fresh context (a fresh model copy) for each attack.
    public static func run(_ suite: [Item], out: String, checkpoint: String, info: CheckpointInfo, scheme: String, resume: Bool,
                           context makeContext: (String, AttackOptions) throws -> AttackContext,
                           progress: (String) -> Void = { _ in }) throws -> Report {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var report = Report(checkpoint: checkpoint, arch: info.arch, scheme: scheme, entries: [], interrupted: false)
        for (k, item) in suite.enumerated() {
            let folder = out + "/" + item.attack
            if report.interrupted || Interrupt.requested {
                report.interrupted = true
                report.entries.append(Entry(status: .notRun, attack: item.attack, options: item.options))
                continue
            }
            if resume, let previous = try? JSONDecoder().decode(AttackReport.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/report.json"))) {
                report.entries.append(Entry(status: .resumed, attack: item.attack, options: previous.options, report: previous))
                progress("[\(k + 1)/\(suite.count)] \(item.attack): kept from the previous run")
                continue
            }
            progress("[\(k + 1)/\(suite.count)] \(item.attack) …")
            do {
                let outcome = try Attacks.run(item.attack, options: item.options) { try makeContext(item.attack, $0) }
                try AttackFiles.write(outcome, to: folder, info: info)
                report.entries.append(Entry(status: .done, attack: item.attack, options: outcome.report.options, report: outcome.report))
                progress("[\(k + 1)/\(suite.count)] \(item.attack): owner's verdict \(outcome.report.ownerVerdict) (\(String(format: "%.0f", outcome.report.seconds)) s)")
            } catch {
                report.entries.append(Entry(status: .failed, attack: item.attack, options: item.options, error: "\(error)"))
                progress("[\(k + 1)/\(suite.count)] \(item.attack) failed: \(error)")
            }
            try write(report, to: out)
        }
        try write(report, to: out)
        return report
    }

    static func write(_ report: Report, to out: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(Array(try encoder.encode(report)) + [10], to: out + "/audit.json")
        try AtomicFile.write(Array(markdown(report).utf8), to: out + "/audit.md")
    }

    /// `audit.md`: one row per attack, the plots and files linked.
    public static func markdown(_ report: Report) -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f %%", 100 * x) }
        var lines = ["# Robustness audit of \(report.checkpoint)", "",
                     "\(report.arch), scheme \(report.scheme). Detection and verdicts are the owner's: `iprtool verify` with the owner's passport on the attacked model.",
                     report.interrupted ? "\n**Interrupted**: the attacks marked not-run did not run; `iprtool audit --resume` continues.\n" : "",
                     "| attack | what the attacker does | owner's detection before → after | owner's verdict after | what the attacker gets | files |",
                     "|---|---|---|---|---|---|"]
        let descriptions = Dictionary(Attacks.registry.all.map { ($0.name, $0.description) }, uniquingKeysWith: { a, _ in a })
        for e in report.entries {
            let what = descriptions[e.attack] ?? ""
            guard let r = e.report else {
                lines.append("| \(e.attack) | \(what) | – | \(e.status.rawValue) | \(e.error.map { $0.replacingOccurrences(of: "|", with: "/") } ?? "") | |")
                continue
            }
            var gets = ""
            if let f = r.forged {
                gets = "accuracy \(pct(f.accuracy)), its signature \(pct(f.detection)), BDR \(pct(f.bdr)), claim \(f.verdict)"
            } else if let step = r.steps.first(where: { $0.level == 0.5 }) ?? r.steps.last {
                gets = "at \(r.levelMeaning ?? "level") \(step.level == step.level.rounded() ? String(Int(step.level)) : String(step.level)): accuracy \(pct(step.accuracy)), owner's detection \(pct(step.detection))"
            }
            var files = ["[report](\(e.attack)/report.json)"]
            if !r.steps.isEmpty { files += ["[plot](\(e.attack)/plot.png)", "[steps](\(e.attack)/steps.csv)"] }
            lines.append("| \(e.attack)\(e.status == .resumed ? " (resumed)" : "") | \(what) | \(pct(r.before.detection)) → \(pct(r.after.detection)) | \(r.ownerVerdict) | \(gets) | \(files.joined(separator: ", ")) |")
        }
        let seconds = report.entries.compactMap { $0.report?.seconds }.reduce(0, +)
        lines += ["", String(format: "%d attacks, %.0f s of attacking.", report.entries.filter { $0.report != nil }.count, seconds)]
        return lines.joined(separator: "\n") + "\n"
    }
}
