import Foundation
import IPRTensor

/// How much of a suspect is the reference model, layer by layer (the `alignment` of a verification
/// report).
public struct AlignmentReport: Sendable, Codable, Equatable {
    public struct LayerEvidence: Sendable, Codable, Equatable {
        public var path: String
        /// The reference's output channels, and how many of them the suspect has (matched), how many
        /// it lacks (missing: pruned, their signature bits unreadable), and its channels that match
        /// none (extra: dummy neurons) with how many of those are inert (every outgoing weight zero).
        public var channels: Int, matched: Int, missing: Int, extra: Int, inertExtra: Int
        /// Cosine similarity of matched filters (scale-free), mean and minimum; a layer whose
        /// channels were fixed by an earlier layer of its group reports them under that permutation.
        public var meanSimilarity: Double, minSimilarity: Double
        /// Whether the suspect's channels are in another order than the reference's.
        public var permuted: Bool
        /// Whether some channels' weights were scaled (by more than 1 % from the reference's norm).
        public var rescaled: Bool
    }
    public var layers: [LayerEvidence]
    /// Matched / all output channels of the reference (groups decided, `logits` excluded).
    public var matchedFraction: Double
    /// Mean similarity of the matched filters over all layers.
    public var meanSimilarity: Double
    /// The threshold a pair of filters needs to match.
    public var threshold: Double
    /// Copy when at least `minMatchedFraction` of the channels matched: a verdict needs it.
    public var isCopy: Bool
    public var minMatchedFraction: Double
    /// Suspect tensors renamed (a prefix removed) or converted (F16/BF16), and those the reference's
    /// architecture does not define (left out).
    public var renamedPrefix: String?
    public var foreignTensors: [String]
    public var summary: String
}

/// Aligns a suspect's weights to a reference copy of the owner's model, from weights alone: per
/// channel group (`ChannelGraph`), which of the suspect's output channels is which of the
/// reference's, up to a positive scale, then the suspect rebuilt in the reference's channel order.
/// Never reads γ, β, signs or signatures: only filters (convolution and linear weights) are compared,
/// so any claimant can align with their own reference and no alignment can manufacture a signature —
/// it only permutes the suspect's own channels and rescales them by positive factors.
///
/// Handles permutations, positive per-channel scaling, extra channels (dummy neurons: reported,
/// checked inert, dropped), missing channels (structured pruning: zero weights, reported, their
/// signature bits unreadable) and prefixed tensor names (`module.`).
public enum ChannelAlignment {
    /// A pair of filters with a cosine similarity below this does not match. Copies, fine-tuned
    /// included, measured ≥ 0.9 on matched filters; independently trained models lie far lower
    /// (BENCHMARKS.md).
    public static let defaultThreshold = 0.5
    /// The fraction of the reference's channels a suspect must contain to count as a copy.
    public static let defaultMinMatchedFraction = 0.5

    /// The suspect as the reference's layout: its tensors renamed, reordered and rescaled to the
    /// reference's channels (names the suspect has, shapes the reference has), and the evidence.
    /// `missing`: per layer path, the reference channels the suspect lacks.
    public static func align(suspect: SafeTensorsFile, reference: SafeTensorsFile, graph: ChannelGraph,
                             threshold: Double = defaultThreshold, minMatchedFraction: Double = defaultMinMatchedFraction) throws
        -> (aligned: SafeTensorsFile, missing: [String: Set<Int>], report: AlignmentReport) {
        let (named, prefix) = stripPrefix(suspect, toMatch: reference)
        var maps: [String: Mapping] = [:]   // group -> mapping
        var layers: [AlignmentReport.LayerEvidence] = []
        var scales: [String: [Float]] = [:]   // layer path -> per reference channel scale
        var missing: [String: Set<Int>] = [:]
        for layer in graph.layers {
            let rw = try weight(of: layer, in: reference, "the reference")
            let sw = try weight(of: layer, in: named, "the suspect")
            let inMap: Mapping
            if layer.input == ChannelGraph.input {
                guard sw.shape[1] == rw.shape[1] else {
                    throw IPRTensorError(.stateDictMismatch, "the suspect's \(layer.path) takes \(sw.shape[1]) input channels, the reference's \(rw.shape[1])")
                }
                inMap = .identity(rw.shape[1])
            } else {
                guard let known = maps[layer.input] else {
                    throw IPRTensorError(.invalidConfiguration, "channel graph: \(layer.path) reads group '\(layer.input)' before any layer writes it")
                }
                inMap = known
            }
            let (similarity, rShared, sShared) = try similarities(reference: rw, suspect: sw, inputs: inMap, positions: layer.positions)
            let oc = rw.shape[0]
            var map: Mapping
            if layer.output == ChannelGraph.logits {
                guard sw.shape[0] == oc else {
                    throw IPRTensorError(.stateDictMismatch, "the suspect's \(layer.path) has \(sw.shape[0]) outputs (classes), the reference's \(oc)")
                }
                map = .identity(oc)
            } else if let decided = maps[layer.output] {
                map = decided
            } else {
                map = match(similarity, threshold: threshold, suspectChannels: sw.shape[0])
                maps[layer.output] = map
            }
            let matchedSims = map.source.enumerated().compactMap { a, b in b.map { Double(similarity[a][$0]) } }
            let lost = Set(map.source.indices.filter { map.source[$0] == nil })
            if !lost.isEmpty { missing[layer.path] = lost }
            let used = Set(map.source.compactMap { $0 })
            let extra = (0..<sw.shape[0]).filter { !used.contains($0) }
            // A positive scale per matched channel: the ratio of the filters' norms over the inputs both have.
            let s = map.source.enumerated().map { a, b -> Float in b.map { rShared[a] > 0 ? sShared[$0] / rShared[a] : 1 } ?? 1 }
            if layer.normalised { scales[layer.path] = s }
            layers.append(.init(path: layer.path, channels: oc, matched: matchedSims.count, missing: lost.count, extra: extra.count,
                                inertExtra: 0, meanSimilarity: matchedSims.isEmpty ? 0 : matchedSims.reduce(0, +) / Double(matchedSims.count),
                                minSimilarity: matchedSims.min() ?? 0,
                                permuted: map.source.enumerated().contains { $0.element != nil && $0.element != $0.offset },
                                rescaled: layer.normalised && s.contains { abs($0 - 1) > 0.01 }))
        }
        // Extra channels are inert when no kept channel of a layer reading them gives them weight.
        for (k, layer) in graph.layers.enumerated() where layers[k].extra > 0 && maps[layer.output] != nil && graph.layers.firstIndex(where: { $0.output == layer.output }) == k {
            let used = Set(maps[layer.output]!.source.compactMap { $0 })
            let n = try weight(of: layer, in: named, "the suspect").shape[0]
            layers[k].inertExtra = try (0..<n).filter { !used.contains($0) }.filter { try isInert($0, of: layer.output, in: named, graph: graph, kept: maps) }.count
        }
        // Rebuild: every suspect tensor of a layer in the reference's channel order.
        var aligned = SafeTensorsFile(metadata: named.metadata)
        let byPath = Dictionary(graph.layers.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var foreign: [String] = []
        for name in named.names {
            let tensor = named[name]!
            guard let layer = owner(of: name, in: byPath) else {
                if reference[name] != nil { aligned.set(name, try float32(tensor)) } else { foreign.append(name) }
                continue
            }
            let out = layer.output == ChannelGraph.logits ? Mapping.identity(try weightShape(of: layer, in: reference)[0]) : maps[layer.output]!
            let input = layer.input == ChannelGraph.input ? Mapping.identity(try weightShape(of: layer, in: reference)[1]) : maps[layer.input]!
            aligned.set(name, try remap(name, tensor, out: out, input: input, positions: layer.positions, scale: scales[layer.path],
                                         suspectOut: try weightShape(of: layer, in: named)[0]))
        }
        let decided = layers.filter { l in graph.layers.first { $0.path == l.path }?.output != ChannelGraph.logits }
        let channels = decided.reduce(0) { $0 + $1.channels }, matched = decided.reduce(0) { $0 + $1.matched }
        let fraction = Double(matched) / Double(max(channels, 1))
        let allSims = decided.filter { $0.matched > 0 }
        let mean = allSims.isEmpty ? 0 : allSims.reduce(0) { $0 + $1.meanSimilarity * Double($1.matched) } / Double(max(matched, 1))
        let isCopy = fraction >= minMatchedFraction
        let missingCount = decided.reduce(0) { $0 + $1.missing }, extraCount = decided.reduce(0) { $0 + $1.extra }
        let inertCount = decided.reduce(0) { $0 + $1.inertExtra }
        var summary = String(format: "%d of %d channels matched (%.1f%%, mean similarity %.3f)", matched, channels, 100 * fraction, mean)
        if decided.contains(where: \.permuted) { summary += ", permuted" }
        if decided.contains(where: \.rescaled) { summary += ", rescaled" }
        if missingCount > 0 { summary += ", \(missingCount) missing (their bits unreadable)" }
        if extraCount > 0 { summary += ", \(extraCount) extra (\(inertCount) inert, dropped)" }
        if let prefix { summary += ", prefix '\(prefix)' removed" }
        summary += isCopy ? ": a copy of the reference" : String(format: ": NOT a copy of the reference (fewer than %.0f%% of its channels)", 100 * minMatchedFraction)
        let report = AlignmentReport(layers: layers, matchedFraction: fraction, meanSimilarity: mean, threshold: threshold, isCopy: isCopy,
                                     minMatchedFraction: minMatchedFraction, renamedPrefix: prefix, foreignTensors: foreign, summary: summary)
        return (aligned, missing, report)
    }

    /// For each reference channel, the suspect channel it is (nil: missing).
    struct Mapping {
        var source: [Int?]
        static func identity(_ n: Int) -> Mapping { Mapping(source: (0..<n).map { $0 }) }
    }

    /// The layer's weight: `PATH.conv.weight` (a conv block) or `PATH.weight` (a linear layer), as
    /// `[out, everything else]`.
    public static func weight(of layer: ChannelGraph.Layer, in file: SafeTensorsFile, _ what: String) throws -> (shape: [Int], values: [Float]) {
        guard let t = file[layer.path + ".conv.weight"] ?? file[layer.path + ".weight"] else {
            throw IPRTensorError(.stateDictMismatch, "\(what) has no weights for layer '\(layer.path)' (\(layer.path).conv.weight or .weight)")
        }
        guard t.shape.count >= 2 else { throw IPRTensorError(.stateDictMismatch, "\(what): \(layer.path)'s weight has shape \(t.shape)") }
        return (t.shape, try t.floats())
    }

    /// The shape of the layer's weight, without decoding its values (per-tensor work in loops).
    static func weightShape(of layer: ChannelGraph.Layer, in file: SafeTensorsFile) throws -> [Int] {
        guard let t = file[layer.path + ".conv.weight"] ?? file[layer.path + ".weight"], t.shape.count >= 2 else {
            throw IPRTensorError(.stateDictMismatch, "no weights for layer '\(layer.path)' (\(layer.path).conv.weight or .weight)")
        }
        return t.shape
    }

    /// Cosine similarity `[reference out][suspect out]` of the filters, the suspect's inputs put in
    /// the reference's order first. Inputs either side lacks add nothing to the products but count in
    /// the norms, so filters that agree on a few inputs alone (an unrelated model whose earlier layers
    /// matched a little by chance) stay dissimilar.
    /// Also returns each filter's norm over the inputs both sides have (the ratio of two is a scale).
    static func similarities(reference r: (shape: [Int], values: [Float]), suspect s: (shape: [Int], values: [Float]),
                             inputs: Mapping, positions: Int) throws -> (similarity: [[Float]], referenceShared: [Float], suspectShared: [Float]) {
        let rOut = r.shape[0], sOut = s.shape[0]
        let rPer = r.values.count / rOut, sPer = s.values.count / sOut
        let rIn = r.shape[1] / (r.shape.count == 2 ? positions : 1), sIn = s.shape[1] / (s.shape.count == 2 ? positions : 1)
        let block = rPer / max(rIn, 1)   // values per input channel: k·k, or the positions of a flatten
        guard rIn == inputs.source.count, block * rIn == rPer, sPer == sIn * block else {
            throw IPRTensorError(.stateDictMismatch, "weights \(r.shape) and \(s.shape) do not share a layout (\(positions) positions per channel)")
        }
        var a = [Float](repeating: 0, count: rOut * rPer), b = [Float](repeating: 0, count: sOut * rPer)
        for (i, j) in inputs.source.enumerated() {
            guard let j, j < sIn else { continue }
            for o in 0..<rOut { for k in 0..<block { a[o * rPer + i * block + k] = r.values[o * rPer + i * block + k] } }
            for o in 0..<sOut { for k in 0..<block { b[o * rPer + i * block + k] = s.values[o * sPer + j * block + k] } }
        }
        func normalised(_ x: [Float], rows: Int, norms: [Float]) -> Tensor {
            var y = x
            for o in 0..<rows {
                let inv = norms[o] > 0 ? 1 / norms[o] : 0
                for k in 0..<rPer { y[o * rPer + k] *= inv }
            }
            return Tensor(shape: [rows, rPer], data: y)
        }
        let c = noGrad { linear(normalised(a, rows: rOut, norms: rowNorms(r)), weight: normalised(b, rows: sOut, norms: rowNorms(s)), bias: nil) }.array
        return ((0..<rOut).map { Array(c[($0 * sOut)..<(($0 + 1) * sOut)]) }, rowNorms(([rOut, rPer], a)), rowNorms(([sOut, rPer], b)))
    }

    /// Greedy one-to-one matching, most similar pairs first, each at least `threshold`.
    static func match(_ similarity: [[Float]], threshold: Double, suspectChannels: Int) -> Mapping {
        var pairs: [(Float, Int, Int)] = []
        for (a, row) in similarity.enumerated() { for (b, v) in row.enumerated() where Double(v) >= threshold { pairs.append((v, a, b)) } }
        pairs.sort { $0.0 != $1.0 ? $0.0 > $1.0 : ($0.1, $0.2) < ($1.1, $1.2) }
        var source = [Int?](repeating: nil, count: similarity.count), taken = Set<Int>()
        for (_, a, b) in pairs where source[a] == nil && !taken.contains(b) { source[a] = b; taken.insert(b) }
        return Mapping(source: source)
    }

    static func rowNorms(_ w: (shape: [Int], values: [Float])) -> [Float] {
        let per = w.values.count / w.shape[0]
        return (0..<w.shape[0]).map { o in (0..<per).reduce(Float(0)) { $0 + w.values[o * per + $1] * w.values[o * per + $1] }.squareRoot() }
    }

    /// A channel of `group` is inert when every layer reading the group gives it zero weight in the
    /// output channels alignment keeps (`kept`: per group; extra channels downstream are dropped too).
    static func isInert(_ channel: Int, of group: String, in file: SafeTensorsFile, graph: ChannelGraph, kept: [String: Mapping]) throws -> Bool {
        for consumer in graph.consumers(of: group) {
            let w = try weight(of: consumer, in: file, "the suspect")
            let per = w.values.count / w.shape[0]
            let inputs = w.shape[1] / (w.shape.count == 2 ? consumer.positions : 1)
            let block = per / max(inputs, 1)
            let rows = kept[consumer.output].map { $0.source.compactMap { $0 } } ?? Array(0..<w.shape[0])
            for o in rows { for k in 0..<block where w.values[o * per + channel * block + k] != 0 { return false } }
        }
        return true
    }

    /// The layer a tensor belongs to (`PATH.` prefix).
    static func owner(of name: String, in layers: [String: ChannelGraph.Layer]) -> ChannelGraph.Layer? {
        var parts = name.split(separator: ".").map(String.init)
        while parts.count > 1 {
            parts.removeLast()
            if let l = layers[parts.joined(separator: ".")] { return l }
        }
        return nil
    }

    /// One tensor of a layer in the reference's channels: dimension 0 by the output mapping when it
    /// has the suspect's output count; dimension 1 by the input mapping (weights, passports);
    /// missing channels zero (a variance one); a normalised layer's weights, biases and running
    /// statistics divided by the channel's scale (variance by its square).
    static func remap(_ name: String, _ tensor: SafeTensor, out: Mapping, input: Mapping, positions: Int, scale: [Float]?, suspectOut: Int) throws -> SafeTensor {
        var shape = tensor.shape
        let leaf = name.split(separator: ".").last.map(String.init) ?? name
        let isVariance = leaf == "running_var"
        let fill: Float = isVariance ? 1 : 0
        let isWeight = leaf == "weight" && shape.count >= 2
        // Dimension 0: output channels (weights and per-channel vectors); dimension 1: input channels
        // (weights, and passports [1, C, H, W]). Anything else (counters) stays as it is.
        let outDim = shape.count >= 1 && shape[0] == suspectOut && (isWeight || shape.count == 1)
        let inDim = isWeight || (shape.count == 4 && shape[0] == 1)
        guard outDim || inDim else { return try float32(tensor) }
        let values = try tensor.floats()
        var rows = shape.count >= 1 ? shape[0] : 1
        var current = values
        if outDim {
            let per = values.count / max(rows, 1)
            var next = [Float](repeating: fill, count: out.source.count * per)
            for (a, b) in out.source.enumerated() {
                guard let b else { continue }
                var f: Float = 1
                if let scale, isWeight || leaf == "running_mean" || leaf == "bias" && name.hasSuffix("conv.bias") { f = 1 / scale[a] }
                if let scale, isVariance { f = 1 / (scale[a] * scale[a]) }
                for k in 0..<per { next[a * per + k] = values[b * per + k] * f }
            }
            current = next
            rows = out.source.count
            shape[0] = rows
        }
        if inDim {
            let channelsIn = shape[1] / (shape.count == 2 ? positions : 1)
            let block = (current.count / max(rows, 1)) / max(channelsIn, 1)
            let per = current.count / max(rows, 1)
            let newPer = input.source.count * block
            var next = [Float](repeating: 0, count: rows * newPer)
            for o in 0..<rows {
                for (i, j) in input.source.enumerated() {
                    guard let j, j < channelsIn else { continue }
                    for k in 0..<block { next[o * newPer + i * block + k] = current[o * per + j * block + k] }
                }
            }
            current = next
            shape[1] = shape.count == 2 ? input.source.count * positions : input.source.count
        }
        return SafeTensor(floats: current, shape: shape)
    }

    static func float32(_ t: SafeTensor) throws -> SafeTensor {
        t.dtype == .f16 || t.dtype == .bf16 ? SafeTensor(floats: try t.floats(), shape: t.shape) : t
    }

    /// The suspect with the prefix that, removed from its names, makes the most of them the
    /// reference's (`module.` from `nn.DataParallel`, `model.`, …), and that prefix (nil: none).
    public static func stripPrefix(_ suspect: SafeTensorsFile, toMatch reference: SafeTensorsFile) -> (SafeTensorsFile, String?) {
        var counts: [String: Int] = [:]
        let known = Set(reference.names)
        for name in suspect.names {
            if known.contains(name) { counts["", default: 0] += 1; continue }
            var parts = name.split(separator: ".", omittingEmptySubsequences: false)
            var prefix = ""
            while parts.count > 1 {
                prefix += parts.removeFirst() + "."
                if known.contains(parts.joined(separator: ".")) { counts[prefix, default: 0] += 1; break }
            }
        }
        guard let best = counts.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }), !best.key.isEmpty else { return (suspect, nil) }
        var renamed = SafeTensorsFile(metadata: suspect.metadata)
        renamed.source = suspect.source
        for name in suspect.names {
            renamed.set(name.hasPrefix(best.key) ? String(name.dropFirst(best.key.count)) : name, suspect[name]!)
        }
        return (renamed, best.key)
    }
}
