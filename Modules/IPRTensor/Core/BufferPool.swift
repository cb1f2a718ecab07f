#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where tensor buffers come from. Training allocates and frees the same activation sizes every
/// step; fresh memory from the system costs a page fault per 4 KiB on first touch, so blocks of at
/// least `pooledBytes` are kept after use and handed out again: for the same (rounded) size, or
/// else for a request of at least half the block's size.
///
/// The cache is bounded: when a request misses and live + cached bytes exceed `cacheFactor` × the
/// most ever live at once, cached blocks go back to the system, largest first. Each block is its
/// own mapping (see `mallocConfigured`), so returning one returns its memory. Before this pool, a
/// heap that never shrank held 974 MiB for ResNet-18 inference whose tensors peak at 298 MiB.
///
/// Smaller blocks go straight to malloc, which serves them well.
public final class BufferPool: Sendable {
    /// The pool every `TensorStorage` allocates from.
    public static let shared = BufferPool()

    /// Smallest block the pool keeps.
    public static let pooledBytes = 1 << 20
    /// Pooled sizes are rounded up to this, so near-equal shapes share blocks.
    static let granule = 64 << 10

    /// Live + cached bytes may reach this multiple of the live peak. With 1, a training step that
    /// frees activations of one size while it allocates gradients of another kept evicting and
    /// faulting blocks back in (AlexNet's step 18% slower); what a steady loop needs cached is the
    /// sum of each size's peak, well below twice the peak of the sum.
    public let cacheFactor: Int

    public struct Statistics: Sendable, Equatable {
        /// Bytes of pooled-size blocks in use, kept for reuse, and the most ever in use at once.
        public var liveBytes = 0, cachedBytes = 0, peakLiveBytes = 0
    }

    private struct State {
        var stats = Statistics()
        /// Cached block addresses by block size (addresses as integers: raw pointers are not Sendable).
        var cached: [Int: [UInt]] = [:]
        /// The size of every pooled block in use, by address: a request may get a larger block.
        var inUse: [UInt: Int] = [:]

        /// A cached block for a request of `size` bytes: one of that size, or else the smallest
        /// of at most `2 × size` (so activations of a later, smaller stage reuse an earlier
        /// stage's blocks instead of adding their own).
        mutating func takeCached(_ size: Int) -> (address: UInt, size: Int)? {
            let fit = cached[size]?.isEmpty == false ? size
                : cached.keys.filter { $0 > size && $0 <= 2 * size && cached[$0]?.isEmpty == false }.min()
            guard let fit, let address = cached[fit]?.popLast() else { return nil }
            return (address, fit)
        }
    }

    private let state = Mutex(State())

    public init(cacheFactor: Int = 2) {
        precondition(cacheFactor >= 1, "BufferPool: cacheFactor \(cacheFactor) < 1")
        self.cacheFactor = cacheFactor
        Self.mallocConfigured
    }

    /// A 64-byte aligned block of at least `bytes` bytes; give it back with `release` and the same `bytes`.
    public func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        guard bytes >= Self.pooledBytes else { return Self.systemAllocate(bytes) }
        let size = Self.rounded(bytes)
        let (reused, evicted): (UInt?, [UInt]) = state.withLock { s in
            if let block = s.takeCached(size) {
                s.stats.cachedBytes -= block.size
                s.stats.liveBytes += block.size
                s.stats.peakLiveBytes = max(s.stats.peakLiveBytes, s.stats.liveBytes)
                s.inUse[block.address] = block.size
                return (block.address, [])
            }
            s.stats.liveBytes += size
            s.stats.peakLiveBytes = max(s.stats.peakLiveBytes, s.stats.liveBytes)
            var evicted: [UInt] = []
            while s.stats.liveBytes + s.stats.cachedBytes > cacheFactor * s.stats.peakLiveBytes,
                  let largest = s.cached.filter({ !$0.value.isEmpty }).keys.max() {
                evicted.append(s.cached[largest]!.removeLast())
                s.stats.cachedBytes -= largest
            }
            return (nil, evicted)
        }
        evicted.forEach { free(UnsafeMutableRawPointer(bitPattern: $0)) }
        if let reused { return UnsafeMutableRawPointer(bitPattern: reused)! }
        let block = Self.systemAllocate(size)
        state.withLock { $0.inUse[UInt(bitPattern: block)] = size }
        return block
    }

    public func release(_ pointer: UnsafeMutableRawPointer, _ bytes: Int) {
        guard bytes >= Self.pooledBytes else { return free(pointer) }
        let address = UInt(bitPattern: pointer)
        state.withLock { s in
            guard let size = s.inUse.removeValue(forKey: address) else { preconditionFailure("BufferPool: release of a block it did not give") }
            s.stats.liveBytes -= size
            s.stats.cachedBytes += size
            s.cached[size, default: []].append(address)
        }
    }

    public var statistics: Statistics { state.withLock { $0.stats } }

    /// Returns every cached block to the system (e.g. after training, before a long idle phase).
    public func releaseCached() {
        let blocks = state.withLock { s in
            let all = s.cached.values.flatMap { $0 }
            s.cached = [:]
            s.stats.cachedBytes = 0
            return all
        }
        blocks.forEach { free(UnsafeMutableRawPointer(bitPattern: $0)) }
    }

    private static func rounded(_ bytes: Int) -> Int { (bytes + granule - 1) / granule * granule }

    private static func systemAllocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else { fatalError("out of memory allocating \(bytes) bytes") }
        return raw
    }

    /// A fixed mmap threshold at `pooledBytes`. glibc's default threshold rises after each large
    /// free, and large blocks then come from a heap that fragments and never shrinks; fixed, every
    /// pooled block and the convolution arena are their own mappings. Fixing it also fixes the trim
    /// threshold at 128 KiB, and the heap then gave back (and faulted in again) the top block after
    /// every data-loader batch (3× the loader's page faults), so the heap keeps up to 32 MiB free.
    private static let mallocConfigured: Void = {
        #if canImport(Glibc)
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, Int32(pooledBytes))
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 32 << 20)
        #endif
    }()
}

#if canImport(Glibc)
// <malloc.h> is not part of the Glibc module map; mallopt has a plain C ABI (int, int) -> int.
@_silgen_name("mallopt")
private func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif
