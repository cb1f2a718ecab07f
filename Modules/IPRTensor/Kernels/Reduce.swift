/// Sums over the middle axis of `[outer, r, inner]` into `[outer, inner]`.
enum Reduce {
    static func sum(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, outer: Int, r: Int, inner: Int) {
        let o = UnsafeSendable(out), x = UnsafeSendable(a)
        if inner == 1 {
            parallelFor(outer, grain: max(1, Elementwise.grain / max(r, 1))) { range in
                for i in range { o.value[i] = Elementwise.sum(x.value + i * r, r) }
            }
            return
        }
        if outer >= Parallelism.threads || outer * r * inner < Elementwise.grain {
            parallelFor(outer, grain: max(1, Elementwise.grain / max(r * inner, 1))) { range in
                for i in range { sumRows(o.value + i * inner, x.value + i * r * inner, r, inner, stride: inner) }
            }
        } else {
            // Few outer rows (e.g. summing a batch away): split the inner axis instead.
            parallelFor(outer * inner, grain: 1024) { range in
                // each chunk may straddle outer rows: walk it in pieces
                var k = range.lowerBound
                while k < range.upperBound {
                    let i = k / inner, j0 = k % inner
                    let j1 = min(inner, j0 + (range.upperBound - k))
                    sumRows(o.value + i * inner + j0, x.value + i * r * inner + j0, r, j1 - j0, stride: inner)
                    k += j1 - j0
                }
            }
        }
    }

    /// out[0..<width] = Σ_j a[j*stride ..< j*stride+width]
    @inline(__always)
    private static func sumRows(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ r: Int, _ width: Int, stride: Int) {
        out.update(from: a, count: width)
        for j in 1..<max(r, 1) {
            let row = a + j * stride
            for k in 0..<width { out[k] += row[k] }
        }
        if r == 0 { out.update(repeating: 0, count: width) }
    }
}
