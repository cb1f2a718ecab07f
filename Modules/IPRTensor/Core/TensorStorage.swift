#if canImport(Glibc)
import Glibc
#endif

/// A contiguous, 64-byte aligned Float32 buffer with identity; tensors that are free views share one.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Allocates `count` floats (from `BufferPool.shared`), zero-filled when `zeroed`.
    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "negative element count \(count)")
        pointer = BufferPool.shared.allocate(max(count, 1) * MemoryLayout<Float>.stride).bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        if zeroed { pointer.initialize(repeating: 0, count: count) }
    }

    deinit { BufferPool.shared.release(UnsafeMutableRawPointer(pointer), max(count, 1) * MemoryLayout<Float>.stride) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

}
