import Foundation
import IPRTensor
import Testing

/// `mpirun -np 2 iprtool train`: data-parallel training on loopback gives the parameters one process
/// gets with the same global batch in the same slices, and ranks that disagree stop together with one message.
@Suite(.serialized) struct DataParallelTests {
    static let passports = IPRToolTests.root.appendingPathComponent("Fixtures/passport_configs/alexnet_passport.json").path

    /// Runs `command` (a full argument list) with a deadline: a hang is a failure, not a stuck suite.
    static func launch(_ command: [String], seconds: Double = 300) throws -> IPRToolTests.Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = command
        var env = ProcessInfo.processInfo.environment
        env["OMP_NUM_THREADS"] = "1"; env["OPENBLAS_NUM_THREADS"] = "1"   // one thread per rank, as documented
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let deadline = DispatchTime.now() + seconds
        DispatchQueue.global().asyncAfter(deadline: deadline) { if p.isRunning { p.terminate() } }
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return .init(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// `mpirun` with the flags a root CI container needs (they do nothing elsewhere).
    static func mpirun(_ ranks: [[String]]) -> [String] {
        var command = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
        for (k, args) in ranks.enumerated() { command += (k > 0 ? [":"] : []) + ["-np", "1", IPRToolTests.executable.path] + args }
        return command
    }

    static func train(_ extra: [String], out: String) -> [String] {
        ["train", "--model", "alexnet", "--norm", "gn", "--data", IPRToolTests.cifar, "--limit", "192", "--batch-size", "64",
         "--epochs", "1", "--seed", "1", "--out", out, "--quiet"] + extra
    }

    /// Two ranks take bit for bit the steps of one process that computes each batch in the same two
    /// slices (`--micro-batches 2`): each slice's gradient comes from the same kernels on the same 32
    /// images with one thread each (convolution algorithms are a rule of the shape, never timed), and
    /// the allreduce adds the two weighted gradients as the process does — a sum of two floats, which
    /// does not depend on their order. So no tolerance: any difference is a bug in the data-parallel
    /// path (a wrong share, a rank stepping alone, another slice). That micro-batches take the whole
    /// batch's step is `TrainerTests.microBatchesTakeTheWholeBatchStep`, argued from float rounding.
    @Test(arguments: [[String](), ["--scheme", "v2", "--passport-config", passports, "--passport-seed", "3"]])
    func twoRanksTakeTheStepsOfOneProcessInTwoSlices(_ scheme: [String]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-dp-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let one = try Self.launch([IPRToolTests.executable.path] + Self.train(scheme + ["--micro-batches", "2"], out: dir + "/one"))
        #expect(one.status == 0, "\(one.stderr)")
        let two = try Self.launch(Self.mpirun([Self.train(scheme, out: dir + "/two"), Self.train(scheme, out: dir + "/two")]))
        #expect(two.status == 0, "\(two.stderr)")

        // Three SGD steps of batch 64 (192 images).
        let a = try SafeTensors.read(contentsOf: dir + "/one/last.safetensors"), b = try SafeTensors.read(contentsOf: dir + "/two/last.safetensors")
        #expect(a.names == b.names)
        var compared = 0
        for name in a.names where a[name]!.dtype == .f32 {
            let x = try a[name]!.floats(), y = try b[name]!.floats()
            let differing = zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(name): \(differing) of \(x.count) values differ, worst by \(zip(x, y).map { abs($0 - $1) }.max() ?? 0)")
            compared += 1
        }
        #expect(compared >= 17)
        #expect(FileManager.default.contents(atPath: dir + "/one/optimizer.safetensors") == FileManager.default.contents(atPath: dir + "/two/optimizer.safetensors"),
                "the same momentum")
        // Rank 0 alone wrote, and wrote what one process writes.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/two").sorted()
        #expect(files == (try FileManager.default.contentsOfDirectory(atPath: dir + "/one").sorted()))
        if !scheme.isEmpty {
            #expect(FileManager.default.contents(atPath: dir + "/one/passport.safetensors") == FileManager.default.contents(atPath: dir + "/two/passport.safetensors"),
                    "every rank trains rank 0's passport")
        }
        let history = try String(contentsOfFile: dir + "/two/history.csv", encoding: .utf8)
        #expect(history.contains("allreduce_ms"))
    }

    @Test func ranksThatDisagreeStopTogetherWithOneMessage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-dp-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Self.launch(Self.mpirun([Self.train(["--lr", "0.01"], out: dir), Self.train(["--lr", "0.02"], out: dir)]), seconds: 120)
        #expect(run.status != 0)
        let said = run.stderr.components(separatedBy: "from rank 0 in the command or the data").count - 1
        #expect(said == 1, "\(run.stderr)")
        #expect(run.stderr.contains("rank 1 of 2 differs"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/last.safetensors"))
    }
}
