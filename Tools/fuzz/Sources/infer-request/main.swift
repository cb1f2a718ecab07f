import Foundation
import IPRServe
import FuzzSupport

// The body of an Open Inference Protocol infer request, as `iprtool serve` decodes it: JSON, or a
// JSON header and raw tensor bytes (Triton's binary tensor data extension). The input's first byte
// picks the framing: odd, the next two bytes (little-endian) are the Inference-Header-Content-Length
// sent with the rest; even, no such header. Either the request decodes to a tensor of the shape it
// claims with values it may carry, or a ServeError refuses it.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(input(data, size))
    guard let first = bytes.first else { return 0 }
    let framed = first & 1 == 1 && bytes.count >= 3
    let header = framed ? Int(bytes[1]) | Int(bytes[2]) << 8 : nil
    let body = Array(bytes.dropFirst(framed ? 3 : 1))
    do {
        let request = try InferenceRequest.decode(body, headerLength: header, side: 4, maxBatch: 8)
        precondition(request.shape.count == 4 && request.shape[1...] == [3, 4, 4] && (1...8).contains(request.shape[0]), "shape \(request.shape)")
        precondition(request.values.count == request.shape.reduce(1, *), "\(request.values.count) values for \(request.shape)")
        precondition(request.values.allSatisfy(\.isFinite), "a value that is not finite")
        if request.datatype == .uint8 { precondition(request.values.allSatisfy { (0...255).contains($0) && $0 == $0.rounded() }, "a pixel out of range") }
        precondition(!request.outputs.isEmpty, "no outputs")
    } catch is ServeError {
    } catch {
        fatalError("not a ServeError: \(error)")
    }
    return 0
}

fuzzMain(fuzz)
