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
///   row-major (nested arrays are accepted too), or the same tensor as raw bytes after the JSON
///   (Triton's binary tensor data extension, `InferenceRequest`). FP32 is taken as already normalised;
///   UINT8 is normalised with the checkpoint's own statistics, exactly as `evaluate` does. The answer
///   has the logits and the argmax, as JSON or raw bytes as the request asks.
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

    /// Answers one infer request body (`InferenceRequest` says what it may hold).
    /// - Parameter headerLength: the request's `Inference-Header-Content-Length`, if it has one.
    /// - Throws: `ServeError` with a 4xx status and a message for anything malformed.
    public func infer(_ body: [UInt8], headerLength: Int? = nil) async throws -> InferenceAnswer {
        let request = try InferenceRequest.decode(body, headerLength: headerLength, side: side, maxBatch: limits.maxBatch)
        let images = input(request)
        let logits: [Float] = await withCheckedContinuation { done in
            queue.async { [self] in done.resume(returning: noGrad { self.model(images, .eval) }.array) }
        }
        return InferenceAnswer.encode(model: name, id: request.id, logits: logits, count: request.shape[0], classes: classes, outputs: request.outputs)
    }

    /// The request's input as a `[N, 3, side, side]` model input.
    func input(_ request: InferenceRequest) -> Tensor {
        switch request.datatype {
        case .fp32: return Tensor(shape: request.shape, data: request.values)
        // As to-tensor and normalise do it in the loaders: x / 255, then (x − mean) / std.
        case .uint8: return normalize(Tensor(shape: request.shape, data: request.values.map { $0 / 255 }))
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
