import AsyncHTTPClient
import IPRServe
import NIOCore
import NIOHTTP1

/// `model` served on a free loopback port while `body` runs. Tests that run beside others ask with
/// `fetch` (async): a blocking `.wait()` holds a thread of the cooperative pool, which on 2 cores the
/// servers of the suites running at the same time need for their handlers.
func withServer(_ model: InferenceModel, _ body: (String) async throws -> Void) async throws {
    let server = InferenceServer(model: model, port: 0)
    let (ports, bound) = AsyncStream<Int>.makeStream()
    let task = Task { try await server.run(signals: false) { bound.yield($0) } }
    defer { task.cancel() }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else { throw ServeClientError("the server did not start") }
    try await body("http://127.0.0.1:\(port)")
    task.cancel()
    try await task.value
}

/// One request; the status, headers and body of the answer.
func fetch(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws
    -> (status: Int, headers: HTTPHeaders, body: [UInt8]) {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    return (Int(response.status.code), response.headers, Array(buffer: try await response.body.collect(upTo: 16 << 20)))
}
