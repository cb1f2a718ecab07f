import AsyncHTTPClient
import Foundation
import IPRData
import IPRModels
import IPRServe
import IPRTensor
import IPRTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// Triton's binary tensor data extension (what `tritonclient` sends by default): the same images as
/// JSON numbers, as raw UINT8 bytes or as raw FP32 bytes give the very same logits; binary outputs
/// decode to the JSON answer's values; every malformed body is a 400 with a message.
@Suite struct BinaryTensorDataTests {
    static let side = 8, classes = 10

    static func model() throws -> InferenceModel {
        _ = TwoBlockNet.registered
        let config = ModelConfig(classes: classes, inputSize: side)
        let info = CheckpointInfo(arch: "twoblocknet", config: config, dataset: "test", mean: Normalize.imageNet.mean, std: Normalize.imageNet.std)
        return InferenceModel(name: "suspect", model: try Models.make("twoblocknet", config: config, seed: 3), info: info, normalize: .imageNet)
    }

    /// Seeded pixels of `n` images.
    static func pixels(_ n: Int) -> [UInt8] {
        var rng = RNG(seed: 11)
        return (0..<(n * 3 * side * side)).map { _ in UInt8(rng.int(below: 256)) }
    }

    static func header(_ n: Int, _ datatype: String, bytes: Int, extra: String = "") -> [UInt8] {
        Array(#"{"inputs":[{"name":"input","shape":[\#(n),3,\#(side),\#(side)],"datatype":"\#(datatype)","parameters":{"binary_data_size":\#(bytes)}}]\#(extra)}"#.utf8)
    }

    /// The JSON part of an answer and its outputs' bytes.
    static func split(_ answer: InferenceAnswer) throws -> (json: JSONValue, raw: ArraySlice<UInt8>) {
        let h = answer.headerLength ?? answer.body.count
        return (try JSONValue.parse(Array(answer.body[..<h])), answer.body[h...])
    }

    static func output(_ json: JSONValue, _ name: String) -> [(key: String, value: JSONValue)]? {
        guard case .object(let top) = json, case .array(let outputs)? = top.first(where: { $0.key == "outputs" })?.value else { return nil }
        for case .object(let o) in outputs where o.contains(where: { $0.key == "name" && $0.value == .string(name) }) { return o }
        return nil
    }

    static func numbers(_ json: JSONValue, _ name: String) -> [String] {
        guard let o = output(json, name), case .array(let data)? = o.first(where: { $0.key == "data" })?.value else { return [] }
        return data.compactMap { if case .number(let t) = $0 { t } else { nil } }
    }

    @Test func binaryInputsAndOutputsCarryTheSameValuesAsJSON() async throws {
        let model = try Self.model()
        let n = 3, px = Self.pixels(n)
        let viaJSON = try await model.infer(Array(#"{"inputs":[{"name":"input","shape":[\#(n),3,8,8],"datatype":"UINT8","data":[\#(px.map(String.init).joined(separator: ","))]}]}"#.utf8))
        #expect(viaJSON.headerLength == nil)
        let (json, _) = try Self.split(viaJSON)
        let logits = Self.numbers(json, "logits"), labels = Self.numbers(json, "label")
        #expect(logits.count == n * Self.classes && labels.count == n)

        // UINT8 bytes, both outputs asked for as raw bytes (tritonclient's default when it names none).
        let h = Self.header(n, "UINT8", bytes: px.count, extra: #","parameters":{"binary_data_output":true}"#)
        let viaBytes = try await model.infer(h + px, headerLength: h.count)
        let header = try #require(viaBytes.headerLength)
        let (bjson, raw) = try Self.split(viaBytes)
        #expect(String(decoding: viaBytes.body[..<header], as: UTF8.self).contains(#""binary_data_size":\#(4 * n * Self.classes)"#))
        #expect(raw.count == 4 * n * Self.classes + 8 * n)
        let rawLogits = stride(from: raw.startIndex, to: raw.startIndex + 4 * n * Self.classes, by: 4).map { i in
            Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
        }
        let rawLabels = stride(from: raw.startIndex + 4 * n * Self.classes, to: raw.endIndex, by: 8).map { i in
            (0..<8).reduce(Int64(0)) { $0 | Int64(raw[i + $1]) << (8 * Int64($1)) }
        }
        #expect(rawLogits.map { "\($0)" } == logits, "the bytes are the JSON answer's logits, bit for bit")
        #expect(rawLabels.map { "\($0)" } == labels)
        #expect(Self.numbers(bjson, "logits").isEmpty, "a binary output has no data in the JSON")

        // FP32 bytes of the normalised images, only the label asked for, as JSON.
        let normalised = model.normalize(Tensor(shape: [n, 3, 8, 8], data: px.map { Float($0) / 255 })).array
        var floats: [UInt8] = []
        for v in normalised { withUnsafeBytes(of: v.bitPattern.littleEndian) { floats.append(contentsOf: $0) } }
        let fh = Self.header(n, "FP32", bytes: floats.count, extra: #","outputs":[{"name":"label","parameters":{"binary_data":false}}]"#)
        let viaFloats = try await model.infer(fh + floats, headerLength: fh.count)
        #expect(viaFloats.headerLength == nil)
        let fjson = try JSONValue.parse(viaFloats.body)
        #expect(Self.numbers(fjson, "label") == labels && Self.output(fjson, "logits") == nil)

        // Triton's rule: binary_data_output is the default of every listed output that does not say;
        // the request's id comes back.
        let listed = Self.header(n, "UINT8", bytes: px.count,
                                 extra: #","id":"r7","parameters":{"binary_data_output":true},"outputs":[{"name":"label"},{"name":"logits","parameters":{"binary_data":false}}]"#)
        let mixed = try await model.infer(listed + px, headerLength: listed.count)
        let (mjson, mraw) = try Self.split(mixed)
        #expect(mraw.count == 8 * n && Self.numbers(mjson, "label").isEmpty && Self.numbers(mjson, "logits") == logits)
        guard case .object(let top) = mjson else { Issue.record("answer is not an object"); return }
        #expect(top.first(where: { $0.key == "id" })?.value == .string("r7"))
    }

    @Test func everyMalformedBinaryBodyIsA400WithAMessage() async throws {
        let model = try Self.model()
        let px = Self.pixels(1)
        let good = Self.header(1, "UINT8", bytes: px.count)
        let nan = withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Array($0) }
        let json = px.map(String.init).joined(separator: ",")
        let sized = { (datatype: String, bytes: Int) in Self.header(1, datatype, bytes: bytes) }
        let both = Array(#"{"inputs":[{"name":"input","shape":[1,3,8,8],"datatype":"UINT8","data":[1],"parameters":{"binary_data_size":192}}]}"#.utf8)
        let textSize = Array(#"{"inputs":[{"name":"input","shape":[1,3,8,8],"datatype":"UINT8","parameters":{"binary_data_size":"192"}}]}"#.utf8)
        // (what, body, the Inference-Header-Content-Length sent, what the message says)
        let cases: [(String, [UInt8], Int?, String)] = [
            ("bytes without the header", good + px, nil, "needs the Inference-Header-Content-Length header"),
            ("header past the body", good + px, good.count + px.count + 1, "does not fit a body"),
            ("header of zero", good + px, 0, "does not fit a body"),
            ("header cutting the JSON", good + px, good.count - 5, "not JSON"),
            ("body shorter than the size", good + px.dropLast(10), good.count, "ends 10 bytes before"),
            ("bytes no input claims", good + px + [1, 2, 3], good.count, "3 bytes after the JSON header"),
            ("size against the shape", sized("UINT8", 7) + px, sized("UINT8", 7).count, "does not match shape"),
            ("FP32 size of UINT8", sized("FP32", px.count) + px, sized("FP32", px.count).count, "does not match shape"),
            ("a size that is not a count", textSize + px, textSize.count, "must be a byte count"),
            ("data and bytes", both + px, both.count, "both \"data\" and binary_data_size"),
            ("a NaN in FP32 bytes", sized("FP32", 4 * px.count) + Array(Array(repeating: nan, count: px.count).joined()), sized("FP32", 4 * px.count).count, "not a finite number"),
            ("an unknown output", Array(#"{"inputs":[{"name":"input","shape":[1,3,8,8],"datatype":"UINT8","data":[\#(json)]}],"outputs":[{"name":"probs"}]}"#.utf8), nil, "no output 'probs'"),
            ("a flag that is not a boolean", Array(#"{"inputs":[{"name":"input","shape":[1,3,8,8],"datatype":"UINT8","data":[\#(json)]}],"parameters":{"binary_data_output":1}}"#.utf8), nil, "must be true or false"),
        ]
        for (what, body, header, message) in cases {
            do {
                _ = try await model.infer(body, headerLength: header)
                Issue.record("\(what): accepted")
            } catch let error as ServeError {
                #expect(error.status == .badRequest && error.message.contains(message), "\(what): \(error.message)")
            }
        }
    }

    /// Seeded mutations of a valid binary body (bytes flipped, cut, inserted; header lengths moved):
    /// each is answered or refused with a `ServeError`, never a crash or another error.
    @Test func mutatedBodiesAreAnsweredOrRefused() async throws {
        let model = try Self.model()
        let px = Self.pixels(2)
        let seed = Self.header(2, "UINT8", bytes: px.count, extra: #","outputs":[{"name":"label","parameters":{"binary_data":true}}]"#)
        var rng = RNG(seed: 5)
        var answered = 0, refused = 0
        for _ in 0..<400 {
            var body = seed + px
            var header: Int? = seed.count
            for _ in 0..<(1 + rng.int(below: 4)) {
                switch rng.int(below: 5) {
                case 0: body[rng.int(below: body.count)] = UInt8(rng.int(below: 256))
                case 1: body.removeLast(rng.int(below: min(body.count, 64)))
                case 2: body.insert(UInt8(rng.int(below: 256)), at: rng.int(below: body.count + 1))
                case 3: header = rng.int(below: body.count + 8)
                default: header = nil
                }
                if body.isEmpty { body = [0] }
            }
            do {
                let request = try InferenceRequest.decode(body, headerLength: header, side: Self.side, maxBatch: 8)
                // What a decoded request may hold, whatever the bytes were.
                #expect(request.shape.count == 4 && request.shape[1...] == [3, 8, 8] && (1...8).contains(request.shape[0]))
                #expect(request.values.count == request.shape.reduce(1, *) && request.values.allSatisfy { request.datatype == .uint8 ? (0...255).contains($0) : $0.isFinite })
                _ = try await model.infer(body, headerLength: header)
                answered += 1
            } catch is ServeError { refused += 1 }
        }
        #expect(answered > 0 && refused > 0, "the mutations reach both outcomes: \(answered) answered, \(refused) refused")
    }

    /// Over HTTP: the request's Inference-Header-Content-Length reaches the model, the answer carries
    /// its own, `GET /v2` names the extension, and a header that is not a count is a 400.
    @Test func theServerSpeaksTheExtensionOverHTTP() async throws {
        let model = try Self.model()
        let px = Self.pixels(1)
        let h = Self.header(1, "UINT8", bytes: px.count, extra: #","parameters":{"binary_data_output":true}"#)
        let local = try await model.infer(h + px, headerLength: h.count)
        try await withServer(model) { endpoint in
            func post(_ length: String) async throws -> (status: Int, headers: HTTPHeaders, body: [UInt8]) {
                try await fetch(endpoint + "/v2/models/suspect/infer", method: .POST,
                                headers: [("Inference-Header-Content-Length", length), ("Content-Type", "application/octet-stream")], body: h + px)
            }
            let ok = try await post(String(h.count))
            #expect(ok.status == 200 && ok.headers["Inference-Header-Content-Length"].first == String(local.headerLength ?? -1))
            #expect(ok.headers["Content-Type"].first == "application/octet-stream")
            #expect(ok.body == local.body)
            let bad = try await post("twelve")
            #expect(bad.status == 400 && String(decoding: bad.body, as: UTF8.self).contains("must be a byte count"))
            let server = try await fetch(endpoint + "/v2")
            #expect(server.status == 200 && String(decoding: server.body, as: UTF8.self).contains("binary_tensor_data"))
        }
    }
}
