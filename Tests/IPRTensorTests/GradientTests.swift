import Testing
@testable import IPRTensor

/// Finite-difference checks for every op and layer.
@Suite struct GradientTests {
    @Test func arithmeticWithBroadcasting() {
        let a = randn([2, 3, 4], seed: 1), b = randn([3, 1], seed: 2)
        let pos = randn([1, 4], seed: 3).abs() + 0.5
        checkGradients("add", [a, b]) { $0[0] + $0[1] }
        checkGradients("sub", [a, b]) { $0[0] - $0[1] }
        checkGradients("mul", [a, b]) { $0[0] * $0[1] }
        checkGradients("div", [a, pos]) { $0[0] / $0[1] }
        checkGradients("scalar ops", [a]) { (2 - $0[0] * 3 + 1) / 4 }
        checkGradients("neg", [a]) { -$0[0] }
        let c = randn([2, 3, 4], seed: 31), d = randn([2, 3, 4], seed: 32)
        checkGradients("addReLU", [c, d], eps: 1e-3) { addReLU($0[0], $0[1]) }
        #expect(noGrad { addReLU(c, d) }.array == noGrad { (c + d).relu() }.array)
    }

    @Test func unary() {
        let x = randn([3, 5], seed: 4)
        let pos = randn([3, 5], seed: 5).abs() + 0.3
        checkGradients("pow 2", [x]) { $0[0].pow(2) }
        checkGradients("pow 3", [x]) { $0[0].pow(3) }
        checkGradients("pow -0.5", [pos]) { $0[0].pow(-0.5) }
        checkGradients("exp", [x]) { $0[0].exp() }
        checkGradients("log", [pos]) { $0[0].log() }
        checkGradients("sqrt", [pos]) { $0[0].sqrt() }
        // Away from the kinks, where the derivative is defined.
        let away = x.zipMap(x) { v, _ in v >= 0 ? v + 0.1 : v - 0.1 }
        checkGradients("abs", [away]) { $0[0].abs() }
        checkGradients("relu", [away]) { $0[0].relu() }
        checkGradients("clamp", [away]) { $0[0].clamp(min: -0.5, max: 0.7) }
        checkGradients("sign (zero gradient)", [away]) { $0[0].sign() * 0 + $0[0] }
    }

    @Test func reductions() {
        let x = randn([2, 3, 4], seed: 6)
        checkGradients("sum all", [x]) { $0[0].sum() }
        checkGradients("sum axis 1", [x]) { $0[0].sum(axis: 1) }
        checkGradients("sum axes 0,2 keep", [x]) { $0[0].sum(axes: [0, 2], keepDims: true) }
        checkGradients("mean axis -1", [x]) { $0[0].mean(axis: -1) }
        checkGradients("max axis 1", [x]) { $0[0].max(axis: 1).values }
    }

    @Test func views() {
        let x = randn([2, 3, 4], seed: 8), y = randn([2, 2, 4], seed: 9)
        checkGradients("reshape", [x]) { $0[0].reshape([6, -1]) }
        checkGradients("permute", [x]) { $0[0].permute([2, 0, 1]) }
        checkGradients("transpose", [x]) { $0[0].transpose(0, 2) }
        checkGradients("narrow", [x]) { $0[0].narrow(dim: 2, start: 1, length: 2) }
        checkGradients("concat", [x, y]) { Tensor.concat([$0[0], $0[1]], dim: 1) }
        checkGradients("indexSelect", [x]) { $0[0].indexSelect(dim: 1, indices: [2, 0, 2]) }
        checkGradients("gather", [x]) { $0[0].gather(dim: 2, index: [0, 3, 1, 1, 2, 0, 3, 3, 2, 1, 0, 0], indexShape: [2, 3, 2]) }
        checkGradients("flatten", [x]) { $0[0].flatten() }
    }

    @Test func matmulAndLinear() {
        let a = randn([3, 4], seed: 10), b = randn([4, 5], seed: 11)
        checkGradients("matmul", [a, b]) { $0[0].matmul($0[1]) }
        let x = randn([4, 6], seed: 12), w = randn([3, 6], seed: 13), bias = randn([3], seed: 14)
        checkGradients("linear", [x, w, bias]) { linear($0[0], weight: $0[1], bias: $0[2]) }
        checkGradients("linear no bias", [x, w]) { linear($0[0], weight: $0[1], bias: nil) }
    }

    @Test(arguments: [(3, 1, 1), (5, 1, 2), (3, 2, 1), (1, 1, 0), (4, 3, 2), (3, 2, 0)])
    func conv2dShapes(kernel: Int, stride: Int, padding: Int) {
        let x = randn([2, 3, 7, 6], seed: 15), w = randn([4, 3, kernel, kernel], seed: 16, scale: 0.3)
        let b = randn([4], seed: 17)
        checkGradients("conv2d k\(kernel) s\(stride) p\(padding)", [x, w, b]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (stride, stride), padding: (padding, padding))
        }
    }

    @Test(arguments: [(3, 1, 1), (3, 2, 1), (4, 3, 2), (3, 2, 0)])
    func patchMeanIsTheSpatialMeanOfAConvolution(kernel: Int, stride: Int, padding: Int) {
        let x = randn([2, 3, 7, 6], seed: 30), w = randn([4, 3, kernel, kernel], seed: 31, scale: 0.3)
        let conv = noGrad { conv2d(x, weight: w, stride: (stride, stride), padding: (padding, padding)).mean(axes: [2, 3]) }
        let viaPatches = noGrad {
            linear(patchMean(x, kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding)),
                   weight: w.reshape([4, -1]), bias: nil)
        }
        #expect(relativeError(viaPatches, conv) < 1e-5)
        checkGradients("patchMean k\(kernel) s\(stride) p\(padding)", [x]) {
            patchMean($0[0], kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
        }
    }

    @Test func maxPoolTiesAndNaNsChooseLikePyTorch() {
        // PyTorch's rules: in window 1 (a tie) the gradient goes to the first maximum; in window 2
        // the NaN is the value and takes the gradient.
        let x = Tensor(shape: [1, 1, 2, 4], data: [1, 3, .nan, 0,
                                                   3, 2, 5, 1])
        x.requiresGrad = true
        let y = maxPool2d(x, kernel: 2)
        #expect(y.array[0] == 3 && y.array[1].isNaN)
        y.backward(Tensor(shape: [1, 1, 1, 2], data: [10, 20]))
        #expect(x.grad?.array == [0, 10, 20, 0, 0, 0, 0, 0])
        // An infinite gradient reaches the chosen element only (0 · ∞ would be NaN elsewhere).
        x.grad = nil
        maxPool2d(x, kernel: 2).backward(Tensor(shape: [1, 1, 1, 2], data: [.infinity, -1]))
        #expect(x.grad?.array == [0, .infinity, -1, 0, 0, 0, 0, 0])
    }

    @Test func pooling() {
        // Distinct values so max-pool windows have no ties.
        var rng = RNG(seed: 18)
        let x = Tensor(shape: [2, 2, 7, 7], data: rng.permutation(196).map { Float($0) / 10 })
        checkGradients("maxPool2d k2", [x], eps: 1e-3) { maxPool2d($0[0], kernel: 2) }
        checkGradients("maxPool2d k3 s2 p1", [x], eps: 1e-3) { maxPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        checkGradients("avgPool2d k3 s2 p1", [x]) { avgPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        checkGradients("adaptiveAvgPool2d 3×2", [x]) { adaptiveAvgPool2d($0[0], outputSize: (3, 2)) }
    }

    @Test func normalization() {
        let x = randn([3, 4, 3, 2], seed: 19, scale: 2) + 1
        let w = randn([4], seed: 20) + 1.5, b = randn([4], seed: 21)
        checkGradients("batchNorm train", [x, w, b]) {
            batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true)
        }
        let rm = randn([4], seed: 22), rv = randn([4], seed: 23).abs() + 0.5
        checkGradients("batchNorm eval", [x, w, b]) {
            batchNorm($0[0], runningMean: rm, runningVar: rv, weight: $0[1], bias: $0[2], training: false)
        }
        checkGradients("batchNorm [N, C]", [randn([5, 3], seed: 24)]) {
            batchNorm($0[0], runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: true)
        }
        checkGradients("groupNorm", [x, w, b]) { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }
        checkGradients("instanceNorm", [x]) { instanceNorm($0[0]) }
        checkGradients("instanceNorm affine", [x, w, b]) { instanceNorm($0[0], weight: $0[1], bias: $0[2]) }
    }

    @Test func losses() {
        let logits = randn([5, 4], seed: 25, scale: 2), labels = [0, 3, 1, 1, 2]
        checkGradients("crossEntropy mean", [logits]) { crossEntropy($0[0], labels: labels) }
        checkGradients("crossEntropy sum", [logits]) { crossEntropy($0[0], labels: labels, reduction: .sum) }
        checkGradients("logSoftmax", [logits]) { $0[0].logSoftmax(axis: 1) }
        checkGradients("logSoftmax axis 0", [logits]) { $0[0].logSoftmax(axis: 0) }
        let a = randn([3, 6], seed: 26), b = randn([3, 6], seed: 27)
        checkGradients("mseLoss", [a, b]) { mseLoss($0[0], $0[1]) }
        checkGradients("cosineSimilarity", [a, b]) { cosineSimilarity($0[0], $0[1], axis: 1) }
    }

    @Test func dropoutUsesOneMaskPerSeed() {
        let x = randn([4, 6], seed: 28)
        checkGradients("dropout", [x]) { input in
            var rng = RNG(seed: 3)   // same mask on every evaluation
            return dropout(input[0], p: 0.4, training: true, rng: &rng)
        }
    }

    @Test func layers() {
        var rng = RNG(seed: 29)
        let x = randn([2, 3, 6, 6], seed: 30)
        let conv = Conv2d(3, 4, kernel: 3, padding: 1, rng: &rng)
        let net = Sequential([conv, BatchNorm2d(4), ReLU(), MaxPool2d(kernel: 2), AvgPool2d(kernel: 1),
                              GroupNorm(groups: 2, channels: 4), InstanceNorm2d(4, affine: true),
                              AdaptiveAvgPool2d(2), Dropout(p: 0, seed: 1), Flatten(), Linear(16, 3, rng: &rng)])
        let params = net.namedParameters().map(\.tensor)
        checkGradients("Sequential of every layer", [x] + params, eps: 1e-3, tolerance: 3e-2) { _ in net(x, .train) }
    }
}

@Suite struct FusedReLUTests {
    @Test func fusedNormReLUEqualsNormThenReLU() {
        let x = randn([3, 4, 3, 2], seed: 40, scale: 2)
        let w = randn([4], seed: 41) + 1.5, b = randn([4], seed: 42)
        let rm = randn([4], seed: 43), rv = randn([4], seed: 44).abs() + 0.5
        let cases: [(String, (Tensor, Bool) -> Tensor)] = [
            ("batchNorm train", { batchNorm($0, runningMean: nil, runningVar: nil, weight: w, bias: b, training: true, relu: $1) }),
            ("batchNorm eval", { batchNorm($0, runningMean: rm, runningVar: rv, weight: w, bias: b, training: false, relu: $1) }),
            ("groupNorm", { groupNorm($0, groups: 2, weight: w, bias: b, relu: $1) }),
            ("instanceNorm", { instanceNorm($0, relu: $1) }),
        ]
        for (name, f) in cases {
            let gy = randn([3, 4, 3, 2], seed: 45)
            let a = x.copy(), c = x.copy()
            a.requiresGrad = true; c.requiresGrad = true
            let fused = f(a, true), separate = f(c, false).relu()
            fused.backward(gy); separate.backward(gy)
            #expect(relativeError(fused, separate) < 1e-6, "\(name) forward")
            #expect(relativeError(a.grad!, c.grad!) < 1e-5, "\(name) gradient")
            checkGradients("\(name) fused relu", [x.copy()], eps: 1e-3) { f($0[0], true) }
        }
    }
}
