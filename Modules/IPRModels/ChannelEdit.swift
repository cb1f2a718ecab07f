import Foundation
import IPRTensor

/// What a thief does to a stolen model's structure, on its state dict (`ChannelGraph` says which
/// tensors share channels): function-preserving permutations, positive scaling and dummy neurons
/// (Yan et al., KDD 2023 and USENIX Security 2023), and structured pruning, which is not.
/// `ChannelAlignment` undoes what can be undone.
public enum ChannelEdit {
    /// Every group's channels in a seeded random order, and with `rescale` each normalised layer's
    /// output channel scaled by a positive factor in [0.5, 2] (log-uniform): weights, convolution
    /// bias and running mean by it, running variance by its square — batch norm cancels it.
    public static func permute(_ file: SafeTensorsFile, graph: ChannelGraph, seed: UInt64, rescale: Bool) throws -> SafeTensorsFile {
        var rng = RNG(seed: seed, stream: 0x5045_524D)
        var maps: [String: ChannelAlignment.Mapping] = [:], scales: [String: [Float]] = [:]
        for layer in graph.layers where layer.output != ChannelGraph.logits && maps[layer.output] == nil {
            let n = try ChannelAlignment.weight(of: layer, in: file, "the model").shape[0]
            maps[layer.output] = .init(source: rng.permutation(n).map { Optional($0) })
        }
        for layer in graph.layers where rescale && layer.normalised {
            let n = try ChannelAlignment.weight(of: layer, in: file, "the model").shape[0]
            // remap divides by the scale it is given: the thief's factor is its inverse.
            scales[layer.path] = (0..<n).map { _ in 1 / Float(exp(Double(rng.uniform(-1, 1)) * log(2.0))) }
        }
        return try apply(file, graph: graph, maps: maps, scales: scales)
    }

    /// Dummy neurons: `extra` channels more in each of `groups`, with random weights in and zero
    /// weights out (neutral norm statistics), so the network computes what it computed.
    public static func widen(_ file: SafeTensorsFile, graph: ChannelGraph, groups: [String], extra: Int, seed: UInt64) throws -> SafeTensorsFile {
        var rng = RNG(seed: seed, stream: 0x5749_4445)
        var maps: [String: ChannelAlignment.Mapping] = [:]
        var sizes: [String: Int] = [:]
        for group in groups {
            guard let producer = graph.layers.first(where: { $0.output == group }) else {
                throw IPRTensorError(.invalidConfiguration, "no layer writes channel group '\(group)'")
            }
            let n = try ChannelAlignment.weight(of: producer, in: file, "the model").shape[0]
            maps[group] = .init(source: (0..<n).map { Optional($0) } + [Int?](repeating: nil, count: extra))
            sizes[group] = n
        }
        var out = try apply(file, graph: graph, maps: maps, scales: [:])
        // The new rows of every producer: random filters of the layer's own spread.
        for layer in graph.layers where maps[layer.output] != nil {
            for name in [layer.path + ".conv.weight", layer.path + ".weight"] {
                guard let t = out[name], t.shape.count >= 2 else { continue }
                var values = try t.floats()
                let per = values.count / t.shape[0], old = sizes[layer.output]!
                let spread = (values[0..<(old * per)].reduce(Float(0)) { $0 + $1 * $1 } / Float(old * per)).squareRoot()
                for k in (old * per)..<values.count { values[k] = rng.uniform(-1, 1) * spread * 1.7 }
                out.set(name, SafeTensor(floats: values, shape: t.shape))
            }
        }
        return out
    }

    /// Structured pruning: in each of `groups`, the `fraction` of channels whose producers' filters
    /// have the smallest L1 norm removed, with every weight that reads them.
    public static func removeChannels(_ file: SafeTensorsFile, graph: ChannelGraph, groups: [String], fraction: Double) throws -> SafeTensorsFile {
        var maps: [String: ChannelAlignment.Mapping] = [:]
        for group in groups {
            guard let producer = graph.layers.first(where: { $0.output == group }) else {
                throw IPRTensorError(.invalidConfiguration, "no layer writes channel group '\(group)'")
            }
            let w = try ChannelAlignment.weight(of: producer, in: file, "the model")
            let n = w.shape[0], per = w.values.count / n
            let norms = (0..<n).map { o in (0..<per).reduce(Float(0)) { $0 + abs(w.values[o * per + $1]) } }
            let drop = min(n - 1, Int((Double(n) * fraction).rounded()))
            let removed = Set((0..<n).sorted { norms[$0] != norms[$1] ? norms[$0] < norms[$1] : $0 < $1 }.prefix(drop))
            maps[group] = .init(source: (0..<n).filter { !removed.contains($0) }.map { Optional($0) })
        }
        return try apply(file, graph: graph, maps: maps, scales: [:])
    }

    /// The file as another tool re-saves it (`safetensors.torch.save_file` of an `nn.DataParallel`
    /// model in half precision): every name under `prefix`, F32 values stored as `precision` (F16,
    /// BF16, or F32: as they are), and no metadata.
    public static func resave(_ file: SafeTensorsFile, prefix: String, precision: SafeTensorsDType) throws -> SafeTensorsFile {
        var out = SafeTensorsFile()
        for name in file.names {
            let t = file[name]!
            switch (t.dtype, precision) {
            case (.f32, .f16): out.set(prefix + name, SafeTensor(halves: try t.floats(), shape: t.shape))
            case (.f32, .bf16): out.set(prefix + name, SafeTensor(bfloat16s: try t.floats(), shape: t.shape))
            default: out.set(prefix + name, t)
            }
        }
        return out
    }

    /// Every tensor of every layer in new channels: `maps[group]` lists, for each new channel of the
    /// group, the old one it is (nil: a new, zero channel); unlisted groups stay as they are.
    static func apply(_ file: SafeTensorsFile, graph: ChannelGraph, maps: [String: ChannelAlignment.Mapping],
                      scales: [String: [Float]]) throws -> SafeTensorsFile {
        let byPath = Dictionary(graph.layers.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var out = SafeTensorsFile(metadata: file.metadata)
        for name in file.names {
            let tensor = file[name]!
            guard let layer = ChannelAlignment.owner(of: name, in: byPath) else { out.set(name, tensor); continue }
            let shape = try ChannelAlignment.weightShape(of: layer, in: file)
            let channelsIn = shape[1] / (shape.count == 2 ? layer.positions : 1)
            let outMap = maps[layer.output] ?? .identity(shape[0]), inMap = maps[layer.input] ?? .identity(channelsIn)
            out.set(name, try ChannelAlignment.remap(name, tensor, out: outMap, input: inMap, positions: layer.positions,
                                                     scale: scales[layer.path], suspectOut: shape[0]))
        }
        return out
    }
}
