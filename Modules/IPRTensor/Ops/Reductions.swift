extension Tensor {
    /// Sum over `axes` (all when empty); `keepDims` keeps them as size 1.
    public func sum(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let axes = axes.isEmpty ? Array(0..<rank) : Set(axes.map { Shape.axis($0, rank: rank) }).sorted()
        var kept = shape
        for a in axes { kept[a] = 1 }
        let outShape = keepDims ? kept : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        let out = sumKeepingDims(axes: axes)
        let inputShape = shape
        let r = Tensor(shape: outShape, storage: out.storage)
        return Tensor.result(r, "sum", [self]) { g in
            [g.reshape(kept).expand(to: inputShape)]
        }
    }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all when empty).
    public func mean(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let axes = axes.isEmpty ? Array(0..<rank) : axes.map { Shape.axis($0, rank: rank) }
        let n = Set(axes).reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Raw sum over sorted axes, keeping them as size-1 dims; no graph.
    func sumKeepingDims(axes: [Int]) -> Tensor {
        var current = self.detach()
        // Reduce runs of consecutive axes at once, highest first so indices stay valid.
        var groups: [[Int]] = []
        for a in axes {
            if let last = groups.last?.last, last + 1 == a { groups[groups.count - 1].append(a) } else { groups.append([a]) }
        }
        for group in groups.reversed() {
            let s = current.shape
            let outer = s[..<group.first!].reduce(1, *)
            let r = group.reduce(1) { $0 * s[$1] }
            let inner = s[(group.last! + 1)...].reduce(1, *)
            var newShape = s
            for a in group { newShape[a] = 1 }
            let out = Tensor(uninitialized: newShape)
            Reduce.sum(out.pointer, current.pointer, outer: outer, r: r, inner: inner)
            current = out
        }
        return current
    }

    /// Sums a broadcast gradient down to `target` (the engine's unbroadcast).
    func sumToShape(_ target: [Int]) -> Tensor {
        let lead = rank - target.count
        precondition(lead >= 0, "cannot sum \(shape) down to \(target)")
        var axes = Array(0..<lead)
        for (i, n) in target.enumerated() where n == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        let reduced = axes.isEmpty ? self.detach() : sumKeepingDims(axes: axes)
        return Tensor(shape: target, storage: reduced.storage)
    }

    /// Repeats size-1 dims to `target` (materialised; used by backward rules).
    func expand(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let zero = Tensor.zeros(target)
        return noGrad { zero + self }.detach()
    }

    /// Maximum and its index along `axis`; the gradient goes to the (first) maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> (values: Tensor, indices: [Int]) {
        let a = Shape.axis(axis, rank: rank)
        let outer = shape[..<a].reduce(1, *), r = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        precondition(r > 0, "max over an empty axis")
        var kept = shape; kept[a] = 1
        let outShape = keepDims ? kept : shape.enumerated().filter { $0.offset != a }.map(\.element)
        let out = Tensor(uninitialized: outShape)
        var idx = [Int](repeating: 0, count: outer * inner)
        let x = pointer
        for o in 0..<outer {
            for i in 0..<inner {
                var best = x[o * r * inner + i], bi = 0
                for j in 1..<r {
                    let v = x[(o * r + j) * inner + i]
                    if v > best || v.isNaN { best = v; bi = j }
                }
                out.pointer[o * inner + i] = best
                idx[o * inner + i] = bi
            }
        }
        let inputShape = shape
        let values = Tensor.result(out, "max", [self]) { g in
            let gi = Tensor.zeros(inputShape)
            for o in 0..<outer { for i in 0..<inner { gi.pointer[(o * r + idx[o * inner + i]) * inner + i] = g.pointer[o * inner + i] } }
            return [gi]
        }
        return (values, idx)
    }

    /// Index of the maximum along `axis` (first on ties), row-major over the remaining dims.
    public func argmax(axis: Int) -> [Int] { noGrad { max(axis: axis).indices } }
}
