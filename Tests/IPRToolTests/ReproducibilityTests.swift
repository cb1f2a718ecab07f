import Foundation
import Testing

/// Seeded runs give the same bytes: the same `iprtool train` command, run again in a fresh process
/// with both cores kept busy by other work and another number of loader workers, writes the same
/// checkpoint and optimiser files. Convolution algorithms are a rule of the shape and the CPU
/// (never a timing), the loader's augmentation is seeded per image, and each step's sums run in a
/// fixed order for a fixed thread count.
@Suite(.serialized) struct ReproducibilityTests {
    static let passports = IPRToolTests.root.appendingPathComponent("Fixtures/passport_configs/alexnet_passport.json").path

    /// Keeps `threads` cores busy with arithmetic until `stop` is called: the load under which timed
    /// choices used to change.
    final class Load: @unchecked Sendable {
        private let lock = NSLock()
        private var running = true
            init(threads: Int) {
            for _ in 0..<threads {
                let t = Thread { [self] in
                    var x = 1.0
                    while self.isRunning { for _ in 0..<100_000 { x = x * 1.000001 + 1e-9 } }
                    if x == 0 { print(x) }
                }
                t.start()
            }
        }
        var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }
        func stop() { lock.lock(); running = false; lock.unlock() }
    }

    func train(_ extra: [String], out: String, under load: Bool = false) throws -> [Data] {
        let busy = load ? Load(threads: 2) : nil
        defer { busy?.stop() }
        let run = try IPRToolTests().iprtool(["train", "--model", "alexnet", "--data", IPRToolTests.cifar, "--limit", "96",
                                              "--batch-size", "32", "--epochs", "1", "--seed", "7", "--out", out, "--quiet"] + extra)
        #expect(run.status == 0, "\(run.stderr)")
        return try ["last.safetensors", "optimizer.safetensors"].map { try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)) }
    }

    @Test(arguments: [[String](), ["--scheme", "v2", "--passport-config", passports, "--passport-seed", "11"]])
    func theSameCommandWritesTheSameBytes(_ scheme: [String]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-repro-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try train(scheme, out: dir + "/a")
        // The second run is under load and decodes on 2 workers: neither may change a byte.
        let again = try train(scheme + ["--workers", "2"], out: dir + "/b", under: true)
        #expect(first == again, "a second run, under load and with --workers 2, wrote other bytes")
        #expect(first[0].count > 1_000_000, "a whole AlexNet checkpoint")
    }
}
