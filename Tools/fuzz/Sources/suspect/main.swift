import Foundation
import IPRModels
import IPRPassport
import IPRTensor
import FuzzSupport

// The suspect loader `verify` and `dispute` read a thief's file with: the bytes as a safetensors file,
// then `PassportCheckpoint.loadSuspect` for a V2 claim — aligned to the owner's reference from
// weights alone (ChannelAlignment: shapes, permutations, scales, extra and missing channels, names
// under a prefix, F16/BF16) and rebuilt as the claim's architecture, and without a reference (a
// prefix stripped, the model description from the metadata). Either it loads or it throws.
//
// The model is a network of this target's own, small enough for libFuzzer's 8 KB inputs, registered
// with its channel graph as any user's architecture is. `IPR_FUZZ_WRITE_SEEDS=DIR` writes the seeds
// (the released reference, and copies of it permuted, widened, pruned, re-saved) and exits.

final class TinyNet: Layer {
    let stem: any Layer, block: any Layer, fc: Linear
    init(_ c: ModelConfig, _ blocks: any ConvBlockFactory, _ rng: inout RNG) throws {
        stem = try blocks.makeBlock(ConvBlockSpec(path: "stem", inChannels: 3, outChannels: 4, kernel: 3, norm: c.norm,
                                                  inputHeight: c.inputSize, inputWidth: c.inputSize), rng: &rng)
        block = try blocks.makeBlock(ConvBlockSpec(path: "block", inChannels: 4, outChannels: 8, kernel: 3, norm: c.norm,
                                                   inputHeight: c.inputSize, inputWidth: c.inputSize), rng: &rng)
        fc = Linear(8, c.classes, rng: &rng)
    }
    func visit(_ v: inout StateVisitor) { v.child("stem", stem); v.child("block", block); v.child("fc", fc) }
    func forward(_ x: Tensor, _ ctx: ForwardContext) -> Tensor {
        fc(adaptiveAvgPool2d(block(stem(x, ctx), ctx), outputSize: (1, 1)).flatten(), ctx)
    }
}

Models.registry.register("fuzznet", description: "the suspect fuzz target's network") { c, b, rng in try TinyNet(c, b, &rng) }
ChannelGraph.registry.register("fuzznet", description: "stem, block, fc") { _ in
    ChannelGraph(layers: [.init(path: "stem", input: ChannelGraph.input, output: "stem"), .init(path: "block", input: "stem", output: "block"),
                          .init(path: "fc", input: "block", output: ChannelGraph.logits, normalised: false)])
}

let config = ModelConfig(classes: 2, inputSize: 4)
let (model, factory) = try! PassportBlockFactory.makeModel("fuzznet", config: config, scheme: .v2,
                                                           passports: try! PassportConfig.parse(#"{"block": true}"#), seed: 1, passportSeed: 1)
let claim: Passport = {
    var passport = try! Passport.extract(from: model)
    passport.scheme = .v2
    return passport
}()
var info = CheckpointInfo(arch: "fuzznet", config: config, dataset: "synthetic", mean: [0, 0, 0], std: [1, 1, 1],
                          extra: try! PassportCheckpoint.metadata(scheme: .v2, factory: factory))
info.extra["released"] = "true"
let reference = PassportCheckpoint.contents(of: model, info: info)

if let dir = ProcessInfo.processInfo.environment["IPR_FUZZ_WRITE_SEEDS"] {
    let graph = try! ChannelGraph.registry.lookup("fuzznet")(config)
    let seeds: [(String, SafeTensorsFile)] = [
        ("released", reference),
        ("permuted", try! ChannelEdit.permute(reference, graph: graph, seed: 2, rescale: true)),
        ("widened", try! ChannelEdit.widen(reference, graph: graph, groups: ["block"], extra: 2, seed: 3)),
        ("pruned", try! ChannelEdit.removeChannels(reference, graph: graph, groups: ["block"], fraction: 0.25)),
        ("resaved-f16", try! ChannelEdit.resave(reference, prefix: "module.", precision: .f16)),
        ("resaved-bf16", try! ChannelEdit.resave(reference, prefix: "", precision: .bf16)),
    ]
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for (name, file) in seeds {
        let bytes = SafeTensors.encode(file)
        precondition(bytes.count <= 8192, "seed \(name) is \(bytes.count) bytes, over libFuzzer's -max_len")
        FileManager.default.createFile(atPath: dir + "/" + name + ".safetensors", contents: Data(bytes))
    }
    exit(0)
}

// libFuzzer calls in on the main thread; the globals above are set before it starts.
nonisolated(unsafe) let fuzzClaim = claim, fuzzReference = reference

func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let suspect = try? SafeTensors.decode(Array(input(data, size)), source: "<fuzz>") else { return 0 }
    _ = try? PassportCheckpoint.loadSuspect(suspect, source: "<fuzz>", claimedBy: fuzzClaim, reference: (fuzzReference, "reference"))
    _ = try? PassportCheckpoint.loadSuspect(suspect, source: "<fuzz>", claimedBy: fuzzClaim, reference: nil)
    return 0
}

fuzzMain(fuzz)
