import IPRTensor

/// The process group data-parallel training runs in: what the trainer asks of it. IPRDistributed's
/// `Collective` (MPI, or one process) refines it, so that IPRModels never links MPI.
public protocol TrainingGroup: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `values` by their element-wise sum over all ranks (every rank passes the same count).
    func allreduceSum(_ values: inout [Float])
    /// Replaces `bytes` on every rank by rank `root`'s (the count may differ before the call).
    func broadcast(_ bytes: inout [UInt8], root: Int)
}

/// Data-parallel SGD over a `TrainingGroup` (as Horovod or PyTorch DDP do it): every rank holds the
/// whole model and walks the same seeded sequence of global batches; rank r computes the gradient of
/// its slice r of each batch; one allreduce per step sums the slices' gradients, each weighted by its
/// share of the batch, so every rank takes the same SGD step a single process would take on the whole
/// batch (up to the order of float summation). Batch norm normalises each slice with its own
/// statistics (as DDP does; group norm is per sample and exact); the running statistics are averaged
/// over ranks at the end of each epoch, before evaluation and checkpoints.
struct DataParallel {
    let group: any TrainingGroup

    /// Every rank gets rank 0's parameters and buffers (after initialisation, `--pretrained` or `--resume`).
    func broadcastState(of model: any Layer) throws {
        var bytes = group.rank == 0 ? SafeTensors.encode(model.stateDict()) : []
        group.broadcast(&bytes, root: 0)
        if group.rank != 0 { try model.load(try SafeTensors.decode(bytes, source: "rank 0's state"), source: "rank 0's state") }
    }

    /// Whether any rank asks to stop (Ctrl-C reaches the ranks at different moments): all stop at the
    /// same step, so none waits alone in the next allreduce.
    func anyStops(_ local: Bool) -> Bool {
        var flag: [Float] = [local ? 1 : 0]
        group.allreduceSum(&flag)
        return flag[0] > 0
    }

    /// Batch-norm running statistics averaged over ranks (each rank saw other slices).
    func averageRunningStatistics(of model: any Layer) throws {
        let state = model.stateDict()
        let names = state.names.filter { $0.hasSuffix("running_mean") || $0.hasSuffix("running_var") }
        guard !names.isEmpty else { return }
        var values = try names.flatMap { try state[$0]!.floats() }
        group.allreduceSum(&values)
        var averaged = SafeTensorsFile()
        var offset = 0
        for name in names {
            let shape = state[name]!.shape, n = shape.reduce(1, *)
            averaged.set(name, SafeTensor(floats: values[offset..<(offset + n)].map { $0 / Float(group.size) }, shape: shape))
            offset += n
        }
        try model.load(averaged, strict: false, source: "running statistics averaged over ranks")
    }
}

/// The gradients of some slices of a batch, each weighted by its share, with the step's numbers, in
/// one flat buffer: what one allreduce carries. Summing slices here (micro-batches) and over ranks
/// (the allreduce) is the same arithmetic, element by element: 2 ranks of one slice and 1 process of
/// 2 slices add the same two products, and float addition of two numbers does not depend on their
/// order, so the two runs take bit-identical steps.
struct GradientSum {
    private(set) var values: [Float]
    /// The metrics' names, in the order of `statistics` after the loss and the hits.
    let keys: [String]
    private let gradientCount: Int

    /// Slice `index` of `slices` balanced contiguous slices of a batch of `count`.
    static func slice(_ index: Int, of slices: Int, count: Int) -> Range<Int> {
        (index * count / slices)..<((index + 1) * count / slices)
    }

    /// Each parameter's gradient (nil counts as zero) times `share`, then `statistics` (already weighted).
    init(_ parameters: [Tensor], share: Float, statistics: [Float], keys: [String]) {
        let gradientCount = parameters.reduce(0) { $0 + $1.count }
        self.gradientCount = gradientCount
        self.keys = keys
        var buffer = [Float](repeating: 0, count: gradientCount + statistics.count)
        buffer.withUnsafeMutableBufferPointer { out in
            var offset = 0
            for p in parameters {
                if let g = p.grad {
                    g.array.withUnsafeBufferPointer { src in for i in 0..<src.count { out[offset + i] = src[i] * share } }
                }
                offset += p.count
            }
            for (i, v) in statistics.enumerated() { out[gradientCount + i] = v }
        }
        values = buffer
    }

    mutating func add(_ other: GradientSum) {
        precondition(other.values.count == values.count && other.keys == keys, "slices of one step report the same metrics")
        values.withUnsafeMutableBufferPointer { out in
            other.values.withUnsafeBufferPointer { src in for i in 0..<src.count { out[i] += src[i] } }
        }
    }

    /// The element-wise sum over the group's ranks.
    mutating func allreduce(over group: any TrainingGroup) { group.allreduceSum(&values) }

    /// Writes the summed gradients back to the parameters; returns the summed statistics.
    func write(to parameters: [Tensor]) -> [Float] {
        var offset = 0
        for p in parameters {
            p.grad = Tensor(shape: p.shape, data: Array(values[offset..<(offset + p.count)]))
            offset += p.count
        }
        return Array(values[gradientCount...])
    }
}
