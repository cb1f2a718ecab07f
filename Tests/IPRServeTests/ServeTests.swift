import AsyncHTTPClient
import Foundation
import IPRBackdoor
import IPRData
import IPRModels
import IPRServe
import IPRTensor
import IPRTestSupport
import IPRWorkflows
import NIOCore
import Testing

/// `InferenceServer` on loopback: black-box verdicts over HTTP equal the verdicts on the model, and
/// every malformed request gets a 4xx with a message.
@Suite(.serialized) struct ServeTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let config = ModelConfig(classes: 10, inputSize: 8)

    /// A trigger folder of 20 WatermarkNN pictures with labels 0…9 twice.
    static let triggers: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-serve-triggers-\(UUID())").path
        try! FileManager.default.createDirectory(atPath: dir + "/pics", withIntermediateDirectories: true)
        let pics = fixtures.appendingPathComponent("trigger_set/pics").path
        for name in try! FileManager.default.contentsOfDirectory(atPath: pics).sorted().prefix(20) {
            try! FileManager.default.copyItem(atPath: pics + "/" + name, toPath: dir + "/pics/" + name)
        }
        try! ((0..<20).map { "\($0 % 10)" }.joined(separator: "\n") + "\n").write(toFile: dir + "/labels-cifar.txt", atomically: true, encoding: .utf8)
        return dir
    }()

    /// A small net, and the same net after memorising the trigger folder (a watermarked model).
    static func models() throws -> (plain: any Layer, marked: any Layer) {
        _ = TwoBlockNet.registered
        let plain = try Models.make("twoblocknet", config: config, seed: 1)
        let marked = try Models.make("twoblocknet", config: config, seed: 1)
        var images: [Tensor] = [], labels: [Int] = []
        try TriggerFolder(root: triggers).batches(inputSize: 8, normalize: .imageNet).forEachBatch(epoch: 0) { images.append($0.images); labels += $0.labels }
        let x = Tensor.concat(images, dim: 0)
        let sgd = SGD(parameters: marked.trainableParameters(), learningRate: 0.05, momentum: 0.9)
        for _ in 0..<150 {
            sgd.zeroGrad()
            crossEntropy(marked(x, .train), labels: labels).backward()
            sgd.step()
        }
        return (plain, marked)
    }

    /// Runs `body` with `model` served on a free loopback port.
    static func serving(_ model: any Layer, limits: InferenceModel.Limits = .init(), _ body: (String) throws -> Void) async throws {
        let info = CheckpointInfo(arch: "twoblocknet", config: config, dataset: "trigger", mean: Normalize.imageNet.mean, std: Normalize.imageNet.std)
        try await withServer(InferenceModel(name: "suspect", model: model, info: info, normalize: .imageNet, limits: limits)) { try body($0) }
    }

    /// Cancelling the server's task while connections are being accepted shuts it down gracefully: it
    /// returns, and nothing traps (cancelling a NIO server outright can trap on a connection accepted but
    /// not yet served). Twenty rounds of eight requests fired just before the cancellation.
    @Test func cancellingWithRequestsInFlightShutsDownGracefully() async throws {
        _ = TwoBlockNet.registered
        let model = try Models.make("twoblocknet", config: Self.config, seed: 1)
        for _ in 0..<20 {
            try await Self.serving(model) { endpoint in
                for _ in 0..<8 { _ = HTTPClient.shared.get(url: endpoint + "/v2/health/live") }
            }
        }
    }

    @Test func verdictsOverHTTPEqualTheVerdictsOnTheModel() async throws {
        let (plain, marked) = try Self.models()
        let folder = try TriggerFolder(root: Self.triggers)
        for (model, expected) in [(marked, Verdict.verified), (plain, .notVerified)] {
            let local = try BlackBoxVerifier.verify(ModelOracle(model), triggers: folder.batches(inputSize: 8, normalize: .imageNet),
                                                    classes: 10, triggerSet: Self.triggers)
            #expect(local.verdict == expected, "\(local.reasons)")
            try await Self.serving(model) { endpoint in
                let remote = try RemoteModel(endpoint: endpoint, name: "suspect")
                #expect(remote.inputSize == 8 && remote.classes == 10)
                let report = try BlackBoxVerifier.verify(remote, triggers: folder.batches(inputSize: 8, normalize: RemoteModel.pixelInput),
                                                         classes: 10, triggerSet: Self.triggers)
                #expect(report == local, "pixels sent as UINT8 and normalised by the server give the model's very predictions")
                #expect(remote.queried == 20)
                #expect(remote.encoding == .binary, "the server's metadata lists binary_tensor_data")
                let viaJSON = try RemoteModel(endpoint: endpoint, name: "suspect", encoding: .json)
                #expect(try BlackBoxVerifier.verify(viaJSON, triggers: folder.batches(inputSize: 8, normalize: RemoteModel.pixelInput),
                                                    classes: 10, triggerSet: Self.triggers) == local, "JSON numbers give the same verdict as bytes")
                let capped = try RemoteModel(endpoint: endpoint, name: "suspect", budget: 10)
                #expect(throws: ServeClientError.self) { _ = try BlackBoxVerifier.verify(capped, triggers: folder.batches(inputSize: 8, normalize: RemoteModel.pixelInput), classes: 10, triggerSet: Self.triggers) }
            }
        }
    }

    @Test func everyMalformedRequestGetsA4xxWithAMessage() async throws {
        var limits = InferenceModel.Limits()
        limits.maxBodyBytes = 16 << 10
        limits.maxBatch = 4
        try await Self.serving(try Self.models().plain, limits: limits) { endpoint in
            func post(_ path: String, _ body: String) throws -> (Int, String) {
                let request = try HTTPClient.Request(url: endpoint + path, method: .POST, body: .string(body))
                let response = try HTTPClient.shared.execute(request: request, deadline: .now() + .seconds(30)).wait()
                return (Int(response.status.code), response.body.map { String(buffer: $0) } ?? "")
            }
            func input(_ shape: [Int], _ datatype: String = "UINT8", value: String = "1") -> String {
                let data = Array(repeating: value, count: shape.reduce(1, *)).joined(separator: ",")
                return #"{"inputs":[{"name":"input","shape":\#(shape),"datatype":"\#(datatype)","data":[\#(data)]}]}"#
            }
            let infer = "/v2/models/suspect/infer"
            let (ok, answer) = try post(infer, input([2, 3, 8, 8]))
            #expect(ok == 200 && answer.contains(#""name":"label","datatype":"INT64","shape":[2]"#), "\(answer)")
            let cases: [(String, String, String, Int, String)] = [
                ("wrong shape", infer, input([2, 3, 9, 8]), 400, "does not fit this model"),
                ("wrong rank", infer, input([3, 8, 8]), 400, "does not fit this model"),
                ("wrong dtype", infer, input([1, 3, 8, 8], "INT32"), 400, "datatype INT32"),
                ("pixel out of range", infer, input([1, 3, 8, 8], value: "300"), 400, "not an integer in 0…255"),
                ("too few values", infer, #"{"inputs":[{"name":"input","shape":[1,3,8,8],"datatype":"FP32","data":[1,2]}]}"#, 400, "data has 2 values"),
                ("truncated body", infer, String(input([1, 3, 8, 8]).prefix(100)), 400, "not JSON"),
                ("not an inference request", infer, #"{"instances":[1]}"#, 400, "expected {"),
                ("batch over the limit", infer, input([5, 3, 8, 8]), 400, "limit of 4"),
                ("oversized body", infer, input([1, 3, 8, 8]) + String(repeating: " ", count: 20_000), 413, "limit of 16384 bytes"),
                ("unknown model", "/v2/models/other/infer", input([1, 3, 8, 8]), 404, "no model 'other'"),
            ]
            for (what, path, body, status, message) in cases {
                let (code, text) = try post(path, body)
                #expect(code == status && text.hasPrefix(#"{"error":"#) && text.contains(message), "\(what): \(code) \(text)")
            }
            let metadata = try HTTPClient.shared.get(url: endpoint + "/v2/models/suspect").wait()
            #expect(metadata.status.code == 200 && String(buffer: metadata.body!).contains(#""shape":[-1,3,8,8]"#))
            let ready = try HTTPClient.shared.get(url: endpoint + "/v2/health/ready").wait()
            #expect(ready.status.code == 200)
        }
    }
}
