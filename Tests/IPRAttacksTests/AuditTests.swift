import Foundation
import Testing
import IPRAttacks
import IPRModels
import IPRPassport
import IPRTensor

/// An attack that always fails, to see the audit carry on.
struct BrokenAttack: Attack {
    var options: [AttackOption] { [] }
    func run(_ context: AttackContext) throws -> AttackOutcome { throw IPRAttacksError(.unsuitableInput, "broken on purpose") }
}

/// Serialized: the audit reads the process-wide Ctrl-C flag.
@Suite(.serialized) struct AuditTests {
    let suite = [Audit.Item("prune", ["levels": "0,1"]), Audit.Item("broken"), Audit.Item("fake1", ["samples": "1"])]

    func run(_ out: String, resume: Bool) throws -> Audit.Report {
        Attacks.registry.register("broken", description: "fails (test)", BrokenAttack())
        let trained = try Trained.v2.get()
        return try Audit.run(suite, out: out, checkpoint: trained.checkpoint, info: trained.info, scheme: "v2", resume: resume) { name, options in
            try Trained.context(trained, scheme: .v2, attack: name, options: options.values)
        }
    }

    @Test func aFailingAttackIsReportedAndTheRestRunAndResume() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-audit-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let first = try run(out, resume: false)
        #expect(first.entries.map(\.status) == [.done, .failed, .done] && !first.interrupted)
        #expect(first.entries[1].error?.contains("broken on purpose") == true)
        let markdown = try String(contentsOfFile: out + "/audit.md", encoding: .utf8)
        #expect(markdown.contains("| prune |") && markdown.contains("[plot](prune/plot.png)") && markdown.contains("| broken |")
                && markdown.contains("claim "))
        let json = try JSONDecoder().decode(Audit.Report.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/audit.json")))
        #expect(json == first)
        // Resume: finished attacks are kept, the failed one is tried again.
        let second = try run(out, resume: true)
        #expect(second.entries.map(\.status) == [.resumed, .failed, .resumed])
        #expect(second.entries[0].report == first.entries[0].report)
    }

    @Test func ctrlCStopsBeforeTheNextAttack() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-audit-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: out); Interrupt.reset() }
        Interrupt.simulate()
        let report = try run(out, resume: false)
        #expect(report.interrupted && report.entries.allSatisfy { $0.status == .notRun })
        #expect(try String(contentsOfFile: out + "/audit.md", encoding: .utf8).contains("--resume"))
    }
}
