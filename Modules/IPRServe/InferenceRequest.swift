import IPRTensor

/// One infer request of the Open Inference Protocol, decoded and checked, with Triton's binary tensor
/// data extension (what `tritonclient` sends by default):
///
/// - Without the `Inference-Header-Content-Length` HTTP header the whole body is JSON:
///   `{"inputs": [{"name", "shape": [N, 3, S, S], "datatype": "FP32" | "UINT8", "data": [...]}]}`.
/// - With it, the body's first `headerLength` bytes are that JSON and the rest is raw tensor bytes:
///   an input with `"parameters": {"binary_data_size": K}` has no `"data"` and takes the next K bytes
///   (FP32 little-endian, UINT8 as is; K must be the shape's count × the element size).
/// - Outputs: `"outputs": [{"name": "logits" | "label"}]` picks the outputs (default: both); each goes
///   as raw bytes when its `"parameters"` say `"binary_data": true`, or, where it does not say, when
///   the request's `"parameters"` say `"binary_data_output": true` (Triton's rule).
/// - A request `"id"` is echoed in the answer.
///
/// Every malformed request is a `ServeError` 400 that says what is wrong; the decoder never reads
/// past the body, whatever the sizes claim.
public struct InferenceRequest: Sendable {
    public enum Datatype: String, Sendable { case fp32 = "FP32", uint8 = "UINT8" }

    /// `[N, 3, S, S]`.
    public var shape: [Int]
    public var datatype: Datatype
    /// The input's values in row-major order: as sent for FP32, the pixel values 0…255 for UINT8.
    public var values: [Float]
    /// The outputs to answer with, in order, and whether each goes as raw bytes.
    public var outputs: [(name: String, binary: Bool)]
    /// The request's `"id"`, echoed in the answer.
    public var id: String?

    /// The outputs this server has.
    public static let outputNames = ["logits", "label"]

    /// Decodes `body` for a model of `side`×`side` images, at most `maxBatch` of them.
    /// - Parameter headerLength: the `Inference-Header-Content-Length` header's value, if sent.
    public static func decode(_ body: [UInt8], headerLength: Int?, side: Int, maxBatch: Int) throws -> InferenceRequest {
        let jsonEnd = try jsonLength(of: body, header: headerLength)
        var binary = body[jsonEnd...]
        let top = try object(parsing: body[..<jsonEnd], headerSent: headerLength != nil)
        guard case .array(let inputs)? = member(top, "inputs") else {
            throw ServeError(.badRequest, "expected {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}")
        }
        guard inputs.count == 1, case .object(let input) = inputs[0] else {
            throw ServeError(.badRequest, "expected exactly one input tensor, got \(inputs.count)")
        }
        guard case .string(let typeName)? = member(input, "datatype") else { throw ServeError(.badRequest, "input needs \"datatype\": \"FP32\" or \"UINT8\"") }
        guard let datatype = Datatype(rawValue: typeName) else {
            throw ServeError(.badRequest, "datatype \(typeName) is not accepted: send FP32 (normalised) or UINT8 (pixels 0…255)")
        }
        guard case .array(let dims)? = member(input, "shape") else { throw ServeError(.badRequest, "input needs \"shape\": [N, 3, \(side), \(side)]") }
        let shape = dims.compactMap { v -> Int? in if case .number(let t) = v { return Int(t) } else { return nil } }
        guard shape.count == 4, shape.count == dims.count, shape[1] == 3, shape[2] == side, shape[3] == side, shape[0] >= 1 else {
            throw ServeError(.badRequest, "shape \(dims.map(\.summary)) does not fit this model: expected [N, 3, \(side), \(side)] with N ≥ 1")
        }
        guard shape[0] <= maxBatch else {
            throw ServeError(.badRequest, "batch of \(shape[0]) is larger than this server's limit of \(maxBatch)")
        }
        let count = shape.reduce(1, *)
        var values: [Float] = []
        values.reserveCapacity(count)
        if let size = try binarySize(input, "input") {
            guard member(input, "data") == nil else { throw ServeError(.badRequest, "input has both \"data\" and binary_data_size: send one") }
            let needed = count * (datatype == .fp32 ? 4 : 1)
            guard size == needed else {
                throw ServeError(.badRequest, "binary_data_size \(size) does not match shape \(shape) of \(typeName): \(needed) bytes")
            }
            guard binary.count >= size else {
                throw ServeError(.badRequest, "the body ends \(size - binary.count) bytes before the input's \(size) bytes of binary data")
            }
            try read(binary.prefix(size), as: datatype, into: &values)
            binary = binary.dropFirst(size)
        } else {
            guard let data = member(input, "data") else { throw ServeError(.badRequest, "input needs \"data\" (or binary data: parameters.binary_data_size)") }
            try flatten(data, into: &values, limit: count, uint8: datatype == .uint8)
            guard values.count == count else {
                throw ServeError(.badRequest, "data has \(values.count) values, shape \(shape) needs \(count)")
            }
        }
        guard binary.isEmpty else {
            throw ServeError(.badRequest, "\(binary.count) bytes after the JSON header that no input claims (binary_data_size)")
        }
        var id: String?
        if let value = member(top, "id") {
            guard case .string(let text) = value else { throw ServeError(.badRequest, "\"id\" must be a string, found \(value.summary)") }
            id = text
        }
        return InferenceRequest(shape: shape, datatype: datatype, values: values, outputs: try requestedOutputs(top), id: id)
    }

    /// Where the JSON part of the body ends.
    static func jsonLength(of body: [UInt8], header: Int?) throws -> Int {
        guard let header else { return body.count }
        guard header > 0, header <= body.count else {
            throw ServeError(.badRequest, "Inference-Header-Content-Length \(header) does not fit a body of \(body.count) bytes")
        }
        return header
    }

    static func object(parsing json: ArraySlice<UInt8>, headerSent: Bool) throws -> [(key: String, value: JSONValue)] {
        let value: JSONValue
        do { value = try JSONValue.parse(Array(json)) } catch {
            throw ServeError(.badRequest, "request body is not JSON: \(error.reason) at line \(error.line), column \(error.column)"
                             + (headerSent ? "" : " (a body with binary tensor data needs the Inference-Header-Content-Length header)"))
        }
        guard case .object(let top) = value else {
            throw ServeError(.badRequest, "expected {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}")
        }
        return top
    }

    static func member(_ object: [(key: String, value: JSONValue)], _ key: String) -> JSONValue? {
        object.first { $0.key == key }?.value
    }

    /// `parameters.binary_data_size` of a tensor, if it has one.
    static func binarySize(_ tensor: [(key: String, value: JSONValue)], _ what: String) throws -> Int? {
        guard case .object(let parameters)? = member(tensor, "parameters"), let size = member(parameters, "binary_data_size") else { return nil }
        guard case .number(let text) = size, let n = Int(text), n >= 0 else {
            throw ServeError(.badRequest, "\(what)'s binary_data_size must be a byte count, found \(size.summary)")
        }
        return n
    }

    /// A boolean parameter (`binary_data`, `binary_data_output`); nil when absent.
    static func flag(_ object: [(key: String, value: JSONValue)], _ key: String) throws -> Bool? {
        guard case .object(let parameters)? = member(object, "parameters"), let value = member(parameters, key) else { return nil }
        guard case .bool(let on) = value else { throw ServeError(.badRequest, "parameter \(key) must be true or false, found \(value.summary)") }
        return on
    }

    static func requestedOutputs(_ top: [(key: String, value: JSONValue)]) throws -> [(name: String, binary: Bool)] {
        let binaryByDefault = try flag(top, "binary_data_output") ?? false
        guard let listed = member(top, "outputs") else { return outputNames.map { ($0, binaryByDefault) } }
        guard case .array(let items) = listed, !items.isEmpty else {
            throw ServeError(.badRequest, "\"outputs\" must list the outputs wanted, e.g. [{\"name\": \"label\"}]")
        }
        return try items.map { item in
            guard case .object(let output) = item, case .string(let name)? = member(output, "name") else {
                throw ServeError(.badRequest, "each requested output needs a \"name\"")
            }
            guard outputNames.contains(name) else {
                throw ServeError(.badRequest, "no output '\(name)': this model has \(outputNames.joined(separator: " and "))")
            }
            return (name, try flag(output, "binary_data") ?? binaryByDefault)
        }
    }

    static func read(_ bytes: ArraySlice<UInt8>, as datatype: Datatype, into values: inout [Float]) throws {
        switch datatype {
        case .uint8:
            values.append(contentsOf: bytes.map(Float.init))
        case .fp32:
            var i = bytes.startIndex
            while i < bytes.endIndex {
                let bits = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
                let v = Float(bitPattern: bits)
                guard v.isFinite else { throw ServeError(.badRequest, "binary FP32 value \(values.count) is not a finite number") }
                values.append(v)
                i += 4
            }
        }
    }

    static func flatten(_ value: JSONValue, into values: inout [Float], limit: Int, uint8: Bool) throws {
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

/// An infer answer: JSON, or with binary outputs a JSON header followed by their bytes.
public struct InferenceAnswer: Sendable {
    public var body: [UInt8]
    /// The JSON header's length when outputs follow as raw bytes (the `Inference-Header-Content-Length`
    /// the server sends); nil for an all-JSON answer.
    public var headerLength: Int?
    /// Images answered.
    public var images: Int

    /// `logits` (`[N, classes]`) and the argmax labels, as `outputs` asks for them. A logit that is not
    /// finite (an input of huge FP32 values can overflow) goes as 0 in both encodings — JSON has no
    /// NaN — so that JSON and bytes always carry the same values.
    static func encode(model: String, id: String?, logits raw: [Float], count n: Int, classes: Int, outputs: [(name: String, binary: Bool)]) -> InferenceAnswer {
        let logits = raw.map { $0.isFinite ? $0 : 0 }
        let labels = (0..<n).map { i in argmax(logits[(i * classes)..<((i + 1) * classes)]) }
        var json = "{\"model_name\":\(quoted(model)),\"model_version\":\"1\"" + (id.map { ",\"id\":\(quoted($0))" } ?? "") + ",\"outputs\":["
        var raw: [UInt8] = []
        for (k, output) in outputs.enumerated() {
            let logitsOut = output.name == "logits"
            json += k > 0 ? "," : ""
            json += logitsOut ? "{\"name\":\"logits\",\"datatype\":\"FP32\",\"shape\":[\(n),\(classes)]"
                              : "{\"name\":\"label\",\"datatype\":\"INT64\",\"shape\":[\(n)]"
            if output.binary {
                let start = raw.count
                if logitsOut {
                    for v in logits { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
                } else {
                    for l in labels { withUnsafeBytes(of: Int64(l).littleEndian) { raw.append(contentsOf: $0) } }
                }
                json += ",\"parameters\":{\"binary_data_size\":\(raw.count - start)}}"
            } else {
                json += ",\"data\":["
                json += logitsOut ? logits.map { "\($0)" }.joined(separator: ",") : labels.map(String.init).joined(separator: ",")
                json += "]}"
            }
        }
        json += "]}"
        let header = Array(json.utf8)
        return outputs.contains(where: \.binary) ? InferenceAnswer(body: header + raw, headerLength: header.count, images: n)
                                                 : InferenceAnswer(body: header, headerLength: nil, images: n)
    }
}
