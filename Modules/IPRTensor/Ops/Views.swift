extension Tensor {
    /// The same elements with another shape (a free view: shares storage). One dim may be -1.
    public func reshape(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(newShape) for \(count) elements")
            s[i] = count / known
        }
        precondition(Shape.count(s) == count, "reshape: \(shape) (\(count) elements) to \(newShape)")
        if s == shape { return self }
        let inputShape = shape
        return Tensor.result(s, storage, "reshape", [self]) { g in [g.reshape(inputShape)] }
    }

    /// Flattens dims from `startDim` on into one (`[N, C, H, W]` → `[N, C·H·W]` by default).
    public func flatten(startDim: Int = 1) -> Tensor {
        let d = Shape.axis(startDim, rank: rank)
        return reshape(Array(shape[..<d]) + [shape[d...].reduce(1, *)])
    }

    /// Reorders dims: output dim i is input dim `order[i]` (copies).
    public func permute(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permute: \(order) is not a permutation of 0..<\(rank)")
        let outShape = order.map { shape[$0] }
        let inStrides = strides
        let srcStrides = order.map { inStrides[$0] }
        let out = Tensor(uninitialized: outShape)
        Tensor.stridedCopy(out.pointer, pointer, outShape, srcStrides)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Tensor.result(out, "permute", [self]) { g in [g.permute(inverse)] }
    }

    /// Swaps two dims (copies).
    public func transpose(_ a: Int, _ b: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(Shape.axis(a, rank: rank), Shape.axis(b, rank: rank))
        return permute(order)
    }

    /// `length` entries of `dim` starting at `start` (copies).
    public func narrow(dim: Int, start: Int, length: Int) -> Tensor {
        let d = Shape.axis(dim, rank: rank)
        precondition(start >= 0 && length >= 0 && start + length <= shape[d], "narrow: \(start)..<\(start + length) of dim \(d) size \(shape[d])")
        let outer = shape[..<d].reduce(1, *), inner = shape[(d + 1)...].reduce(1, *), n = shape[d]
        var outShape = shape; outShape[d] = length
        let out = Tensor(uninitialized: outShape)
        for o in 0..<outer {
            (out.pointer + o * length * inner).update(from: pointer + (o * n + start) * inner, count: length * inner)
        }
        let inputShape = shape
        return Tensor.result(out, "narrow", [self]) { g in
            let gi = Tensor.zeros(inputShape)
            for o in 0..<outer { (gi.pointer + (o * n + start) * inner).update(from: g.pointer + o * length * inner, count: length * inner) }
            return [gi]
        }
    }

    /// Joins tensors along `dim`; all other dims must agree.
    public static func concat(_ parts: [Tensor], dim: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat of nothing")
        let rank = parts[0].rank, d = Shape.axis(dim, rank: rank)
        for p in parts {
            precondition(p.rank == rank && p.shape.enumerated().allSatisfy { $0.offset == d || $0.element == parts[0].shape[$0.offset] },
                         "concat: \(p.shape) does not match \(parts[0].shape) outside dim \(d)")
        }
        let outer = parts[0].shape[..<d].reduce(1, *), inner = parts[0].shape[(d + 1)...].reduce(1, *)
        let sizes = parts.map { $0.shape[d] }, total = sizes.reduce(0, +)
        var outShape = parts[0].shape; outShape[d] = total
        let out = Tensor(uninitialized: outShape)
        var offset = 0
        for (p, n) in zip(parts, sizes) {
            for o in 0..<outer { (out.pointer + (o * total + offset) * inner).update(from: p.pointer + o * n * inner, count: n * inner) }
            offset += n
        }
        return result(out, "concat", parts) { g in
            var start = 0
            return sizes.map { n in defer { start += n }; return g.narrow(dim: d, start: start, length: n) }
        }
    }

    /// Entries `indices` of `dim`, in that order (repeats allowed); gradients add back.
    public func indexSelect(dim: Int, indices: [Int]) -> Tensor {
        let d = Shape.axis(dim, rank: rank)
        let outer = shape[..<d].reduce(1, *), inner = shape[(d + 1)...].reduce(1, *), n = shape[d]
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "indexSelect: index out of range 0..<\(n)")
        var outShape = shape; outShape[d] = indices.count
        let out = Tensor(uninitialized: outShape)
        let k = indices.count
        for o in 0..<outer { for (j, i) in indices.enumerated() {
            (out.pointer + (o * k + j) * inner).update(from: pointer + (o * n + i) * inner, count: inner)
        } }
        let inputShape = shape
        return Tensor.result(out, "index_select", [self]) { g in
            let gi = Tensor.zeros(inputShape)
            for o in 0..<outer { for (j, i) in indices.enumerated() {
                let dst = gi.pointer + (o * n + i) * inner, src = g.pointer + (o * k + j) * inner
                for t in 0..<inner { dst[t] += src[t] }
            } }
            return [gi]
        }
    }

    /// `out[i][j] = self[i][index[i][j]]` along `dim` (torch.gather); `index` has the output's shape.
    public func gather(dim: Int, index: [Int], indexShape: [Int]) -> Tensor {
        let d = Shape.axis(dim, rank: rank)
        precondition(indexShape.count == rank && Shape.count(indexShape) == index.count, "gather: index shape \(indexShape)")
        let outer = indexShape[..<d].reduce(1, *), inner = indexShape[(d + 1)...].reduce(1, *), k = indexShape[d]
        let srcInner = shape[(d + 1)...].reduce(1, *), n = shape[d]
        precondition(shape[..<d].reduce(1, *) == outer && srcInner == inner, "gather: index shape \(indexShape) vs \(shape)")
        let out = Tensor(uninitialized: indexShape)
        for o in 0..<outer { for j in 0..<k { for t in 0..<inner {
            let i = index[(o * k + j) * inner + t]
            precondition(i >= 0 && i < n, "gather: index \(i) out of range 0..<\(n)")
            out.pointer[(o * k + j) * inner + t] = pointer[(o * n + i) * inner + t]
        } } }
        let inputShape = shape
        return Tensor.result(out, "gather", [self]) { g in
            let gi = Tensor.zeros(inputShape)
            for o in 0..<outer { for j in 0..<k { for t in 0..<inner {
                gi.pointer[(o * n + index[(o * k + j) * inner + t]) * inner + t] += g.pointer[(o * k + j) * inner + t]
            } } }
            return [gi]
        }
    }

    /// Copies a strided source (given per-dim strides) into a contiguous destination.
    static func stridedCopy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ shape: [Int], _ srcStrides: [Int]) {
        let n = Shape.count(shape)
        guard n > 0 else { return }
        let rank = shape.count
        if rank == 0 { dst[0] = src[0]; return }
        var idx = [Int](repeating: 0, count: rank)
        var off = 0
        let last = rank - 1, lastN = shape[last], lastS = srcStrides[last]
        var k = 0
        while k < n {
            for j in 0..<lastN { dst[k + j] = src[off + j * lastS] }
            k += lastN
            var d = last - 1
            while d >= 0 {
                idx[d] += 1; off += srcStrides[d]
                if idx[d] < shape[d] { break }
                off -= srcStrides[d] * shape[d]; idx[d] = 0; d -= 1
            }
        }
    }
}
