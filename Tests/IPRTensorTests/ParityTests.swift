import Testing
@testable import IPRTensor

/// Forward outputs and gradients against PyTorch (CPU) goldens, max relative error ≤ 1e-4.
@Suite struct ParityTests {
    /// Runs `f`, backpropagates the golden `grad_output`, and returns the output.
    private func run(_ g: Golden, _ c: String, _ inputs: [Tensor], _ f: () -> Tensor) throws -> Tensor {
        for t in inputs { t.requiresGrad = true }
        let out = f()
        out.backward(try g.tensor(c, "grad_output"))
        return out
    }

    @Test(arguments: [OneDNNConvolution(algorithm: .direct), OneDNNConvolution(algorithm: .auto), Im2colConvolution()] as [any ConvolutionKernels])
    func conv2d(kernels: any ConvolutionKernels) throws {
        let g = try Golden("conv2d")
        #expect(g.cases.count == 7)
        for c in g.cases {
            let p = try g.params(c)
            let s = p["stride"] as! Int, pad = p["padding"] as! Int, hasBias = p["bias"] as! Bool
            let x = try g.tensor(c, "input"), w = try g.tensor(c, "weight")
            let b = hasBias ? try g.tensor(c, "bias") : nil
            let out = try run(g, c, [x, w] + (b.map { [$0] } ?? [])) {
                IPRTensor.conv2d(x, weight: w, bias: b, stride: (s, s), padding: (pad, pad), kernels: kernels)
            }
            let label = "\(kernels.name) \(c)"
            expectClose(out, try g.tensor(c, "output"), "\(label) output")
            expectClose(x.grad, try g.tensor(c, "grad_input"), "\(label) grad_input")
            expectClose(w.grad, try g.tensor(c, "grad_weight"), "\(label) grad_weight")
            if let b { expectClose(b.grad, try g.tensor(c, "grad_bias"), "\(label) grad_bias") }
        }
    }

    @Test func batchNorm() throws {
        let g = try Golden("norms")
        for c in ["bn_train", "bn_eval", "bn_train_noaffine"] {
            let training = c != "bn_eval", affine = c != "bn_train_noaffine"
            let x = try g.tensor(c, "input")
            let rm = try g.tensor(c, "running_mean"), rv = try g.tensor(c, "running_var")
            let w = affine ? try g.tensor(c, "weight") : nil, b = affine ? try g.tensor(c, "bias") : nil
            let out = try run(g, c, [x] + [w, b].compactMap { $0 }) {
                IPRTensor.batchNorm(x, runningMean: rm, runningVar: rv, weight: w, bias: b, training: training)
            }
            expectClose(out, try g.tensor(c, "output"), "\(c) output")
            expectClose(x.grad, try g.tensor(c, "grad_input"), "\(c) grad_input")
            if let w { expectClose(w.grad, try g.tensor(c, "grad_weight"), "\(c) grad_weight") }
            if let b { expectClose(b.grad, try g.tensor(c, "grad_bias"), "\(c) grad_bias") }
            if training {
                expectClose(rm, try g.tensor(c, "running_mean_after"), "\(c) running_mean")
                expectClose(rv, try g.tensor(c, "running_var_after"), "\(c) running_var")
            }
        }
    }

    @Test func groupAndInstanceNorm() throws {
        let g = try Golden("norms")
        for (c, groups) in [("gn", 4), ("gn_noaffine", 2), ("in", 0), ("in_affine", 0)] {
            let x = try g.tensor(c, "input")
            let w = g.has(c, "weight") ? try g.tensor(c, "weight") : nil
            let b = g.has(c, "bias") ? try g.tensor(c, "bias") : nil
            let out = try run(g, c, [x] + [w, b].compactMap { $0 }) {
                groups > 0 ? IPRTensor.groupNorm(x, groups: groups, weight: w, bias: b)
                           : IPRTensor.instanceNorm(x, weight: w, bias: b)
            }
            expectClose(out, try g.tensor(c, "output"), "\(c) output")
            expectClose(x.grad, try g.tensor(c, "grad_input"), "\(c) grad_input")
            if let w { expectClose(w.grad, try g.tensor(c, "grad_weight"), "\(c) grad_weight") }
            if let b { expectClose(b.grad, try g.tensor(c, "grad_bias"), "\(c) grad_bias") }
        }
    }

    @Test func pools() throws {
        let g = try Golden("pools")
        #expect(g.cases.count == 8)
        for c in g.cases {
            let p = try g.params(c)
            let x = try g.tensor(c, "input")
            let out = try run(g, c, [x]) {
                if c.hasPrefix("adaptive") {
                    let o = p["output"] as! [Int]
                    return adaptiveAvgPool2d(x, outputSize: (o[0], o[1]))
                }
                let k = p["kernel"] as! Int, s = p["stride"] as! Int, pad = p["padding"] as! Int
                return c.hasPrefix("max") ? maxPool2d(x, kernel: k, stride: s, padding: pad)
                                          : avgPool2d(x, kernel: k, stride: s, padding: pad)
            }
            expectClose(out, try g.tensor(c, "output"), "\(c) output")
            expectClose(x.grad, try g.tensor(c, "grad_input"), "\(c) grad_input")
        }
    }

    @Test func linearAndMatmul() throws {
        let g = try Golden("linear")
        let x = try g.tensor("linear", "input"), w = try g.tensor("linear", "weight"), b = try g.tensor("linear", "bias")
        let out = try run(g, "linear", [x, w, b]) { IPRTensor.linear(x, weight: w, bias: b) }
        expectClose(out, try g.tensor("linear", "output"), "linear output")
        expectClose(x.grad, try g.tensor("linear", "grad_input"), "linear grad_input")
        expectClose(w.grad, try g.tensor("linear", "grad_weight"), "linear grad_weight")
        expectClose(b.grad, try g.tensor("linear", "grad_bias"), "linear grad_bias")

        let a = try g.tensor("matmul", "a"), m = try g.tensor("matmul", "b")
        let prod = try run(g, "matmul", [a, m]) { a.matmul(m) }
        expectClose(prod, try g.tensor("matmul", "output"), "matmul output")
        expectClose(a.grad, try g.tensor("matmul", "grad_a"), "matmul grad_a")
        expectClose(m.grad, try g.tensor("matmul", "grad_b"), "matmul grad_b")
    }

    @Test func losses() throws {
        let g = try Golden("losses")
        for (c, reduction) in [("ce_mean", Reduction.mean), ("ce_sum", .sum)] {
            let logits = try g.tensor(c, "logits")
            logits.requiresGrad = true
            let loss = crossEntropy(logits, labels: try g.ints(c, "labels"), reduction: reduction)
            loss.backward()
            expectClose(loss, try g.tensor(c, "output"), "\(c) output")
            expectClose(logits.grad, try g.tensor(c, "grad_logits"), "\(c) grad_logits")
        }
        let x = try g.tensor("log_softmax", "input")
        let ls = try run(g, "log_softmax", [x]) { x.logSoftmax(axis: 1) }
        expectClose(ls, try g.tensor("log_softmax", "output"), "log_softmax output")
        expectClose(x.grad, try g.tensor("log_softmax", "grad_input"), "log_softmax grad_input")

        let a = try g.tensor("mse", "a"), b = try g.tensor("mse", "b")
        a.requiresGrad = true; b.requiresGrad = true
        let mse = mseLoss(a, b)
        mse.backward()
        expectClose(mse, try g.tensor("mse", "output"), "mse output")
        expectClose(a.grad, try g.tensor("mse", "grad_a"), "mse grad_a")
        expectClose(b.grad, try g.tensor("mse", "grad_b"), "mse grad_b")

        let ca = try g.tensor("cosine", "a"), cb = try g.tensor("cosine", "b")
        let cos = try run(g, "cosine", [ca, cb]) { cosineSimilarity(ca, cb, axis: 1) }
        expectClose(cos, try g.tensor("cosine", "output"), "cosine output")
        expectClose(ca.grad, try g.tensor("cosine", "grad_a"), "cosine grad_a")
        expectClose(cb.grad, try g.tensor("cosine", "grad_b"), "cosine grad_b")
    }

    @Test func sgdTrajectories() throws {
        let g = try Golden("sgd")
        for c in ["momentum_wd", "nesterov", "dampening", "plain"] {
            let p = try g.params(c)
            let param = try g.tensor(c, "param0")
            param.requiresGrad = true
            let opt = SGD(parameters: [param], learningRate: Float(p["lr"] as! Double),
                          momentum: Float(p["momentum"] as! Double), dampening: Float(p["dampening"] as! Double),
                          weightDecay: Float(p["weight_decay"] as! Double), nesterov: p["nesterov"] as! Bool)
            for step in 0..<3 {
                param.grad = try g.tensor(c, "grad\(step)")
                opt.step()
                expectClose(param, try g.tensor(c, "param\(step + 1)"), "\(c) step \(step + 1)")
            }
        }
    }

    @Test func gradientClipping() throws {
        let g = try Golden("sgd")
        let a = Tensor.zeros([3, 4]), b = Tensor.zeros([5])
        a.grad = try g.tensor("clip", "grad_a")
        b.grad = try g.tensor("clip", "grad_b")
        let norm = clipGradNorm([a, b], maxNorm: 1)
        expectClose(Tensor(norm), try g.tensor("clip", "total_norm"), "total norm")
        expectClose(a.grad, try g.tensor("clip", "clipped_a"), "clipped a")
        expectClose(b.grad, try g.tensor("clip", "clipped_b"), "clipped b")
    }

    @Test func convBatchNormReluPoolStack() throws {
        let g = try Golden("stack")
        let c = "stack"
        var rng = RNG(seed: 0)
        let conv = Conv2d(3, 8, kernel: 3, padding: 1, bias: false, rng: &rng)
        let bn = BatchNorm2d(8)
        conv.weight.assign(try g.tensor(c, "conv_weight"))
        bn.weight!.assign(try g.tensor(c, "bn_weight"))
        bn.bias!.assign(try g.tensor(c, "bn_bias"))
        let net = Sequential([conv, bn, ReLU(), MaxPool2d(kernel: 2)])
        let x = try g.tensor(c, "input")
        let out = try run(g, c, [x]) { net(x, .train) }
        expectClose(out, try g.tensor(c, "output"), "output")
        expectClose(x.grad, try g.tensor(c, "grad_input"), "grad_input")
        expectClose(conv.weight.grad, try g.tensor(c, "grad_conv_weight"), "grad conv weight")
        expectClose(bn.weight!.grad, try g.tensor(c, "grad_bn_weight"), "grad bn weight")
        expectClose(bn.bias!.grad, try g.tensor(c, "grad_bn_bias"), "grad bn bias")
        expectClose(bn.runningMean, try g.tensor(c, "bn_running_mean_after"), "running mean")
        expectClose(bn.runningVar, try g.tensor(c, "bn_running_var_after"), "running var")
        #expect(bn.numBatchesTracked.value == 1)
    }
}
