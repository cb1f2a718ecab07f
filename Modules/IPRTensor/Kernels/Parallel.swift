import Dispatch

/// Splits `0..<count` into contiguous chunks across the cores when the work is worth it.
///
/// `grain` is the smallest number of items a chunk should hold; below `2 * grain` the loop runs
/// inline (a launch costs ~0.35 µs, and small loops lose to cache effects; see the engine spike).
@inline(__always)
public func parallelFor(_ count: Int, grain: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
    let chunks = min(Parallelism.threads, count / max(grain, 1))
    if chunks <= 1 { if count > 0 { body(0..<count) }; return }
    DispatchQueue.concurrentPerform(iterations: chunks) { i in
        body((i * count / chunks)..<((i + 1) * count / chunks))
    }
}

/// How many threads engine kernels split work over (defaults to the core count).
public enum Parallelism {
    nonisolated(unsafe) public static var threads: Int = max(1, System.coreCount)
}

enum System {
    static var coreCount: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Sendable carrier for raw pointers captured by parallel kernels (each chunk writes a disjoint range).
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
