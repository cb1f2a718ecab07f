import Foundation
import Testing
import IPRTensor
@testable import IPRModels

/// Reference architectures built in PyTorch (`Tools/golden/make_model_golden.py`, structurally
/// identical to kamwoh/DeepIPR's `alexnet_normal.py` / `resnet_normal.py`): their state dicts load
/// into ours by name, and the logits match in eval and train mode, batch-norm statistics included.
@Suite struct ReferenceParityTests {
    static let file: SafeTensorsFile? = try? SafeTensors.read(contentsOf: URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden/models.safetensors").path)

    /// The tensors of model `m` with the `m.` prefix removed.
    func stateDict(_ m: String) throws -> SafeTensorsFile {
        let file = try #require(Self.file, "Fixtures/golden/models.safetensors missing or unreadable")
        var sd = SafeTensorsFile()
        for name in file.names where name.hasPrefix(m + ".") {
            let key = String(name.dropFirst(m.count + 1))
            if ["input", "logits_eval", "logits_train"].contains(key) || key.hasPrefix("after_train.") { continue }
            sd.set(key, file[name]!)
        }
        return sd
    }

    func tensor(_ name: String) throws -> Tensor {
        let st = try #require(Self.file?[name], "no \(name) in models.safetensors")
        return Tensor(shape: st.shape, data: try st.floats())
    }

    @Test(arguments: ["alexnet", "resnet18", "resnet9"])
    func logitsMatchPyTorch(arch: String) throws {
        let reference = try stateDict(arch)
        let meta = try #require(Self.file?.metadata[arch])
        let keys = try #require((try JSONSerialization.jsonObject(with: Data(meta.utf8)) as? [String: Any])?["keys"] as? [String])

        let evalModel = try Models.make(arch, config: ModelConfig(classes: 10), seed: 99)
        #expect(evalModel.stateDict().names == keys, "state-dict keys and order must equal PyTorch's")
        try evalModel.load(reference, source: "models.safetensors[\(arch)]")
        let x = try tensor("\(arch).input")
        let expectedEval = try tensor("\(arch).logits_eval")
        let eval = noGrad { evalModel(x, .eval) }
        #expect(relativeError(eval, expectedEval) <= 1e-4, "\(arch) eval logits: max error \(relativeError(eval, expectedEval)) of the logit scale")

        let trainModel = try Models.make(arch, config: ModelConfig(classes: 10), seed: 98)
        try trainModel.load(reference)
        let train = noGrad { trainModel(x, .train) }
        let expectedTrain = try tensor("\(arch).logits_train")
        #expect(relativeError(train, expectedTrain) <= 1e-4, "\(arch) train logits: max error \(relativeError(train, expectedTrain))")
        for (name, entry) in trainModel.stateEntries where name.hasSuffix("running_mean") || name.hasSuffix("running_var") {
            guard case .buffer(let t, _) = entry else { continue }
            let expected = try tensor("\(arch).after_train.\(name)")
            #expect(relativeError(t, expected) <= 1e-4, "\(arch) \(name) after one training forward")
        }
    }
}

/// Max |a − b| / max |b|.
func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count, "relativeError: \(a.shape) vs \(b.shape)")
    var diff: Float = 0, scale: Float = 0
    for i in 0..<a.count {
        diff = max(diff, abs(a.pointer[i] - b.pointer[i]))
        scale = max(scale, abs(b.pointer[i]))
    }
    return diff / max(scale, 1e-6)
}
