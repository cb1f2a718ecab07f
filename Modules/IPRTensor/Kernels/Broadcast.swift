/// Elementwise binary op over broadcast shapes.
///
/// Adjacent dimensions with the same broadcast pattern are merged first, so the common
/// `[N, C, H, W] ∘ [1, C, 1, 1]` becomes `[N, C, H·W]` with a contiguous inner loop.
enum Broadcast {
    static func apply<F: BinaryFunctor>(_ out: UnsafeMutablePointer<Float>, _ outShape: [Int],
                                        _ a: UnsafePointer<Float>, _ aShape: [Int],
                                        _ b: UnsafePointer<Float>, _ bShape: [Int], _ f: F) {
        let n = Shape.count(outShape)
        if aShape == bShape { Elementwise.apply(out, a, b, n, f); return }
        if Shape.count(bShape) == 1 { Elementwise.apply(out, a, n, BindRight(f: f, b: b[0])); return }
        if Shape.count(aShape) == 1 { Elementwise.apply(out, b, n, BindLeft(f: f, a: a[0])); return }

        let rank = outShape.count
        let pa = [Int](repeating: 1, count: rank - aShape.count) + aShape
        let pb = [Int](repeating: 1, count: rank - bShape.count) + bShape
        // Collapse dims: (size, aFull, bFull)
        var dims: [(n: Int, a: Bool, b: Bool)] = []
        for i in 0..<rank where outShape[i] != 1 {
            let fa = pa[i] != 1, fb = pb[i] != 1
            if let last = dims.last, last.a == fa, last.b == fb {
                dims[dims.count - 1].n *= outShape[i]
            } else {
                dims.append((outShape[i], fa, fb))
            }
        }
        if dims.isEmpty { out[0] = f(a[0], b[0]); return }
        // Strides of the collapsed dims in a and b (0 where broadcast).
        var sa = [Int](repeating: 0, count: dims.count), sb = sa
        var accA = 1, accB = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) {
            if dims[i].a { sa[i] = accA; accA *= dims[i].n }
            if dims[i].b { sb[i] = accB; accB *= dims[i].n }
        }
        let inner = dims[dims.count - 1].n
        let ia = sa[dims.count - 1], ib = sb[dims.count - 1]
        let rows = n / inner
        let outerDims = dims.dropLast().map(\.n)
        let o = UnsafeSendable(out), x = UnsafeSendable(a), y = UnsafeSendable(b)
        let saOuter = Array(sa.dropLast()), sbOuter = Array(sb.dropLast())
        parallelFor(rows, grain: max(1, Elementwise.grain / max(inner, 1))) { range in
            for row in range {
                var rem = row, offA = 0, offB = 0
                for d in stride(from: outerDims.count - 1, through: 0, by: -1) {
                    let idx = rem % outerDims[d]; rem /= outerDims[d]
                    offA += idx * saOuter[d]; offB += idx * sbOuter[d]
                }
                let op = o.value + row * inner, ap = x.value + offA, bp = y.value + offB
                if ia == 1 && ib == 1 { for j in 0..<inner { op[j] = f(ap[j], bp[j]) } }
                else if ia == 1 { let v = bp[0]; for j in 0..<inner { op[j] = f(ap[j], v) } }
                else if ib == 1 { let u = ap[0]; for j in 0..<inner { op[j] = f(u, bp[j]) } }
                else { let r = f(ap[0], bp[0]); for j in 0..<inner { op[j] = r } }
            }
        }
    }
}
