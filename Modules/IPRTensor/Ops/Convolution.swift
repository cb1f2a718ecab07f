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
