extension Tensor {
    /// Matrix product of `[m, k]` and `[k, n]`.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank == 2 && other.rank == 2 && shape[1] == other.shape[0], "matmul: \(shape) × \(other.shape)")
        let m = shape[0], k = shape[1], n = other.shape[1]
        let out = Tensor(uninitialized: [m, n])
        GEMM.sgemm(m: m, n: n, k: k, a: pointer, lda: k, b: other.pointer, ldb: n, c: out.pointer, ldc: n)
        return Tensor.result(out, "matmul", [self, other]) { [self] g in
            let ga = Tensor(uninitialized: [m, k]), gb = Tensor(uninitialized: [k, n])
            GEMM.sgemm(transB: true, m: m, n: k, k: n, a: g.pointer, lda: n, b: other.pointer, ldb: n, c: ga.pointer, ldc: k)
            GEMM.sgemm(transA: true, m: k, n: n, k: m, a: pointer, lda: k, b: g.pointer, ldb: n, c: gb.pointer, ldc: n)
            return [ga, gb]
        }
    }
}

/// y = x · Wᵀ + b for x `[N, in]`, W `[out, in]`, b `[out]` (PyTorch's `F.linear`).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    precondition(x.rank == 2 && weight.rank == 2 && x.shape[1] == weight.shape[1], "linear: input \(x.shape), weight \(weight.shape)")
    let n = x.shape[0], fin = x.shape[1], fout = weight.shape[0]
    let out = Tensor(uninitialized: [n, fout])
    if let bias {
        precondition(bias.shape == [fout], "linear: bias \(bias.shape) for \(fout) outputs")
        for i in 0..<n { (out.pointer + i * fout).update(from: bias.pointer, count: fout) }
    }
    GEMM.sgemm(transB: true, m: n, n: fout, k: fin, a: x.pointer, lda: fin, b: weight.pointer, ldb: fin,
               beta: bias == nil ? 0 : 1, c: out.pointer, ldc: fout)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.result(out, "linear", inputs) { g in
        let gx = Tensor(uninitialized: [n, fin]), gw = Tensor(uninitialized: [fout, fin])
        GEMM.sgemm(m: n, n: fin, k: fout, a: g.pointer, lda: fout, b: weight.pointer, ldb: fin, c: gx.pointer, ldc: fin)
        GEMM.sgemm(transA: true, m: fout, n: fin, k: n, a: g.pointer, lda: fout, b: x.pointer, ldb: fin, c: gw.pointer, ldc: fin)
        guard bias != nil else { return [gx, gw] }
        return [gx, gw, g.sum(axis: 0)]
    }
}
