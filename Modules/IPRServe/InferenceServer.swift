import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `InferenceModel` over HTTP (Hummingbird 2): the Open Inference Protocol's REST routes
/// `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2/models/{name}` (metadata),
/// `GET /v2/models/{name}/ready` and `POST /v2/models/{name}/infer` (JSON, or Triton's binary tensor
/// data extension: `InferenceRequest`), `GET /v2` (server metadata, naming that extension) and
/// `GET /metrics` (Prometheus: `ServerMetrics`). Every
/// refused request gets a 4xx with `{"error": "…"}`; each request is logged as one line on standard error.
public struct InferenceServer: Sendable {
    public let model: InferenceModel
    public let host: String
    public let port: Int

    public init(model: InferenceModel, host: String = "127.0.0.1", port: Int = 8080) {
        self.model = model; self.host = host; self.port = port
    }

    /// Serves until SIGINT or SIGTERM (with `signals`) or until the task is cancelled, then finishes
    /// the requests in flight and returns. `listening` gets the bound port (with port 0: a free one).
    public func run(signals: Bool = true, listening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let app = Application(router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "swift-deepipr"),
                              onServerRunning: { channel in listening(channel.localAddress?.port ?? -1) })
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [], logger: app.logger)
        // Cancelling a NIO server while a connection is accepted but not yet handed to its handler traps
        // ("Deinited NIOAsyncWriter without calling finish()", apple/swift-nio#3481); a graceful shutdown
        // serves or closes every accepted connection. So the group runs in a task the caller's cancellation
        // does not reach, and that cancellation asks the group to shut down gracefully instead.
        let serving = Task { try await group.run() }
        try await withTaskCancellationHandler {
            try await serving.value
        } onCancel: {
            Task { await group.triggerGracefulShutdown() }
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let metrics = ServerMetrics()
        router.add(middleware: RequestLog(metrics: metrics))
        let model = self.model
        let admitted = Admission(limit: model.limits.maxConcurrent)
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.text())))
        }
        // Server metadata: clients look here for the extensions a server has.
        router.get("/v2") { _, _ in json(.ok, Array(#"{"name":"swift-deepipr","version":"1","extensions":["binary_tensor_data"]}"#.utf8)) }
        router.get("/v2/health/live") { _, _ in json(.ok, Array(#"{"live":true}"#.utf8)) }
        router.get("/v2/health/ready") { _, _ in json(.ok, Array(#"{"ready":true}"#.utf8)) }
        router.get("/v2/models/:name") { _, context in
            try await answer { try known(context, model); return json(.ok, model.metadata()) }
        }
        router.get("/v2/models/:name/ready") { _, context in
            try await answer { try known(context, model); return json(.ok, Array(#"{"ready":true}"#.utf8)) }
        }
        router.post("/v2/models/:name/infer") { request, context in
            try await answer {
                try known(context, model)
                guard admitted.enter() else {
                    metrics.refusedBusy.increment()
                    throw ServeError(.tooManyRequests, "more than \(model.limits.maxConcurrent) requests at once; retry later")
                }
                defer { admitted.leave() }
                let body: ByteBuffer
                do { body = try await request.body.collect(upTo: model.limits.maxBodyBytes) } catch {
                    throw ServeError(.payloadTooLarge, "request body is larger than this server's limit of \(model.limits.maxBodyBytes) bytes")
                }
                let start = ContinuousClock.now
                let answer = try await model.infer(Array(buffer: body), headerLength: try binaryHeaderLength(request.headers))
                metrics.inferenceSeconds.record(ContinuousClock.now - start)
                metrics.images.increment(by: Int64(answer.images))
                return answer.headerLength.map { binary(answer.body, headerLength: $0) } ?? json(.ok, answer.body)
            }
        }
        return router
    }
}

/// The JSON response for `bytes`.
private func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// Triton's header for a body that is a JSON header followed by raw tensor bytes.
let inferenceHeaderContentLength = HTTPField.Name("Inference-Header-Content-Length")!

/// A 200 whose first `headerLength` bytes are JSON and the rest binary output tensors.
private func binary(_ bytes: [UInt8], headerLength: Int) -> Response {
    Response(status: .ok, headers: [.contentType: "application/octet-stream", inferenceHeaderContentLength: String(headerLength)],
             body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// The request's `Inference-Header-Content-Length`, if it has one.
private func binaryHeaderLength(_ headers: HTTPFields) throws -> Int? {
    guard let text = headers[inferenceHeaderContentLength] else { return nil }
    guard let n = Int(text.trimmingCharacters(in: CharacterSet.whitespaces)) else {
        throw ServeError(.badRequest, "Inference-Header-Content-Length must be a byte count, got \(quoted(String(text.prefix(40))))")
    }
    return n
}

/// `work`'s answer as 200, or its `ServeError` as that status.
private func answer(_ work: () async throws -> Response) async throws -> Response {
    do { return try await work() } catch let error as ServeError {
        return json(HTTPResponse.Status(code: error.status.rawValue), error.body)
    }
}

private func known(_ context: BasicRequestContext, _ model: InferenceModel) throws {
    let name = context.parameters.get("name") ?? ""
    guard name == model.name else { throw ServeError(.notFound, "no model '\(name)' here; this server serves '\(model.name)'") }
}

/// At most `limit` requests admitted at once.
private final class Admission: @unchecked Sendable {
    let limit: Int
    private var count = 0
    private let lock = NSLock()
    init(limit: Int) { self.limit = limit }
    func enter() -> Bool { lock.withLock { guard count < limit else { return false }; count += 1; return true } }
    func leave() { lock.withLock { count -= 1 } }
}

/// One line per request on standard error (method, path, status, milliseconds), and its count in the metrics.
private struct RequestLog<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = Date()
        var status = 500
        defer {
            let ms = 1000 * Date().timeIntervalSince(start)
            FileHandle.standardError.write(Data(String(format: "%@ %@ %d %.1f ms\n", request.method.rawValue, request.uri.path, status, ms).utf8))
            metrics.request(route: context.endpointPath ?? "unmatched", status: status)
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as HTTPResponseError {
            status = error.status.code
            throw error
        }
    }
}
