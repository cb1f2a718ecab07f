import Foundation
import IPRTensor

/// What a checkpoint records beside the weights, so evaluation needs only the file
/// (safetensors `__metadata__`, all values strings).
public struct CheckpointInfo: Sendable, Equatable {
    /// Registered architecture name (`alexnet`).
    public var arch: String
    public var config: ModelConfig
    /// Dataset the model was trained on, and the normalisation its inputs need.
    public var dataset: String
    public var mean: [Float], std: [Float]
    /// Last completed epoch (0-based; -1 when none).
    public var epoch: Int
    /// Best test accuracy seen so far (0…1), for `best.safetensors` after a resume.
    public var bestAccuracy: Double
    /// Anything else (scheme, passport hashes, …), kept as is.
    public var extra: [String: String]

    public static let format = "swift-deepipr-checkpoint-1"

    public init(arch: String, config: ModelConfig, dataset: String, mean: [Float], std: [Float],
                epoch: Int = -1, bestAccuracy: Double = 0, extra: [String: String] = [:]) {
        self.arch = arch; self.config = config; self.dataset = dataset; self.mean = mean; self.std = std
        self.epoch = epoch; self.bestAccuracy = bestAccuracy; self.extra = extra
    }

    /// The safetensors metadata that records this info.
    public var metadata: [String: String] {
        var m = extra
        m["format"] = Self.format
        m["arch"] = arch
        m["classes"] = String(config.classes)
        m["input_size"] = String(config.inputSize)
        m["norm"] = config.norm.rawValue
        m["dataset"] = dataset
        m["mean"] = "[" + mean.map { "\($0)" }.joined(separator: ", ") + "]"
        m["std"] = "[" + std.map { "\($0)" }.joined(separator: ", ") + "]"
        m["epoch"] = String(epoch)
        m["best_accuracy"] = String(bestAccuracy)
        return m
    }

    /// The info a checkpoint's metadata records (errors name `source`).
    public init(metadata m: [String: String], source: String) throws {
        func field(_ k: String) throws -> String {
            guard let v = m[k] else {
                throw IPRTensorError(.invalidConfiguration, "\(source): checkpoint metadata has no '\(k)' (is it a swift-deepipr checkpoint? convert reference .pth files with Tools/convert_reference_checkpoint.py)")
            }
            return v
        }
        func int(_ k: String) throws -> Int {
            guard let v = Int(try field(k)) else { throw IPRTensorError(.invalidConfiguration, "\(source): metadata '\(k)' is '\(m[k]!)', expected an integer") }
            return v
        }
        func floats(_ k: String) throws -> [Float] {
            let text = try field(k)
            guard let data = text.data(using: .utf8), let values = try? JSONDecoder().decode([Float].self, from: data) else {
                throw IPRTensorError(.invalidConfiguration, "\(source): metadata '\(k)' is '\(text)', expected a JSON array of numbers")
            }
            return values
        }
        arch = try field("arch")
        guard let norm = NormKind(rawValue: try field("norm")) else {
            throw IPRTensorError(.invalidConfiguration, "\(source): metadata 'norm' is '\(m["norm"]!)', expected one of bn, gn, in, none")
        }
        config = ModelConfig(classes: try int("classes"), inputSize: try int("input_size"), norm: norm)
        dataset = m["dataset"] ?? "unknown"
        mean = try m["mean"] == nil ? [] : floats("mean")
        std = try m["std"] == nil ? [] : floats("std")
        epoch = Int(m["epoch"] ?? "") ?? -1
        bestAccuracy = Double(m["best_accuracy"] ?? "") ?? 0
        let known: Set = ["format", "arch", "classes", "input_size", "norm", "dataset", "mean", "std", "epoch", "best_accuracy"]
        extra = m.filter { !known.contains($0.key) }
    }
}

/// Model checkpoints: safetensors with PyTorch state-dict names and `CheckpointInfo` metadata,
/// written atomically.
public enum Checkpoint {
    /// Writes the model's state dict and `info` to `path` (temp file + rename).
    public static func save(_ model: any Layer, info: CheckpointInfo, to path: String) throws {
        try SafeTensors.write(model.stateDict(metadata: info.metadata), to: path)
    }

    /// Reads a checkpoint's metadata and tensors.
    public static func read(_ path: String) throws -> (info: CheckpointInfo, file: SafeTensorsFile) {
        let file = try SafeTensors.read(contentsOf: path)
        return (try CheckpointInfo(metadata: file.metadata, source: path), file)
    }

    /// Builds the recorded architecture (asking `blocks` for its conv blocks) and loads the weights.
    public static func load(_ path: String, blocks: any ConvBlockFactory = PlainBlockFactory(),
                            strict: Bool = true) throws -> (model: any Layer, info: CheckpointInfo) {
        let (info, file) = try read(path)
        let model = try Models.make(info.arch, config: info.config, blocks: blocks, seed: 0)
        try model.load(file, strict: strict, source: path)
        return (model, info)
    }
}
