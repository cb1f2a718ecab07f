import IPRTensor

/// torchvision `ToTensor`: an image as a `[C, H, W]` Float tensor in [0, 1] (each byte divided by 255).
public struct ToTensor: Sendable {
    public init() {}
    /// `[C, H, W]` floats, each byte / 255.
    public func callAsFunction(_ image: Image) -> Tensor {
        let out = Tensor(shape: [image.channels, image.height, image.width], storage: TensorStorage(count: image.pixels.count, zeroed: false))
        ChannelTable.toTensor(channels: image.channels).write(image, to: out.pointer)
        return out
    }
}

/// torchvision `Normalize`: `(x - mean[c]) / std[c]` per channel of a `[C, H, W]` or `[N, C, H, W]` tensor.
public struct Normalize: Sendable, Equatable {
    /// Per-channel mean and standard deviation (one value applies to every channel).
    public var mean: [Float], std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(!mean.isEmpty && mean.count == std.count, "Normalize: mean and std need the same, non-zero count")
        precondition(std.allSatisfy { $0 != 0 }, "Normalize: std must not be zero")
        self.mean = mean; self.std = std
    }

    /// Python floats rounded to Float32, as `torch.as_tensor(mean, dtype=torch.float32)` rounds them.
    init(_ mean: [Double], _ std: [Double]) { self.init(mean: mean.map { Float($0) }, std: std.map { Float($0) }) }

    /// ImageNet statistics, the reference DeepIPR's default for every dataset (SPEC §5).
    public static let imageNet = Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    /// CIFAR-10 statistics as WatermarkNN uses them.
    public static let cifar10 = Normalize([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])

    /// The normalised copy of `tensor` (`[C, H, W]` or `[N, C, H, W]`, C = `mean.count` or any C for one value).
    public func callAsFunction(_ tensor: Tensor) -> Tensor {
        precondition(tensor.rank == 3 || tensor.rank == 4, "Normalize: expected [C,H,W] or [N,C,H,W], got \(tensor.shape)")
        let c = tensor.shape[tensor.rank - 3], plane = tensor.shape[tensor.rank - 1] * tensor.shape[tensor.rank - 2]
        precondition(mean.count == 1 || mean.count == c, "Normalize: \(mean.count) means for \(c) channels")
        let out = tensor.detach().copy()
        let p = out.pointer
        for i in 0..<(tensor.count / max(plane, 1)) {
            let ch = mean.count == 1 ? 0 : i % c
            let m = mean[ch], s = std[ch]
            for j in 0..<plane { p[i * plane + j] = (p[i * plane + j] - m) / s }
        }
        return out
    }
}

/// The 256 output values per channel of to-tensor (+ normalise), computed with the same Float
/// operations as torchvision (`x / 255`, then `(x - mean) / std`), so a lookup gives identical bits.
struct ChannelTable: Sendable {
    let channels: Int
    let table: [Float]

    init(channels: Int, normalize: Normalize?) {
        self.channels = channels
        var table = [Float](repeating: 0, count: 256 * channels)
        for c in 0..<channels {
            for v in 0..<256 {
                var x = Float(v) / 255
                if let n = normalize {
                    let k = n.mean.count == 1 ? 0 : c
                    x = (x - n.mean[k]) / n.std[k]
                }
                table[c * 256 + v] = x
            }
        }
        self.table = table
    }

    static func toTensor(channels: Int) -> ChannelTable { ChannelTable(channels: channels, normalize: nil) }

    /// Writes `image` as CHW floats at `out` (`channels * height * width` elements).
    func write(_ image: Image, to out: UnsafeMutablePointer<Float>) {
        precondition(image.channels == channels, "ChannelTable: image has \(image.channels) channels, table \(channels)")
        let plane = image.width * image.height, c = channels
        image.pixels.withUnsafeBufferPointer { src in
            table.withUnsafeBufferPointer { lut in
                guard let s = src.baseAddress else { return }
                if c == 3 {
                    let r = out, g = out + plane, b = out + 2 * plane
                    let lr = lut.baseAddress!, lg = lr + 256, lb = lr + 512
                    for i in 0..<plane {
                        r[i] = lr[Int(s[3 * i])]; g[i] = lg[Int(s[3 * i + 1])]; b[i] = lb[Int(s[3 * i + 2])]
                    }
                } else {
                    for ch in 0..<c {
                        let l = lut.baseAddress! + ch * 256, o = out + ch * plane
                        for i in 0..<plane { o[i] = l[Int(s[i * c + ch])] }
                    }
                }
            }
        }
    }
}
