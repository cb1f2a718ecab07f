import Foundation
import IPRModels
import IPRTensor

/// Records every convolution a model runs, passing each call on to the real kernels.
private final class RecordingConvolution: ConvolutionKernels, @unchecked Sendable {
    let inner: any ConvolutionKernels
    /// Distinct geometries in first-use order, and how many forward calls (layers) each had.
    private(set) var seen: [ConvGeometry] = []
    private(set) var layers: [ConvGeometry: Int] = [:]
    init(_ inner: any ConvolutionKernels) { self.inner = inner }
    var name: String { inner.name }
    private func note(_ g: ConvGeometry) { if !seen.contains(g) { seen.append(g) } }
    func forward(_ g: ConvGeometry, dst: UnsafeMutablePointer<Float>, src: UnsafePointer<Float>,
                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?) {
        note(g); layers[g, default: 0] += 1
        inner.forward(g, dst: dst, src: src, weight: weight, bias: bias)
    }
    func backwardData(_ g: ConvGeometry, gradSrc: UnsafeMutablePointer<Float>, gradDst: UnsafePointer<Float>,
                      weight: UnsafePointer<Float>) {
        note(g); inner.backwardData(g, gradSrc: gradSrc, gradDst: gradDst, weight: weight)
    }
    func backwardWeights(_ g: ConvGeometry, gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?,
                         src: UnsafePointer<Float>, gradDst: UnsafePointer<Float>) {
        note(g); inner.backwardWeights(g, gradWeight: gradWeight, gradBias: gradBias, src: src, gradDst: gradDst)
    }
}

/// `iprbench convalgo`: for every distinct convolution of a training step of each model, the
/// implementation oneDNN picks and the median time of each pass with every algorithm we offer —
/// so a CPU on which a heuristic loses (Winograd dropped for a chunk size, direct faster than
/// Winograd) shows up as numbers, not as a failing test. Bias follows the model (none before a norm).
/// Each row is one shape and pass with the number of layers that run it; a last row per model sums
/// each algorithm's time over the step's convolutions (times × layers).
func runConvAlgorithmBench(reps: Int, batch: Int, selected: (String) -> Bool, emit: ([String: Any]) -> Void) throws {
    let original = Convolution.kernels
    defer { Convolution.kernels = original }
    let algorithms: [OneDNNConvolution.Algorithm] = [.direct, .auto, .measured, .rule]
    let passes = ["forward", "backward-data", "backward-weights"]
    for arch in ["alexnet", "resnet18"] where selected(arch) {
        var rng = RNG(seed: 0)
        let recorder = RecordingConvolution(original)
        Convolution.kernels = recorder
        let model = try Models.make(arch, config: ModelConfig(classes: 10), seed: 1)
        crossEntropy(model(Tensor.normal([batch, 3, 32, 32], rng: &rng), .train), labels: (0..<batch).map { $0 % 10 }).backward()
        Convolution.kernels = original
        var totals: [String: Double] = [:]
        for g in recorder.seen {
            let src = Tensor.normal([g.n, g.c, g.h, g.w], rng: &rng), weight = Tensor.normal([g.oc, g.c, g.kh, g.kw], rng: &rng)
            let gradDst = Tensor.normal([g.n, g.oc, g.outH, g.outW], rng: &rng)
            let dst = Tensor.zeros([g.n, g.oc, g.outH, g.outW]), gradSrc = Tensor.zeros([g.n, g.c, g.h, g.w])
            let gradWeight = Tensor.zeros([g.oc, g.c, g.kh, g.kw])
            for (pass, passName) in passes.enumerated() {
                let layers = recorder.layers[g] ?? 0
                var fields: [String: Any] = ["engine": "swift", "bench": "convalgo", "model": arch, "pass": passName, "layers": layers,
                                             "shape": "n\(g.n) \(g.c)→\(g.oc) k\(g.kh) s\(g.strideH) \(g.h)×\(g.w)"]
                for algorithm in algorithms {
                    let k = OneDNNConvolution(algorithm: algorithm)
                    let run: () -> Void = switch pass {
                    case 0: { k.forward(g, dst: dst.pointer, src: src.pointer, weight: weight.pointer, bias: nil) }
                    case 1: { k.backwardData(g, gradSrc: gradSrc.pointer, gradDst: gradDst.pointer, weight: weight.pointer) }
                    default: { k.backwardWeights(g, gradWeight: gradWeight.pointer, gradBias: nil, src: src.pointer, gradDst: gradDst.pointer) }
                    }
                    run()   // a measured choice is made over its first calls: time the calls after it
                    let r = measure(reps: reps, run)
                    fields["\(algorithm)_ms"] = r.median
                    fields["\(algorithm)_impl"] = k.implementation(g, pass: Int32(pass))
                    totals["\(algorithm)_ms", default: 0] += r.median * Double(layers)
                }
                emit(fields)
            }
        }
        emit(["engine": "swift", "bench": "convalgo", "model": arch, "pass": "all", "shape": "total per step"].merging(totals) { a, _ in a })
    }
}
