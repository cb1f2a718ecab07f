import Foundation
import IPRData
import IPRModels
import IPRTensor

/// A checkpoint's public path behind the Open Inference Protocol (KServe v2 REST; also Triton's and
/// Seldon's), without any HTTP: what `InferenceServer` answers, testable on bytes.
///
/// - metadata: `{"name", "platform", "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 3, H, W]}],
///   "outputs": [{"name": "logits", …, [-1, classes]}, {"name": "label", "datatype": "INT64", [-1]}]}`
/// - infer: `{"inputs": [{"name", "shape": [N, 3, H, W], "datatype": "FP32" | "UINT8", "data": [...]}]}`, data flat
///   row-major (nested arrays are accepted too). FP32 is taken as already normalised; UINT8 is
///   normalised with the checkpoint's own statistics, exactly as `evaluate` does. The answer has the
///   logits and the argmax.
public final class InferenceModel: @unchecked Sendable {
    public let name: String
    public let model: any Layer
    public let info: CheckpointInfo
    /// The input normalisation UINT8 requests get (the checkpoint's).
    public let normalize: Normalize
    public let limits: Limits
    /// Inference one request at a time: layers keep per-pass state and the kernels use every core.
    private let queue = DispatchQueue(label: "ipr.inference")

    public struct Limits: Sendable {
        /// Largest request body (bytes); larger ones get 413.
        public var maxBodyBytes = 64 << 20
        /// Largest batch N in one request; larger ones get 400.
        public var maxBatch = 256
        /// Requests admitted at once (running or waiting); more get 429.
        public var maxConcurrent = 128
        public init() {}
    }

    public init(name: String, model: any Layer, info: CheckpointInfo, normalize: Normalize, limits: Limits = Limits()) {
        self.name = name; self.model = model; self.info = info; self.normalize = normalize; self.limits = limits
    }

    var side: Int { info.config.inputSize }
    var classes: Int { info.config.classes }

    /// The model's metadata document.
    public func metadata() -> [UInt8] {
        let text = """
        {"name":\(quoted(name)),"versions":["1"],"platform":"swift-deepipr","inputs":[{"name":"input","datatype":"FP32","shape":[-1,3,\(side),\(side)]}],\
        "outputs":[{"name":"logits","datatype":"FP32","shape":[-1,\(classes)]},{"name":"label","datatype":"INT64","shape":[-1]}],\
        "parameters":{"arch":\(quoted(info.arch)),"dataset":\(quoted(info.dataset)),"uint8_input":"normalised with the model's mean and std"}}
        """
        return Array(text.utf8)
    }

    /// Answers one infer request body.
    /// - Throws: `ServeError` with a 4xx status and a message for anything malformed.
    public func infer(_ body: [UInt8]) async throws -> [UInt8] {
        let images = try parse(body)
        let logits: [Float] = await withCheckedContinuation { done in
            queue.async { [self] in done.resume(returning: noGrad { self.model(images, .eval) }.array) }
        }
        let n = images.shape[0]
        var out = "{\"model_name\":\(quoted(name)),\"model_version\":\"1\",\"outputs\":[{\"name\":\"logits\",\"datatype\":\"FP32\",\"shape\":[\(n),\(classes)],\"data\":["
        out += logits.map { $0.isFinite ? "\($0)" : "0" }.joined(separator: ",")
        out += "]},{\"name\":\"label\",\"datatype\":\"INT64\",\"shape\":[\(n)],\"data\":["
        out += (0..<n).map { i in String(argmax(logits[(i * classes)..<((i + 1) * classes)])) }.joined(separator: ",")
        out += "]}]}"
        return Array(out.utf8)
    }

    /// The request's input as a `[N, 3, side, side]` model input.
    func parse(_ body: [UInt8]) throws -> Tensor {
        let json: JSONValue
        switch Result(catching: { try JSONValue.parse(body) }) {
        case .success(let value): json = value
        case .failure(let e):
            let detail = (e as? JSONSyntaxError).map { "\($0.reason) at line \($0.line), column \($0.column)" } ?? "\(e)"
            throw ServeError(.badRequest, "request body is not JSON: \(detail)")
        }
        guard case .object(let top) = json, let inputsValue = top.first(where: { $0.key == "inputs" })?.value,
              case .array(let inputs) = inputsValue else {
            throw ServeError(.badRequest, "expected {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}")
        }
        guard inputs.count == 1, case .object(let input) = inputs[0] else {
            throw ServeError(.badRequest, "expected exactly one input tensor, got \(inputs.count)")
        }
        func field(_ key: String) -> JSONValue? { input.first { $0.key == key }?.value }
        guard case .string(let datatype)? = field("datatype") else { throw ServeError(.badRequest, "input needs \"datatype\": \"FP32\" or \"UINT8\"") }
        guard datatype == "FP32" || datatype == "UINT8" else {
            throw ServeError(.badRequest, "datatype \(datatype) is not accepted: send FP32 (normalised) or UINT8 (pixels 0…255)")
        }
        guard case .array(let dims)? = field("shape") else { throw ServeError(.badRequest, "input needs \"shape\": [N, 3, \(side), \(side)]") }
        let shape = dims.compactMap { v -> Int? in if case .number(let t) = v { return Int(t) } else { return nil } }
        guard shape.count == 4, shape.count == dims.count, shape[1] == 3, shape[2] == side, shape[3] == side, shape[0] >= 1 else {
            throw ServeError(.badRequest, "shape \(dims.map(\.summary)) does not fit this model: expected [N, 3, \(side), \(side)] with N ≥ 1")
        }
        guard shape[0] <= limits.maxBatch else {
            throw ServeError(.badRequest, "batch of \(shape[0]) is larger than this server's limit of \(limits.maxBatch)")
        }
        guard let data = field("data") else { throw ServeError(.badRequest, "input needs \"data\"") }
        var values: [Float] = []
        values.reserveCapacity(shape.reduce(1, *))
        try flatten(data, into: &values, limit: shape.reduce(1, *), uint8: datatype == "UINT8")
        guard values.count == shape.reduce(1, *) else {
            throw ServeError(.badRequest, "data has \(values.count) values, shape \(shape) needs \(shape.reduce(1, *))")
        }
        if datatype == "UINT8" {
            // As to-tensor and normalise do it in the loaders: x / 255, then (x − mean) / std.
            return normalize(Tensor(shape: shape, data: values.map { $0 / 255 }))
        }
        return Tensor(shape: shape, data: values)
    }

    private func flatten(_ value: JSONValue, into values: inout [Float], limit: Int, uint8: Bool) throws {
        switch value {
        case .array(let items):
            for item in items { try flatten(item, into: &values, limit: limit, uint8: uint8) }
        case .number(let text):
            guard values.count < limit else { throw ServeError(.badRequest, "data has more values than the shape's \(limit)") }
            guard let v = Float(text), v.isFinite else { throw ServeError(.badRequest, "data value \(text) is not a finite number") }
            if uint8 { guard v >= 0, v <= 255, v == v.rounded() else { throw ServeError(.badRequest, "UINT8 value \(text) is not an integer in 0…255") } }
            values.append(v)
        default:
            throw ServeError(.badRequest, "data must hold numbers, found \(value.summary)")
        }
    }
}

/// A request the server refuses, with the HTTP status it answers and why.
public struct ServeError: Error, Sendable {
    public enum Status: Int, Sendable { case badRequest = 400, notFound = 404, payloadTooLarge = 413, tooManyRequests = 429 }
    public let status: Status
    public let message: String
    public init(_ status: Status, _ message: String) { self.status = status; self.message = message }
    /// `{"error": "…"}`, as KServe servers answer.
    public var body: [UInt8] { Array("{\"error\":\(quoted(message))}".utf8) }
}

func argmax(_ values: ArraySlice<Float>) -> Int {
    var best = values.startIndex
    for i in values.indices where values[i] > values[best] { best = i }
    return best - values.startIndex
}

/// A JSON string literal.
func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
