#if canImport(Glibc)
import Glibc
#endif

/// How a loss combines per-sample values.
public enum Reduction: String, Sendable { case mean, sum }

extension Tensor {
    /// log(softmax(x)) along `axis`, computed stably (max subtracted first).
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        let outer = shape[..<a].reduce(1, *), r = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitialized: shape)
        let x = pointer, y = out.pointer
        for o in 0..<outer { for i in 0..<inner {
            let base = o * r * inner + i
            var m = -Float.infinity
            for j in 0..<r { m = Swift.max(m, x[base + j * inner]) }
            var s: Float = 0
            for j in 0..<r { s += expf(x[base + j * inner] - m) }
            let lse = m + logf(s)
            for j in 0..<r { y[base + j * inner] = x[base + j * inner] - lse }
        } }
        let storage = out.storage, shape = shape
        return Tensor.result(out, "log_softmax", [self]) { g in
            // dx = g − softmax · Σ g
            let y = Tensor(shape: shape, storage: storage)
            let gx = Tensor(uninitialized: shape)
            for o in 0..<outer { for i in 0..<inner {
                let base = o * r * inner + i
                var s: Float = 0
                for j in 0..<r { s += g.pointer[base + j * inner] }
                for j in 0..<r { gx.pointer[base + j * inner] = g.pointer[base + j * inner] - expf(y.pointer[base + j * inner]) * s }
            } }
            return [gx]
        }
    }
}

/// Cross-entropy of logits `[N, K]` against class indices (PyTorch `F.cross_entropy`), fused with
/// log-softmax: the gradient is `(softmax − onehot) / N` (mean) or without `/ N` (sum).
public func crossEntropy(_ logits: Tensor, labels: [Int], reduction: Reduction = .mean) -> Tensor {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                 "crossEntropy: logits \(logits.shape) for \(labels.count) labels")
    let n = logits.shape[0], k = logits.shape[1]
    precondition(labels.allSatisfy { $0 >= 0 && $0 < k }, "crossEntropy: a label is outside 0..<\(k)")
    let probs = Tensor(uninitialized: [n, k])
    var total: Double = 0
    for i in 0..<n {
        let row = logits.pointer + i * k, p = probs.pointer + i * k
        var m = -Float.infinity
        for j in 0..<k { m = max(m, row[j]) }
        var s: Float = 0
        for j in 0..<k { p[j] = expf(row[j] - m); s += p[j] }
        for j in 0..<k { p[j] /= s }
        total += Double(m + logf(s) - row[labels[i]])
    }
    let scale: Float = reduction == .mean ? 1 / Float(max(n, 1)) : 1
    let out = Tensor(Float(total) * scale)
    return Tensor.result(out, "cross_entropy", [logits]) { g in
        let gx = Tensor(uninitialized: [n, k])
        let f = g.item * scale
        for i in 0..<n {
            for j in 0..<k { gx.pointer[i * k + j] = probs.pointer[i * k + j] * f }
            gx.pointer[i * k + labels[i]] -= f
        }
        return [gx]
    }
}

/// Mean squared error, `mean((a − b)²)`.
public func mseLoss(_ a: Tensor, _ b: Tensor, reduction: Reduction = .mean) -> Tensor {
    let sq = (a - b).pow(2)
    return reduction == .mean ? sq.mean() : sq.sum()
}

/// Cosine similarity along `axis` (PyTorch 2: `Σ a·b / sqrt(max(Σa² · Σb², eps²))`).
public func cosineSimilarity(_ a: Tensor, _ b: Tensor, axis: Int = 1, eps: Float = 1e-8) -> Tensor {
    let dot = (a * b).sum(axis: axis)
    let norms = (a * a).sum(axis: axis) * (b * b).sum(axis: axis)
    return dot / norms.clamp(min: eps * eps).sqrt()
}

/// Zeroes each element with probability `p` and scales the rest by 1/(1 − p) when training.
public func dropout(_ x: Tensor, p: Float, training: Bool, rng: inout RNG) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout: p must be in [0, 1), got \(p)")
    guard training, p > 0 else { return x }
    let mask = Tensor.bernoulli(x.shape, p: 1 - p, rng: &rng)
    mask.scaleInPlace(1 / (1 - p))
    return x * mask
}
