import IPRModels
import IPRPassport
import IPRTensor
import FuzzSupport

// Passport configs (the reference's JSON: true / false / a signature text per block, nested as the
// model is): parsed, then placed on AlexNet's blocks as training does.
let alexnet: [ConvBlockSpec] = {
    let factory = PassportBlockFactory(scheme: .v1, config: try! PassportConfig(leaves: []), passportSeed: 0)
    _ = try! Models.make("alexnet", config: ModelConfig(classes: 10), blocks: factory, seed: 0)
    return factory.specs
}()

func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let config = try? PassportConfig.parse(Array(input(data, size)), source: "<fuzz>") else { return 0 }
    if let placements = try? config.passportLayers(in: alexnet) {
        for p in placements { _ = try? p.makeSignature(key: Tensor.ones([1, 1, 1, 1]), skey: Tensor.ones([1, 1, 1, 1])) }
    }
    return 0
}

fuzzMain(fuzz)
