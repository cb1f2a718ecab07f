#if canImport(Glibc)
import Glibc
#endif

/// A contiguous, 64-byte aligned Float32 buffer with identity; tensors that are free views share one.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Allocates `count` floats, zero-filled when `zeroed`.
    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "negative element count \(count)")
        Self.configureAllocatorOnce
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else { fatalError("out of memory allocating \(bytes) bytes") }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        if zeroed { pointer.initialize(repeating: 0, count: count) }
    }

    deinit { free(pointer) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// Training allocates and frees the same activation sizes every step. glibc serves big blocks
    /// with mmap/munmap, so every step would page-fault its activations in again; raising the mmap
    /// and trim thresholds keeps freed blocks in the heap for reuse — a buffer pool for free.
    private static let configureAllocatorOnce: Void = {
        #if canImport(Glibc)
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 1 << 30)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 1 << 30)
        #endif
    }()
}

#if canImport(Glibc)
// <malloc.h> is not part of the Glibc module map; mallopt has a plain C ABI (int, int) -> int.
@_silgen_name("mallopt")
private func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif
