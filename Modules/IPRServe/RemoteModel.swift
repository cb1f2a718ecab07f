import AsyncHTTPClient
import Foundation
import IPRData
import IPRTensor
import NIOCore
import NIOHTTP1

/// A model behind an Open Inference Protocol endpoint, asked for labels: the black-box oracle of a
/// deployed model (`verify --endpoint`; IPRWorkflows makes it IPRBackdoor's `LabelOracle`). Images go as UINT8 pixels (raw
/// bytes where the server takes Triton's binary tensor data, JSON numbers elsewhere), so the server
/// normalises them as its model expects and the owner need not know how; each request has a deadline, failed or
/// refused ones (connection errors, 429, 5xx) are retried with a growing pause, and a query budget
/// caps the images sent.
public final class RemoteModel {
    public let endpoint: String
    public let name: String
    public let timeout: Double
    public let retries: Int
    /// Most images this oracle sends in all (nil: no cap).
    public let budget: Int?
    /// Images sent so far.
    public private(set) var queried = 0
    /// What the metadata says: input side and classes.
    public let inputSize: Int, classes: Int
    /// How the pixels travel.
    public let encoding: Encoding

    public enum Encoding: Sendable {
        /// A JSON list of numbers: every server takes it.
        case json
        /// Raw bytes after a JSON header (Triton's binary tensor data extension): a quarter of the
        /// bytes or less, for servers whose metadata (`GET /v2`) lists `binary_tensor_data`.
        case binary
    }

    /// Reads the model's metadata (`GET /v2/models/NAME`) and, unless `encoding` is given, whether
    /// the server takes binary tensor data (`GET /v2`; JSON when it does not say so).
    /// - Throws: `ServeClientError` for an unreachable endpoint, an unknown model or metadata this
    ///   client cannot use (an input that is not `[-1, 3, S, S]`).
    public init(endpoint: String, name: String, timeout: Double = 30, retries: Int = 2, budget: Int? = nil, encoding: Encoding? = nil) throws {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.name = name; self.timeout = timeout; self.retries = retries; self.budget = budget
        let (inputSize, classes) = try Self.shape(of: Self.send(.GET, self.endpoint + "/v2/models/\(name)", body: nil, timeout: timeout, retries: retries))
        self.inputSize = inputSize; self.classes = classes
        self.encoding = encoding ?? Self.detectEncoding(self.endpoint, timeout: timeout, retries: retries)
    }

    /// `.binary` when the server metadata lists the extension; `.json` when it does not, or when it has
    /// no server metadata this client can read (the model's metadata already showed it answers).
    static func detectEncoding(_ endpoint: String, timeout: Double, retries: Int) -> Encoding {
        guard let metadata = try? send(.GET, endpoint + "/v2", body: nil, timeout: timeout, retries: retries) else { return .json }
        guard case .object(let top) = metadata, case .array(let extensions)? = top.first(where: { $0.key == "extensions" })?.value else { return .json }
        return extensions.contains(.string("binary_tensor_data")) ? .binary : .json
    }

    /// What `predict` takes: to-tensor's pixels / 255, not normalised (pass it as the trigger batches' `normalize`).
    public static let pixelInput = Normalize(mean: [0], std: [1])

    /// Predicted classes of `[N, 3, S, S]` images holding pixels / 255 (`pixelInput`).
    public func predict(_ images: Tensor) throws -> [Int] {
        let n = images.shape[0]
        if let budget, queried + n > budget {
            throw ServeClientError("query budget of \(budget) images spent (\(queried) sent, \(n) more asked)")
        }
        let pixels = images.array.map { UInt8(Int(($0 * 255).rounded()).clamped(0, 255)) }
        let shape = images.shape.map(String.init).joined(separator: ",")
        // Only the labels come back, as JSON.
        let answer: JSONValue
        switch encoding {
        case .json:
            let body = "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"UINT8\",\"shape\":[\(shape)],\"data\":[\(pixels.map(String.init).joined(separator: ","))]}],\"outputs\":[{\"name\":\"label\"}]}"
            answer = try Self.send(.POST, endpoint + "/v2/models/\(name)/infer", body: Array(body.utf8), timeout: timeout, retries: retries)
        case .binary:
            let header = Array("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"UINT8\",\"shape\":[\(shape)],\"parameters\":{\"binary_data_size\":\(pixels.count)}}],\"outputs\":[{\"name\":\"label\"}]}".utf8)
            answer = try Self.send(.POST, endpoint + "/v2/models/\(name)/infer", body: header + pixels, timeout: timeout, retries: retries,
                                   headers: ["Content-Type": "application/octet-stream", "Inference-Header-Content-Length": String(header.count)])
        }
        queried += n
        guard case .object(let top) = answer, case .array(let outputs)? = top.first(where: { $0.key == "outputs" })?.value,
              let label = outputs.first(where: { if case .object(let o) = $0, o.contains(where: { $0.key == "name" && $0.value == .string("label") }) { true } else { false } }),
              case .object(let fields) = label, case .array(let data)? = fields.first(where: { $0.key == "data" })?.value else {
            throw ServeClientError("\(endpoint): the infer answer has no \"label\" output")
        }
        let labels = data.compactMap { v -> Int? in if case .number(let t) = v { Int(t) } else { nil } }
        guard labels.count == n else { throw ServeClientError("\(endpoint): \(labels.count) labels for \(n) images") }
        return labels
    }

    static func shape(of metadata: JSONValue) throws -> (Int, Int) {
        func dims(_ list: String) -> [Int]? {
            guard case .object(let top) = metadata, case .array(let tensors)? = top.first(where: { $0.key == "\(list)" })?.value,
                  case .object(let first)? = tensors.first, case .array(let shape)? = first.first(where: { $0.key == "shape" })?.value else { return nil }
            return shape.compactMap { if case .number(let t) = $0 { Int(t) } else { nil } }
        }
        guard let input = dims("inputs"), input.count == 4, input[1] == 3, input[2] == input[3], input[2] > 0,
              let output = dims("outputs"), output.count == 2, output[1] > 1 else {
            throw ServeClientError("the model's metadata does not describe [-1, 3, S, S] images in and [-1, classes] out")
        }
        return (input[2], output[1])
    }

    /// One request, retried; the answer's JSON.
    static func send(_ method: HTTPMethod, _ url: String, body: [UInt8]?, timeout: Double, retries: Int,
                     headers: HTTPHeaders = ["Content-Type": "application/json"]) throws -> JSONValue {
        var lastProblem = ""
        for attempt in 0...max(retries, 0) {
            if attempt > 0 { Thread.sleep(forTimeInterval: 0.25 * Double(1 << (attempt - 1))) }
            let response: HTTPClient.Response
            do {
                let request = try HTTPClient.Request(url: url, method: method, headers: headers,
                                                     body: body.map { .bytes($0) })
                response = try HTTPClient.shared.execute(request: request, deadline: .now() + .milliseconds(Int64(timeout * 1000))).wait()
            } catch {
                lastProblem = "\(error)"
                continue
            }
            let bytes = response.body.map { Array(buffer: $0) } ?? []
            let code = Int(response.status.code)
            if code == 429 || code >= 500 { lastProblem = "HTTP \(code)"; continue }
            guard code == 200 else {
                let message = (try? JSONValue.parse(bytes)).flatMap { v -> String? in
                    if case .object(let o) = v, case .string(let m)? = o.first(where: { $0.key == "error" })?.value { m } else { nil }
                } ?? String(decoding: bytes.prefix(200), as: UTF8.self)
                throw ServeClientError("\(url): HTTP \(code): \(message)")
            }
            do { return try JSONValue.parse(bytes) } catch { throw ServeClientError("\(url): the answer is not JSON") }
        }
        throw ServeClientError("\(url): no answer after \(max(retries, 0) + 1) attempts (\(lastProblem))")
    }
}

/// What went wrong asking a remote model.
public struct ServeClientError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Int {
    fileprivate func clamped(_ low: Int, _ high: Int) -> Int { Swift.min(Swift.max(self, low), high) }
}
