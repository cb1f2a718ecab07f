import CMPI
import Foundation
import IPRTensor

/// `Collective` over MPI's world communicator (Open MPI): one process per rank, started by
/// `mpirun -np N`. Collectives are MPI's own (`MPI_Allreduce`, `MPI_Bcast`, `MPI_Barrier`), which pick
/// shared memory between ranks of one machine and the network between machines.
public final class MPICollective: Collective {
    public let rank: Int
    public let size: Int
    nonisolated(unsafe) private static var shared: MPICollective?

    /// Whether this process was started by `mpirun`/`mpiexec` (Open MPI's or a PMI launcher's
    /// environment), so that a plain start never touches MPI.
    public static var isLaunched: Bool {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"].contains { env[$0] != nil }
    }

    /// The world group, MPI started on first use (once per process; `finalize()` ends it).
    public static func world() throws -> MPICollective {
        if let shared { return shared }
        var provided: Int32 = 0
        guard MPI_Init_thread(nil, nil, ipr_mpi_thread_serialized(), &provided) == ipr_mpi_success() else {
            throw IPRDistributedError(.mpi, "MPI_Init_thread failed")
        }
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(ipr_mpi_comm_world(), &rank)
        MPI_Comm_size(ipr_mpi_comm_world(), &size)
        let world = MPICollective(rank: Int(rank), size: Int(size))
        shared = world
        return world
    }

    private init(rank: Int, size: Int) { self.rank = rank; self.size = size }

    /// Ends MPI in this process (call once, after the last collective, on every rank).
    public static func finalize() {
        guard shared != nil else { return }
        MPI_Finalize()
        shared = nil
    }

    public func allreduceSum(_ values: inout [Float]) {
        // In chunks below Int32.max elements: MPI counts are C ints.
        let chunk = Int(Int32.max)
        values.withUnsafeMutableBufferPointer { buffer in
            var start = 0
            while start < buffer.count {
                let n = min(chunk, buffer.count - start)
                check(MPI_Allreduce(ipr_mpi_in_place(), buffer.baseAddress! + start, Int32(n), ipr_mpi_float(), ipr_mpi_sum(), ipr_mpi_comm_world()), "MPI_Allreduce")
                start += n
            }
        }
    }

    public func broadcast(_ bytes: inout [UInt8], root: Int) {
        var count = Int64(bytes.count)
        check(MPI_Bcast(&count, 8, ipr_mpi_byte(), Int32(root), ipr_mpi_comm_world()), "MPI_Bcast")
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(count)) }
        guard count > 0 else { return }
        bytes.withUnsafeMutableBytes { buffer in
            var start = 0
            while start < buffer.count {
                let n = min(Int(Int32.max), buffer.count - start)
                check(MPI_Bcast(buffer.baseAddress! + start, Int32(n), ipr_mpi_byte(), Int32(root), ipr_mpi_comm_world()), "MPI_Bcast")
                start += n
            }
        }
    }

    public func barrier() { check(MPI_Barrier(ipr_mpi_comm_world()), "MPI_Barrier") }

    public func abort(code: Int32) -> Never {
        MPI_Abort(ipr_mpi_comm_world(), code)
        exit(code)
    }

    /// MPI's default error handler aborts on failure; this is for a handler that returns.
    private func check(_ status: Int32, _ call: String) {
        if status != ipr_mpi_success() {
            FileHandle.standardError.write(Data("rank \(rank): \(call) failed (MPI error \(status))\n".utf8))
            abort(code: 1)
        }
    }
}
