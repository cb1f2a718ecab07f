#if canImport(Glibc)
import Glibc
#endif

/// Batch normalisation of `[N, C]` or `[N, C, H, W]` (PyTorch `F.batch_norm`).
///
/// Training: normalises with the batch's mean and biased variance and, when running statistics are
/// given, updates them in place (`running = (1 − momentum)·running + momentum·batch`, unbiased
/// variance). Evaluation: normalises with the running statistics. `relu` fuses a ReLU onto the
/// output (one pass and one activation tensor fewer than two ops).
///
/// `inPlace`: when no graph is being recorded, overwrite `x` with the result instead of allocating
/// (inference; the caller must not need `x` afterwards).
public func batchNorm(_ x: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor?, bias: Tensor?,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5, relu: Bool = false,
                      inPlace: Bool = false) -> Tensor {
    precondition(x.rank == 2 || x.rank == 4, "batchNorm: input must be [N, C] or [N, C, H, W], got \(x.shape)")
    let n = x.shape[0], c = x.shape[1], s = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
    let pg = PlaneGroups.batchNorm(n: n, c: c, s: s)
    let mean: [Float], rstd: [Float]
    if training {
        precondition(n * s > 1, "batchNorm: training needs more than one value per channel, input \(x.shape)")
        let stats = NormalizationKernel.statistics(x.pointer, pg)
        mean = stats.mean
        rstd = stats.variance.map { 1 / ($0 + eps).squareRoot() }
        if let runningMean, let runningVar {
            let unbias = Float(n * s) / Float(n * s - 1)
            for k in 0..<c {
                runningMean.pointer[k] = (1 - momentum) * runningMean.pointer[k] + momentum * stats.mean[k]
                runningVar.pointer[k] = (1 - momentum) * runningVar.pointer[k] + momentum * stats.variance[k] * unbias
            }
        }
    } else {
        guard let runningMean, let runningVar else { preconditionFailure("batchNorm: evaluation needs running statistics") }
        mean = runningMean.array
        rstd = runningVar.array.map { 1 / ($0 + eps).squareRoot() }
    }
    return normalized(x, "batch_norm", pg, mean: mean, rstd: rstd, weight: weight, bias: bias,
                      constantStatistics: !training, relu: relu, inPlace: inPlace)
}

/// Group normalisation of `[N, C, H, W]` over `groups` groups of channels (PyTorch `F.group_norm`).
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5,
                      relu: Bool = false, inPlace: Bool = false) -> Tensor {
    precondition(x.rank == 4 || x.rank == 2, "groupNorm: input must be [N, C, H, W], got \(x.shape)")
    let n = x.shape[0], c = x.shape[1], s = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
    precondition(groups > 0 && c % groups == 0, "groupNorm: \(c) channels do not split into \(groups) groups")
    let pg = PlaneGroups.groupNorm(n: n, c: c, s: s, groups: groups)
    let stats = NormalizationKernel.statistics(x.pointer, pg)
    return normalized(x, "group_norm", pg, mean: stats.mean, rstd: stats.variance.map { 1 / ($0 + eps).squareRoot() },
                      weight: weight, bias: bias, constantStatistics: false, relu: relu, inPlace: inPlace)
}

/// Instance normalisation: each (sample, channel) plane on its own (PyTorch `F.instance_norm`
/// without running statistics).
public func instanceNorm(_ x: Tensor, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5,
                         relu: Bool = false, inPlace: Bool = false) -> Tensor {
    groupNorm(x, groups: x.shape[1], weight: weight, bias: bias, eps: eps, relu: relu, inPlace: inPlace)
}

private func normalized(_ x: Tensor, _ name: String, _ pg: PlaneGroups, mean: [Float], rstd: [Float],
                        weight: Tensor?, bias: Tensor?, constantStatistics: Bool, relu: Bool, inPlace: Bool) -> Tensor {
    for p in [weight, bias].compactMap({ $0 }) {
        precondition(p.shape == [pg.c], "\(name): affine parameter \(p.shape) for \(pg.c) channels")
    }
    let recording = GradMode.isEnabled && ([x, weight, bias].contains { $0?.requiresGrad == true })
    let out = inPlace && !recording ? x.detach() : Tensor(uninitialized: x.shape)
    NormalizationKernel.forward(out.pointer, x.pointer, pg, mean: mean, rstd: rstd, weight: weight?.pointer,
                                bias: bias?.pointer, relu: relu)
    // The fused ReLU's backward needs the output: keep its storage (not the tensor: a cycle).
    let outStorage = relu ? out.storage : nil
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return Tensor.result(out, name, inputs) { g in
        let gx = Tensor(uninitialized: x.shape)
        let gw = weight.map { _ in Tensor(uninitialized: [pg.c]) }, gb = bias.map { _ in Tensor(uninitialized: [pg.c]) }
        NormalizationKernel.backward(gradX: gx.pointer, gradWeight: gw?.pointer, gradBias: gb?.pointer, gradY: g.pointer,
                                     x: x.pointer, pg, mean: mean, rstd: rstd, weight: weight?.pointer,
                                     constantStatistics: constantStatistics, reluOutput: outStorage?.pointer)
        return [gx] + (gw.map { [$0] } ?? []) + (gb.map { [$0] } ?? [])
    }
}
