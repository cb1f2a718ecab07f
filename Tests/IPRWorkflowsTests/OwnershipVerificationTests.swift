import Foundation
import IPRModels
import IPRTensor
import IPRWorkflows
import Testing

/// The verification workflow as a library call: the combined verdict, the report's JSON layout (the
/// one `verify --json` prints), and refusals of claims that cannot be checked.
@Suite struct OwnershipVerificationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    /// An untrained AlexNet (no watermark) saved as a plain checkpoint.
    static func unwatermarked(in dir: String) throws -> String {
        let config = ModelConfig(classes: 10)
        let path = dir + "/plain.safetensors"
        try Checkpoint.save(try Models.make("alexnet", config: config, seed: 3),
                            info: CheckpointInfo(arch: "alexnet", config: config, dataset: "cifar10", mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]),
                            to: path)
        return path
    }

    @Test func anUnwatermarkedModelIsNotVerifiedByTheTriggerSetAndTheReportSaysWhy() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-workflow-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let suspect = try Self.unwatermarked(in: dir)
        let report = try OwnershipVerification.verify(OwnershipClaim(suspect: suspect, triggerSet: Self.fixtures + "/trigger_set"))
        #expect(report.verdict == .notVerified && report.whitebox == nil)
        let blackbox = try #require(report.blackbox)
        #expect(blackbox.verdict == .notVerified && blackbox.trigger.total > 0 && blackbox.reasons.contains { $0.hasPrefix("FAIL") })

        // `verify --json`'s layout: the verdict's raw value, the black-box evidence as `trigger` and
        // `blackbox`, the suspect's file; no white-box keys without a passport.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(ReportJSON.encode(report).utf8)) as? [String: Any])
        #expect(json["verdict"] as? String == "not-verified" && json["checkpoint"] as? String == suspect)
        #expect(json["trigger"] is [String: Any] && (json["blackbox"] as? [String: Any])?["verdict"] as? String == "not-verified")
        #expect(json["whitebox"] == nil && json["signature"] == nil && json["passportSha256"] == nil)
    }

    @Test func claimsThatCannotBeCheckedAreRefusedWithAReason() throws {
        #expect(throws: WorkflowError("a claim needs a passport (white-box), a trigger set (black-box), or both")) {
            _ = try OwnershipVerification.verify(OwnershipClaim(suspect: "suspect.safetensors"))
        }
        #expect(throws: WorkflowError.self) {
            _ = try OwnershipDispute.settle(suspect: "suspect.safetensors", claims: ["one.safetensors"], data: DataRequest(dataset: "cifar10", root: "x"))
        }
        var request = DataRequest(dataset: "cifar11")
        #expect(throws: WorkflowError.self) { try request.validate() }
        request.dataset = "cifar10"
        #expect(throws: WorkflowError("--data is required for dataset 'cifar10'")) { try request.validate() }
        request.dataset = "fashion-mnist"
        try request.validate()   // Debian's copy: no folder needed
    }

    @Test func verdictsKeepTheirJSONSpelling() throws {
        #expect(Verdict.allCases.map(\.rawValue) == ["verified", "not-verified", "no-passport", "not-loadable", "–"])
        #expect(try JSONDecoder().decode([Verdict].self, from: Data(#"["verified","not-verified"]"#.utf8)) == [.verified, .notVerified])
        #expect(Verdict(passed: true) == .verified && Verdict(passed: false) == .notVerified)
    }
}
