import ArgumentParser
import Foundation
import IPRModels
import IPRPassport
import IPRServe

extension IPRTool {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a checkpoint's public path over HTTP on the Open Inference Protocol (KServe v2 REST).",
            discussion: """
            Routes: GET /v2/health/live, GET /v2/health/ready, GET /v2/models/NAME (metadata: input \
            [-1, 3, S, S], outputs logits [-1, classes] and label [-1]), GET /v2/models/NAME/ready and \
            POST /v2/models/NAME/infer with {"inputs": [{"name": "input", "shape": [N, 3, S, S], \
            "datatype": "FP32" | "UINT8", "data": [...]}]}. FP32 is taken as normalised; UINT8 pixels are \
            normalised with the checkpoint's own mean and std. The answer holds the logits and the labels.
            A released V2/V3 model answers on its public path, as a thief's deployment would. Malformed \
            requests get 400 with {"error": "…"}, an unknown model 404, a body over --max-body-mb 413, \
            more than --max-concurrent requests at once 429. One log line per request on standard error; \
            SIGINT or SIGTERM finishes the requests in flight and stops.

            Example: iprtool serve --checkpoint runs/alexnet-v3/public.safetensors --port 8080
            Example: iprtool verify --endpoint http://127.0.0.1:8080 --trigger-set Fixtures/trigger_set
            """)

        @Option(help: "The model to serve (any checkpoint; a released V2/V3 model serves its public path).")
        var checkpoint: String

        @Option(help: "Address to listen on (0.0.0.0: every interface).")
        var host = "127.0.0.1"

        @Option(help: "Port to listen on (0: a free one, printed at start).")
        var port = 8080

        @Option(help: "The model's name in the URLs.")
        var name = "model"

        @Option(help: "Largest batch N of one request.")
        var maxBatch = 256

        @Option(help: "Largest request body in MiB.")
        var maxBodyMb = 64

        @Option(help: "Requests admitted at once (running or waiting); more get 429.")
        var maxConcurrent = 128

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0…65535, got \(port)") }
            guard maxBatch > 0, maxBodyMb > 0, maxConcurrent > 0 else { throw ValidationError("--max-batch, --max-body-mb and --max-concurrent must be positive") }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw ValidationError("--name takes letters, digits, '-', '_' and '.', got '\(name)'")
            }
        }

        func run() throws {
            let (model, info, scheme) = try PassportCheckpoint.load(checkpoint)
            var limits = InferenceModel.Limits()
            limits.maxBatch = maxBatch
            limits.maxBodyBytes = maxBodyMb << 20
            limits.maxConcurrent = maxConcurrent
            let served = InferenceModel(name: name, model: model, info: info, normalize: info.normalize, limits: limits)
            let server = InferenceServer(model: served, host: host, port: port)
            let path = scheme.map { $0.hasPrivatePath ? "public path of a \($0.rawValue) model" : "\($0.rawValue) model with its passport" } ?? "plain model"
            let (host, name, checkpoint) = (self.host, self.name, self.checkpoint)
            let finished = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var failure: Error?
            Task {
                do {
                    try await server.run { port in
                        say("serving \(checkpoint) (\(info.arch), \(path), \(info.config.classes) classes, \(info.config.inputSize) px) as '\(name)' on http://\(host):\(port)/v2/models/\(name)")
                    }
                } catch { failure = error }
                finished.signal()
            }
            finished.wait()
            if let failure { throw failure }
            say("stopped")
        }
    }
}
