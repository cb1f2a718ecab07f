import Foundation
import Testing
import IPRTensor
@testable import IPRModels

/// A thief's structural edits (`ChannelEdit`) keep the network's function where they claim to, and
/// alignment to the original (`ChannelAlignment`) gives back the original's tensors from weights
/// alone; an independently initialised model does not align.
@Suite struct ChannelAlignmentTests {
    static let config = ModelConfig(classes: 10)

    /// A model's state dict with non-trivial norm statistics (as after training), and its graph.
    static func stateDict(_ arch: String, seed: UInt64) throws -> (model: any Layer, file: SafeTensorsFile, graph: ChannelGraph) {
        let model = try Models.make(arch, config: config, seed: seed)
        var file = model.stateDict()
        var rng = RNG(seed: seed, stream: 9)
        for name in file.names where name.hasSuffix("running_mean") || name.hasSuffix("running_var") || name.hasSuffix("bn.bias") {
            let t = file[name]!
            let values = (0..<t.elementCount).map { _ in name.hasSuffix("running_var") ? rng.uniform(0.5, 2) : rng.uniform(-0.5, 0.5) }
            file.set(name, SafeTensor(floats: values, shape: t.shape))
        }
        try model.load(file, source: "test")
        return (model, file, try ChannelGraph.registry.lookup(arch)(config))
    }

    /// The largest difference between two files' float tensors of the same names, relative to each
    /// tensor's largest magnitude.
    static func worstDifference(_ a: SafeTensorsFile, _ b: SafeTensorsFile) throws -> Float {
        var worst: Float = 0
        for name in a.names where a[name]!.dtype == .f32 {
            let x = try a[name]!.floats(), y = try #require(try b[name]?.floats(), "\(name) missing")
            #expect(x.count == y.count, "\(name)")
            let scale = max(x.map(abs).max() ?? 0, 1e-6)
            let d = (zip(x, y).map { abs($0 - $1) }.max() ?? 0) / scale
            worst = max(worst, d)
        }
        return worst
    }

    /// Logits of a model holding `file` on a fixed input (evaluation mode).
    static func logits(_ arch: String, _ file: SafeTensorsFile) throws -> [Float] {
        let model = try Models.make(arch, config: config, seed: 0)
        try model.load(file, source: "test")
        var rng = RNG(seed: 5)
        return noGrad { model(Tensor.normal([2, 3, 32, 32], rng: &rng), .eval) }.array
    }

    /// ResNet-9 has every kind of group ResNet-18 has (residual streams written by several layers,
    /// shortcuts) at half the cost of building it in a debug build.
    @Test(arguments: ["alexnet", "resnet9"])
    func permutedAndRescaledCopiesComputeTheSameAndAlignBack(_ arch: String) throws {
        let (_, file, graph) = try Self.stateDict(arch, seed: 1)
        let edited = try ChannelEdit.permute(file, graph: graph, seed: 3, rescale: true)
        #expect(try Self.worstDifference(file, edited) > 0.1, "the edit changed the tensors")
        let original = try Self.logits(arch, file), permuted = try Self.logits(arch, edited)
        let scale = original.map(abs).max()!
        #expect(zip(original, permuted).map { abs($0 - $1) }.max()! <= 1e-4 * scale, "the same function")

        let (aligned, missing, report) = try ChannelAlignment.align(suspect: edited, reference: file, graph: graph)
        #expect(try Self.worstDifference(file, aligned) < 1e-5)
        #expect(missing.isEmpty && report.isCopy && report.matchedFraction == 1)
        #expect(report.layers.contains(where: \.permuted) && report.layers.contains(where: \.rescaled))
        #expect(report.meanSimilarity > 0.999)
    }

    @Test func dummyNeuronsAreInertReportedAndDropped() throws {
        let (_, file, graph) = try Self.stateDict("alexnet", seed: 1)
        let widened = try ChannelEdit.widen(file, graph: graph, groups: ["features.4", "features.5"], extra: 32, seed: 2)
        #expect(widened["features.4.conv.weight"]!.shape == [416, 192, 3, 3] && widened["features.5.conv.weight"]!.shape == [288, 416, 3, 3])
        let (aligned, missing, report) = try ChannelAlignment.align(suspect: try ChannelEdit.permute(widened, graph: graph, seed: 4, rescale: true),
                                                                    reference: file, graph: graph)
        #expect(try Self.worstDifference(file, aligned) < 1e-5)
        #expect(missing.isEmpty && report.isCopy)
        let extra = report.layers.filter { $0.extra > 0 }
        #expect(extra.map(\.path) == ["features.4", "features.5"] && extra.allSatisfy { $0.extra == 32 && $0.inertExtra == 32 })
    }

    @Test func prunedChannelsAreMissingAndTheRestAlign() throws {
        let (_, file, graph) = try Self.stateDict("alexnet", seed: 1)
        let pruned = try ChannelEdit.removeChannels(file, graph: graph, groups: ["features.4", "features.5"], fraction: 0.25)
        #expect(pruned["features.4.conv.weight"]!.shape == [288, 192, 3, 3] && pruned["features.5.conv.weight"]!.shape == [192, 288, 3, 3])
        let (aligned, missing, report) = try ChannelAlignment.align(suspect: pruned, reference: file, graph: graph)
        #expect(missing["features.4"]?.count == 96 && missing["features.5"]?.count == 64)
        #expect(report.isCopy && report.layers.first { $0.path == "features.4" }?.missing == 96)
        // Channels the suspect kept are the reference's; the inputs it lost read as zero.
        let kept = (0..<256).filter { !(missing["features.5"]!.contains($0)) }
        let r = try file["features.5.bn.running_mean"]!.floats(), a = try aligned["features.5.bn.running_mean"]!.floats()
        #expect(kept.allSatisfy { r[$0] == a[$0] } && missing["features.5"]!.allSatisfy { a[$0] == 0 })
    }

    @Test func prefixedHalfPrecisionNamesAreRead() throws {
        let (_, file, graph) = try Self.stateDict("alexnet", seed: 1)
        let resaved = try ChannelEdit.resave(file, prefix: "module.", precision: .f16)
        let (aligned, _, report) = try ChannelAlignment.align(suspect: resaved, reference: file, graph: graph)
        #expect(report.renamedPrefix == "module." && report.isCopy && report.foreignTensors.isEmpty)
        #expect(try Self.worstDifference(file, aligned) < 1e-3, "half precision: 11 significant bits")
    }

    /// Independently initialised weights share no filters: nothing matches, and the suspect is no copy.
    @Test(arguments: ["alexnet", "resnet9"])
    func anIndependentModelDoesNotAlign(_ arch: String) throws {
        let (_, file, graph) = try Self.stateDict(arch, seed: 1)
        let (_, other, _) = try Self.stateDict(arch, seed: 2)
        let (_, _, report) = try ChannelAlignment.align(suspect: try ChannelEdit.permute(other, graph: graph, seed: 3, rescale: true), reference: file, graph: graph)
        #expect(!report.isCopy && report.matchedFraction < 0.05, "\(report.summary)")
        #expect(report.summary.contains("NOT a copy"))
    }
}
