import IPRTensor
import FuzzSupport

// The safetensors reader on arbitrary bytes: a file either decodes — and then every tensor's data
// converts and the file survives an encode/decode round trip unchanged — or throws. Anything else
// (a trap, an address error, a leak, a huge allocation) is a finding.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(input(data, size))
    guard let file = try? SafeTensors.decode(bytes, source: "<fuzz>") else { return 0 }
    for name in file.names {
        let tensor = file[name]!
        _ = try? tensor.floats()
        _ = try? tensor.int64s()
    }
    let again = try! SafeTensors.decode(SafeTensors.encode(file), source: "<fuzz round trip>")
    precondition(again == file, "safetensors round trip changed the file")
    return 0
}

fuzzMain(fuzz)
