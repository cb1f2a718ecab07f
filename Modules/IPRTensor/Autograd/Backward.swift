extension Tensor {
    /// Reverse-mode differentiation from this tensor: adds d(self)/d(leaf) into `grad` of every
    /// leaf that requires gradients. `gradient` defaults to 1 for a one-element tensor.
    ///
    /// As in PyTorch, the graph is released while it is walked (each op's saved tensors go as soon
    /// as its rule has run), so activations are freed during the backward pass instead of after
    /// it; pass `retainGraph: true` to call `backward` on the same graph again.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) {
        precondition(requiresGrad, "backward() on a tensor that does not require grad (was its graph released by an earlier backward()?)")
        let seed = gradient ?? Tensor.full(shape, 1)
        precondition(seed.shape == shape, "backward: gradient shape \(seed.shape) != \(shape)")
        var order: [Tensor?] = topologicalOrder()
        noGrad {
            var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
            var owned = Set<ObjectIdentifier>()   // gradients the engine allocated and may add into
            for index in order.indices.reversed() {
                guard let node = order[index] else { continue }
                if !retainGraph { order[index] = nil }
                let id = ObjectIdentifier(node)
                guard let g = grads.removeValue(forKey: id) else { continue }
                owned.remove(id)
                guard let fn = node.gradFn else {
                    if node.leafRequiresGrad { node.accumulateGrad(g) }
                    continue
                }
                if !retainGraph { node.gradFn = nil }
                let inputGrads = fn.rule(g)
                precondition(inputGrads.count == fn.inputs.count,
                             "\(fn.name): backward rule returned \(inputGrads.count) gradients for \(fn.inputs.count) inputs")
                for (input, ig) in zip(fn.inputs, inputGrads) {
                    guard let ig, input.requiresGrad else { continue }
                    let g = ig.shape == input.shape ? ig : ig.sumToShape(input.shape)
                    precondition(g.shape == input.shape, "\(fn.name): gradient \(g.shape) for input \(input.shape)")
                    let key = ObjectIdentifier(input)
                    if let existing = grads[key] {
                        if owned.contains(key) { existing.addInPlace(g) } else {
                            grads[key] = existing + g
                            owned.insert(key)
                        }
                    } else {
                        grads[key] = g
                    }
                }
            }
        }
    }

    /// Nodes reachable from self through recorded ops, inputs before their users.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if !visited.insert(ObjectIdentifier(node)).inserted { continue }
            stack.append((node, true))
            for input in node.gradFn?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }

    private func accumulateGrad(_ g: Tensor) {
        if let grad { grad.addInPlace(g) } else { grad = g.copy() }
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }
}
