import Foundation
import Testing

/// End-to-end: the built `iprtool` run as a user runs it, on the Fixtures CIFAR-10 subset.
@Suite struct IPRToolTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let cifar = root.appendingPathComponent("Fixtures/cifar10_subset").path

    /// `iprtool` sits next to the test bundle in the build folder.
    static var executable: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.path.hasSuffix(".xctest/Contents/MacOS") { dir = dir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        return dir.appendingPathComponent("iprtool")
    }

    struct Run { let status: Int32; let stdout: String; let stderr: String }

    func iprtool(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func temporaryDirectory() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("iprtool-\(UUID())").path }

    @Test func trainThenEvaluateFromTheFileAlone() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let train = try iprtool(["train", "--model", "alexnet", "--dataset", "cifar10", "--data", Self.cifar, "--epochs", "2",
                                 "--batch-size", "32", "--limit", "128", "--seed", "3", "--out", out, "--quiet"])
        #expect(train.status == 0, "\(train.stderr)")
        for file in ["last.safetensors", "best.safetensors", "optimizer.safetensors", "history.csv"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing")
        }
        let history = try String(contentsOfFile: out + "/history.csv", encoding: .utf8).split(separator: "\n")
        #expect(history.count == 3)

        let eval = try iprtool(["evaluate", "--checkpoint", out + "/last.safetensors", "--dataset", "cifar10",
                                "--data", Self.cifar, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let accuracy = try #require(json["accuracy"] as? Double)
        #expect(accuracy >= 0 && accuracy <= 1)
        #expect(json["samples"] as? Int == 200)
        #expect((json["loss"] as? Double).map { $0.isFinite && $0 > 0 } == true)
        // The last epoch's test accuracy in history.csv is what evaluate measures on the same 128 images.
        let limited = try iprtool(["evaluate", "--checkpoint", out + "/last.safetensors", "--data", Self.cifar, "--limit", "128", "--json"])
        let limitedAccuracy = try #require((try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [String: Any])?["accuracy"] as? Double)
        let lastRow = history.last!.split(separator: ",", omittingEmptySubsequences: false)
        #expect(Swift.abs(Double(lastRow[5])! - limitedAccuracy) < 1e-9)
    }

    @Test func listsRegistries() throws {
        let models = try iprtool(["models"]), datasets = try iprtool(["datasets"])
        #expect(models.status == 0 && models.stdout.contains("alexnet") && models.stdout.contains("resnet18"))
        #expect(datasets.status == 0 && datasets.stdout.contains("cifar10") && datasets.stdout.contains("trigger-set"))
    }

    @Test func badInputIsAClearErrorNotACrash() throws {
        let unknown = try iprtool(["train", "--model", "vgg", "--data", Self.cifar, "--out", temporaryDirectory()])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("unknown model 'vgg'") && unknown.stderr.contains("alexnet"))
        let missing = try iprtool(["evaluate", "--checkpoint", "/nonexistent/model.safetensors", "--data", Self.cifar])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/model.safetensors"))
        let noData = try iprtool(["evaluate", "--checkpoint", "x.safetensors", "--dataset", "cifar10"])
        #expect(noData.status != 0 && noData.stderr.contains("--data"))
        let help = try iprtool(["train", "--help"])
        #expect(help.stdout.contains("--resume") && help.stdout.contains("Example: iprtool train"))
    }
}
