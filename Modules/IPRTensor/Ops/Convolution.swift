/// 2-D convolution of `x` `[N, C, H, W]` with `weight` `[OC, C, KH, KW]` and optional `bias` `[OC]`
/// (PyTorch's `F.conv2d`, no dilation or groups), through `kernels` (default: `Convolution.kernels`).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                   stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                   kernels: (any ConvolutionKernels)? = nil) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1],
                 "conv2d: input \(x.shape) and weight \(weight.shape) disagree on input channels")
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                         oc: weight.shape[0], kh: weight.shape[2], kw: weight.shape[3],
                         strideH: stride.0, strideW: stride.1, padH: padding.0, padW: padding.1)
    precondition(g.outH > 0 && g.outW > 0, "conv2d: kernel \(g.kh)×\(g.kw) larger than padded input \(g.h)×\(g.w)")
    if let bias { precondition(bias.shape == [g.oc], "conv2d: bias \(bias.shape) for \(g.oc) channels") }
    let kernels = kernels ?? Convolution.kernels
    let out = Tensor(uninitialized: [g.n, g.oc, g.outH, g.outW])
    kernels.forward(g, dst: out.pointer, src: x.pointer, weight: weight.pointer, bias: bias?.pointer)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.result(out, "conv2d", inputs) { gradOut in
        var grads: [Tensor?] = [nil, nil]
        if x.requiresGrad {
            let gx = Tensor(uninitialized: x.shape)
            kernels.backwardData(g, gradSrc: gx.pointer, gradDst: gradOut.pointer, weight: weight.pointer)
            grads[0] = gx
        }
        let needBias = bias?.requiresGrad ?? false
        if weight.requiresGrad || needBias {
            let gw = Tensor(uninitialized: weight.shape)
            let gb = needBias ? Tensor(uninitialized: [g.oc]) : nil
            kernels.backwardWeights(g, gradWeight: gw.pointer, gradBias: gb?.pointer, src: x.pointer, gradDst: gradOut.pointer)
            grads[1] = weight.requiresGrad ? gw : nil
            if bias != nil { grads.append(gb) }
        } else if bias != nil { grads.append(nil) }
        return grads
    }
}

/// The mean of each im2col row of `x` `[N, C, H, W]`: `[N, C·KH·KW]`, where entry `(c, i, j)` averages
/// the zero-padded input that kernel tap `(i, j)` of channel `c` sees over all output positions.
/// Averaging a convolution's output over space is linear, so
/// `conv2d(x, w).mean(axes: [2, 3]) == linear(patchMean(x, …), weight: w.reshape([OC, -1]))`:
/// a matrix-vector product instead of a convolution when only the spatial mean is needed.
public func patchMean(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) -> Tensor {
    precondition(x.rank == 4, "patchMean: input \(x.shape) is not [N, C, H, W]")
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], oc: 1, kh: kernel.0, kw: kernel.1,
                         strideH: stride.0, strideW: stride.1, padH: padding.0, padW: padding.1)
    precondition(g.outH > 0 && g.outW > 0, "patchMean: kernel \(g.kh)×\(g.kw) larger than padded input \(g.h)×\(g.w)")
    let rows = g.c * g.kh * g.kw, scale = 1 / Float(g.outH * g.outW)
    /// The input rows `h` that tap `i` reads, over all output rows (the same for columns).
    func taps(_ i: Int, _ out: Int, _ s: Int, _ pad: Int, _ size: Int) -> [Int] {
        (0..<out).map { $0 * s + i - pad }.filter { $0 >= 0 && $0 < size }
    }
    let rowTaps = (0..<g.kh).map { taps($0, g.outH, g.strideH, g.padH, g.h) }
    let colTaps = (0..<g.kw).map { taps($0, g.outW, g.strideW, g.padW, g.w) }
    let out = Tensor(uninitialized: [g.n, rows])
    for plane in 0..<(g.n * g.c) {
        let src = x.pointer + plane * g.h * g.w, dst = out.pointer + plane * g.kh * g.kw
        for i in 0..<g.kh { for j in 0..<g.kw {
            var sum: Float = 0
            for h in rowTaps[i] { for w in colTaps[j] { sum += src[h * g.w + w] } }
            dst[i * g.kw + j] = sum * scale
        } }
    }
    return Tensor.result(out, "patchMean", [x]) { gradOut in
        let gx = Tensor.zeros(x.shape)
        for plane in 0..<(g.n * g.c) {
            let dst = gx.pointer + plane * g.h * g.w, src = gradOut.pointer + plane * g.kh * g.kw
            for i in 0..<g.kh { for j in 0..<g.kw {
                let d = src[i * g.kw + j] * scale
                for h in rowTaps[i] { for w in colTaps[j] { dst[h * g.w + w] += d } }
            } }
        }
        return [gx]
    }
}
