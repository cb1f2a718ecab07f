import Testing
@testable import IPRTensor

/// Finite-difference gradient check: compares autograd's gradient of `L = Σ f(inputs) ⊙ R` (R a fixed
/// random projection, so every output element matters) with central differences, accumulated in
/// Double. Checks up to `maxElements` randomly chosen elements per input.
func checkGradients(_ name: String, _ inputs: [Tensor], eps: Float = 1e-2, tolerance: Double = 2e-2,
                    maxElements: Int = 40, seed: UInt64 = 7,
                    sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: ([Tensor]) -> Tensor) {
    for t in inputs { t.requiresGrad = true; t.grad = nil }
    let probe = f(inputs)
    var rng = RNG(seed: seed)
    let projection = Tensor.normal(probe.shape, rng: &rng)
    let loss = (probe * projection).sum()
    loss.backward()

    func objective() -> Double {
        noGrad {
            let out = f(inputs)
            var s: Double = 0
            for i in 0..<out.count { s += Double(out.pointer[i]) * Double(projection.pointer[i]) }
            return s
        }
    }

    for (k, t) in inputs.enumerated() {
        guard let grad = t.grad else { Issue.record("\(name): input \(k) got no gradient", sourceLocation: sourceLocation); continue }
        #expect(grad.shape == t.shape, "\(name): gradient shape", sourceLocation: sourceLocation)
        let indices = t.count <= maxElements ? Array(0..<t.count) : Array(rng.permutation(t.count).prefix(maxElements))
        var worst = 0.0, worstAt = -1, worstPair = (0.0, 0.0)
        for i in indices {
            let saved = t.pointer[i]
            t.pointer[i] = saved + eps
            let plus = objective()
            t.pointer[i] = saved - eps
            let minus = objective()
            t.pointer[i] = saved
            let numeric = (plus - minus) / (2 * Double(eps))
            let analytic = Double(grad.pointer[i])
            let err = Swift.abs(numeric - analytic) / Swift.max(1, Swift.abs(numeric), Swift.abs(analytic))
            if err > worst { worst = err; worstAt = i; worstPair = (analytic, numeric) }
        }
        #expect(worst <= tolerance,
                "\(name): input \(k) element \(worstAt): autograd \(worstPair.0) vs finite difference \(worstPair.1) (rel err \(worst))",
                sourceLocation: sourceLocation)
    }
}

/// Random test tensor.
func randn(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = RNG(seed: seed)
    return Tensor.normal(shape, std: scale, rng: &rng)
}

/// Max |a − b| / max(1, max |b|) — relative to the reference's scale.
func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count, "relativeError: \(a.shape) vs \(b.shape)")
    var diff: Float = 0, scale: Float = 0
    for i in 0..<a.count {
        diff = Swift.max(diff, Swift.abs(a.pointer[i] - b.pointer[i]))
        scale = Swift.max(scale, Swift.abs(b.pointer[i]))
    }
    return diff / Swift.max(scale, 1e-6)
}
