import Foundation
import IPRTensor
import Testing

/// `iprtool serve` and `iprtool verify --endpoint`, run as a user runs them.
@Suite struct ServeCommandTests {
    @Test func verifyOverHTTPReportsWhatTheFileGivesAndServeStopsOnSIGINT() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-serve-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tool = IPRToolTests.executable.path
        let trained = try DataParallelTests.launch([tool, "train", "--model", "alexnet", "--data", IPRToolTests.cifar, "--limit", "64",
                                                    "--epochs", "1", "--seed", "2", "--out", dir, "--quiet"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let checkpoint = dir + "/last.safetensors", triggers = IPRToolTests.root.appendingPathComponent("Fixtures/trigger_set").path

        let server = Process()
        server.executableURL = URL(fileURLWithPath: tool)
        server.arguments = ["serve", "--checkpoint", checkpoint, "--port", "0", "--name", "suspect"]
        let out = Pipe(), err = Pipe()
        server.standardOutput = out
        server.standardError = err
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        // The first line names the address, with the free port the server took.
        var first = Data()
        while !first.contains(10), case let chunk = out.fileHandleForReading.availableData, !chunk.isEmpty { first += chunk }
        let line = String(decoding: first, as: UTF8.self)
        let address = try #require(line.split(separator: " ").first { $0.hasPrefix("http://127.0.0.1:") }.map(String.init), "\(line)")
        let endpoint = "http://" + address.dropFirst("http://".count).prefix { $0 != "/" }

        // The null model (here the file itself) is local and normalises the pixels as its own statistics say.
        let remote = try DataParallelTests.launch([tool, "verify", "--endpoint", endpoint, "--model", "suspect", "--trigger-set", triggers,
                                                   "--null-models", checkpoint, "--json"])
        let local = try DataParallelTests.launch([tool, "verify", "--checkpoint", checkpoint, "--trigger-set", triggers, "--null-models", checkpoint, "--json"])
        #expect(remote.status == local.status && remote.status == 1, "an unwatermarked model is not verified either way: \(remote.stderr)")
        func object(_ text: String) throws -> [String: Any] { try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) }
        let r = try object(remote.stdout), l = try object(local.stdout)
        #expect(r["verdict"] as? String == l["verdict"] as? String)
        #expect(NSDictionary(dictionary: try #require(r["trigger"] as? [String: Any])) == NSDictionary(dictionary: try #require(l["trigger"] as? [String: Any])),
                "the same trigger evidence over HTTP as from the file")
        #expect(r["queries"] as? Int == 100 && r["endpoint"] as? String == endpoint)
        let unknown = try DataParallelTests.launch([tool, "verify", "--endpoint", endpoint, "--model", "other", "--trigger-set", triggers])
        #expect(unknown.status != 0 && unknown.stderr.contains("HTTP 404: no model 'other'"), "\(unknown.stderr)")

        kill(server.processIdentifier, SIGINT)
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
        let rest = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(rest.contains("stopped"))
        #expect(log.contains("GET /v2/models/suspect 200") && log.contains("POST /v2/models/suspect/infer 200") && log.contains("GET /v2/models/other 404"), "\(log)")
    }
}
