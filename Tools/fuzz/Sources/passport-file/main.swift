import IPRPassport
import FuzzSupport

// The passport-file loader (metadata, layer list, key shapes, ±1 signature bits): it reads a file a
// claimant hands over. A passport that loads is also written and read back unchanged.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = Scratch.write(input(data, size), as: "passport.safetensors")
    guard let passport = try? Passport.read(path) else { return 0 }
    let copy = Scratch.folder + "/copy.safetensors"
    try! passport.write(to: copy)
    let again = try! Passport.read(copy)
    precondition(again.layers.map(\.path) == passport.layers.map(\.path) && again.scheme == passport.scheme,
                 "passport round trip changed the file")
    return 0
}

fuzzMain(fuzz)
