import Foundation
import IPRModels
import IPRTensor

/// The collective operations data-parallel work needs, over a group of `size` processes numbered
/// `rank` 0..<size. Every process must make the same calls in the same order (as with MPI): a call
/// one rank skips leaves the others waiting.
/// It is the `TrainingGroup` the trainer asks for (rank, size, allreduce, broadcast) and more.
public protocol Collective: TrainingGroup {
    /// Returns when every rank has called it.
    func barrier()
    /// Ends every process of the group with `code`, now (a rank that failed alone must not leave
    /// the others waiting in a collective).
    func abort(code: Int32) -> Never
}

extension Collective {
    public var isRoot: Bool { rank == 0 }

    /// Rank `root`'s value of `value`, on every rank.
    public func broadcast(_ value: UInt64, root: Int = 0) -> UInt64 {
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        broadcast(&bytes, root: root)
        return bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    /// Checks that every rank describes its work the same way (`description`: the settings and data
    /// that must agree). Throws the same error on every rank when they do not, naming `what` and the
    /// ranks that differ from rank 0, so that none goes on alone and none hangs.
    public func agree(on description: String, what: String) throws {
        var root = Array(description.utf8)
        broadcast(&root, root: 0)
        var differs = [Float](repeating: 0, count: size)
        differs[rank] = root == Array(description.utf8) ? 0 : 1
        allreduceSum(&differs)
        let ranks = differs.indices.filter { differs[$0] > 0 }
        guard ranks.isEmpty else {
            let who = (ranks.count == 1 ? "rank " : "ranks ") + ranks.map(String.init).joined(separator: ", ")
            throw IPRDistributedError(.disagreement, "\(who) of \(size) \(ranks.count == 1 ? "differs" : "differ") from rank 0 in \(what); every rank must run the same command on the same data (rank 0 has: \(String(decoding: root, as: UTF8.self)))")
        }
    }
}

/// One process alone: every collective is the identity.
public final class SingleProcess: Collective {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ values: inout [Float]) {}
    public func broadcast(_ bytes: inout [UInt8], root: Int) {}
    public func barrier() {}
    public func abort(code: Int32) -> Never { exit(code) }
}
