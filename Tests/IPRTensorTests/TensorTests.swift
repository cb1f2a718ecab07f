import Foundation
import Testing
@testable import IPRTensor

@Suite struct TensorTests {
    @Test func creation() {
        #expect(Tensor.zeros([2, 3]).array == [Float](repeating: 0, count: 6))
        #expect(Tensor.ones([2]).array == [1, 1])
        #expect(Tensor.full([1, 2], 7).array == [7, 7])
        #expect(Tensor.arange(4).array == [0, 1, 2, 3])
        #expect(Tensor(3).shape == [] && Tensor(3).item == 3)
        let t = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        #expect(t[1, 2] == 6 && t.strides == [3, 1])
    }

    @Test func seededRandomIsReproducibleAndWellDistributed() {
        var a = RNG(seed: 42), b = RNG(seed: 42), c = RNG(seed: 43)
        let x = Tensor.normal([10_000], rng: &a), y = Tensor.normal([10_000], rng: &b), z = Tensor.normal([10_000], rng: &c)
        #expect(x.array == y.array)
        #expect(x.array != z.array)
        let mean = x.mean().item, std = (x - mean).pow(2).mean().sqrt().item
        #expect(Swift.abs(mean) < 0.05 && Swift.abs(std - 1) < 0.05)
        var r = RNG(seed: 1)
        let u = Tensor.uniform([10_000], low: -1, high: 1, rng: &r)
        #expect(u.array.allSatisfy { $0 >= -1 && $0 < 1 } && Swift.abs(u.mean().item) < 0.05)
        let m = Tensor.bernoulli([10_000], p: 0.3, rng: &r)
        #expect(Swift.abs(m.mean().item - 0.3) < 0.02)
        let p = Tensor.permutation(50, rng: &r).array.map(Int.init)
        #expect(p.sorted() == Array(0..<50) && p != Array(0..<50))
        var s1 = RNG(seed: 5, stream: 1), s2 = RNG(seed: 5, stream: 2)
        #expect(s1.next() != s2.next())
    }

    @Test func broadcastingArithmetic() {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        #expect((a + Tensor(shape: [3], data: [10, 20, 30])).array == [11, 22, 33, 14, 25, 36])
        #expect((a * Tensor(shape: [2, 1], data: [2, 3])).array == [2, 4, 6, 12, 15, 18])
        #expect((Tensor(shape: [2, 1], data: [1, 2]) - Tensor(shape: [1, 3], data: [1, 2, 3])).array == [0, -1, -2, 1, 0, -1])
        #expect((a / 2).array == [0.5, 1, 1.5, 2, 2.5, 3])
        #expect((1 - a).array == [0, -1, -2, -3, -4, -5])
        let nchw = Tensor.ones([2, 3, 2, 2]) * Tensor(shape: [1, 3, 1, 1], data: [1, 2, 3])
        #expect(nchw.sum(axes: [0, 2, 3]).array == [8, 16, 24])
        #expect(Shape.broadcast([2, 3], [4, 3]) == nil)
    }

    @Test func reductionsAndViews() {
        let a = Tensor(shape: [2, 3], data: [1, 5, 3, 4, 2, 6])
        #expect(a.sum().item == 21)
        #expect(a.sum(axis: 0).array == [5, 7, 9])
        #expect(a.sum(axis: 1, keepDims: true).shape == [2, 1])
        #expect(a.mean(axis: 1).array == [3, 4])
        #expect(a.max(axis: 1).values.array == [5, 6])
        #expect(a.argmax(axis: 1) == [1, 2])
        #expect(a.argmax(axis: 0) == [1, 0, 1])
        #expect(a.transpose(0, 1).array == [1, 4, 5, 2, 3, 6])
        #expect(a.reshape([3, -1]).shape == [3, 2])
        #expect(a.reshape([6]).storage === a.storage)
        #expect(a.narrow(dim: 1, start: 1, length: 2).array == [5, 3, 2, 6])
        #expect(Tensor.concat([a, a.narrow(dim: 0, start: 0, length: 1)], dim: 0).array == [1, 5, 3, 4, 2, 6, 1, 5, 3])
        #expect(a.indexSelect(dim: 0, indices: [1, 1, 0]).array == [4, 2, 6, 4, 2, 6, 1, 5, 3])
        #expect(a.gather(dim: 1, index: [2, 0], indexShape: [2, 1]).array == [3, 4])
        let b = Tensor.arange(24).reshape([2, 3, 4])
        #expect(b.permute([2, 0, 1])[3, 1, 2] == b[1, 2, 3])
        #expect(b.sum(axes: [0, 2]).array == [60, 92, 124])
    }

    @Test func unaryValues() {
        let x = Tensor(shape: [4], data: [-2, -0.5, 0, 3])
        #expect(x.relu().array == [0, 0, 0, 3])
        #expect(x.abs().array == [2, 0.5, 0, 3])
        #expect(x.sign().array == [-1, -1, 0, 1])
        #expect(x.clamp(min: -1, max: 1).array == [-1, -0.5, 0, 1])
        #expect(x.pow(2).array == [4, 0.25, 0, 9])
        #expect(Tensor(shape: [2], data: [0, 1]).exp().array.map { ($0 * 1000).rounded() } == [1000, 2718])
    }
}

@Suite struct AutogradTests {
    @Test func accumulatesAcrossUsesAndCalls() {
        let x = Tensor(shape: [2], data: [1, 2])
        x.requiresGrad = true
        (x * x + x).sum().backward()            // d/dx = 2x + 1
        #expect(x.grad?.array == [3, 5])
        (x * 3).sum().backward()                 // accumulates
        #expect(x.grad?.array == [6, 8])
        x.zeroGrad()
        #expect(x.grad == nil)
    }

    @Test func noGradDetachAndFrozenLeaves() {
        let w = Tensor(shape: [2], data: [1, 2]), frozen = Tensor(shape: [2], data: [3, 4])
        w.requiresGrad = true
        let y = noGrad { w * 2 }
        #expect(!y.requiresGrad)
        #expect(!(w.detach() * 2).requiresGrad)
        let z = (w * frozen).sum()
        z.backward()
        #expect(w.grad?.array == [3, 4])
        #expect(frozen.grad == nil)
    }

    @Test func gradientWithRespectToAnInputLeaf() {
        // Passports are optimised as leaves feeding a frozen network.
        var rng = RNG(seed: 1)
        let conv = Conv2d(2, 3, kernel: 3, padding: 1, rng: &rng)
        conv.setRequiresGrad(false)
        let passport = Tensor.normal([1, 2, 4, 4], rng: &rng)
        passport.requiresGrad = true
        conv(passport).mean(axes: [0, 2, 3]).sum().backward()
        #expect(passport.grad != nil && passport.grad!.shape == [1, 2, 4, 4])
        #expect(conv.weight.grad == nil)
    }

    @Test func diamondGraphSumsBothBranches() {
        let x = Tensor(shape: [1], data: [3])
        x.requiresGrad = true
        let a = x * 2, b = x.pow(2)
        (a * b).sum().backward()                 // d(2x·x²)/dx = 6x² = 54
        #expect(x.grad?.item == 54)
    }

    @Test func noGradIsScopedToItsTask() async {
        let x = Tensor(shape: [1], data: [1])
        x.requiresGrad = true
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { noGrad { (x * 2).requiresGrad } }
            group.addTask { (x * 2).requiresGrad }
            var results: [Bool] = []
            for await r in group { results.append(r) }
            #expect(results.sorted { !$0 && $1 } == [false, true])
        }
    }

    @Test func graphIsFreedWithItsOutput() {
        weak var weakOut: Tensor?
        let x = Tensor(shape: [3], data: [1, 2, 3])
        x.requiresGrad = true
        do {
            let out = x.exp().sqrt().relu()
            weakOut = out
            out.sum().backward()
        }
        #expect(weakOut == nil, "a reference cycle keeps the graph alive")
    }

    @Test func outputsWithoutBackwardAreFreed() {
        // Without a backward pass nothing breaks a cycle: an op whose backward rule captured its own
        // output would leak it (and the graph behind it) here.
        var rng = RNG(seed: 2)
        let x = Tensor.normal([1, 2, 4, 4], rng: &rng)
        x.requiresGrad = true
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("maxPool2d 2×2", { maxPool2d($0, kernel: 2) }),
            ("maxPool2d 3×3", { maxPool2d($0, kernel: 3, stride: 2, padding: 1) }),
            ("relu", { $0.relu() }), ("exp", { $0.exp() }), ("batchNorm", {
                batchNorm($0, runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: true) }),
        ]
        for (name, op) in ops {
            weak var weakOut: Tensor?
            do { weakOut = op(x) }
            #expect(weakOut == nil, "\(name): its output outlives every reference to it")
        }
    }
}

@Suite struct ProcessTuningTests {
    @Test func picksAFastKernelWhenOpenBLASMisdetects() {
        let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl"]
        let sapphire = CPUInfo(vendor: "GenuineIntel", family: 6, flags: avx512)
        let zen4 = CPUInfo(vendor: "AuthenticAMD", family: 25, flags: avx512)
        let zen5 = CPUInfo(vendor: "AuthenticAMD", family: 26, flags: avx512)
        let zen3 = CPUInfo(vendor: "AuthenticAMD", family: 25, flags: ["avx2", "fma"])
        let old = CPUInfo(vendor: "GenuineIntel", family: 6, flags: ["sse3"])
        #expect(ProcessTuning.betterKernel(current: "Prescott", cpu: sapphire) == "SkylakeX")
        #expect(ProcessTuning.betterKernel(current: "Cooperlake", cpu: sapphire) == nil)
        #expect(ProcessTuning.betterKernel(current: "Cooperlake", cpu: zen4) == "Haswell")
        #expect(ProcessTuning.betterKernel(current: "Haswell", cpu: zen4) == nil)
        #expect(ProcessTuning.betterKernel(current: "Haswell", cpu: zen5) == "SkylakeX")
        #expect(ProcessTuning.betterKernel(current: "Cooperlake", cpu: zen5) == nil)
        #expect(ProcessTuning.betterKernel(current: "Zen", cpu: zen3) == nil)
        #expect(ProcessTuning.betterKernel(current: "Prescott", cpu: old) == nil)
        #expect(ProcessTuning.betterKernel(current: "Prescott", cpu: CPUInfo()) == nil)   // nothing known: no change
    }

    @Test func readsVendorFamilyAndFlagsOfTheFirstProcessor() {
        let text = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            cpu family\t: 26
            model name\t: AMD EPYC
            flags\t\t: fpu avx2 fma avx512f
            """
        let info = CPUInfo.parse(text)
        #expect(info.vendor == "AuthenticAMD" && info.family == 26 && info.flags == ["fpu", "avx2", "fma", "avx512f"])
        #expect(CPUInfo.parse("Processor\t: AArch64\nFeatures\t: fp asimd").vendor.isEmpty)   // no x86 fields
        _ = CPUInfo.read()   // any machine: reads or stays empty, never traps
    }
}

@Suite struct GraphReleaseTests {
    @Test func backwardReleasesSavedActivationsUnlessRetained() {
        let x = Tensor(shape: [3], data: [1, 2, 3])
        x.requiresGrad = true
        weak var weakHidden: Tensor?
        let out: Tensor
        do {
            let hidden = x.exp()
            weakHidden = hidden
            out = (hidden * 2).sum()
        }
        #expect(weakHidden != nil)          // kept alive by the graph
        out.backward()
        #expect(weakHidden == nil)          // released during backward, as PyTorch does
        #expect(!out.requiresGrad)

        let y = (x * x).sum()
        y.backward(retainGraph: true)
        y.backward()
        // 2·e^x from the first graph, plus 2x twice from the retained one.
        let expected = [Float(1), 2, 3].map { 2 * expf($0) + 4 * $0 }
        #expect(zip(x.grad!.array, expected).allSatisfy { Swift.abs($0 - $1) < 1e-4 })
    }
}
