import Dispatch
import Testing
@testable import IPRTensor

@Suite struct BufferPoolTests {
    let mib = 1 << 20

    @Test func largeBlocksAreReusedForTheSameRoundedSize() {
        let pool = BufferPool()
        let a = pool.allocate(3 * mib)
        pool.release(a, 3 * mib)
        #expect(pool.statistics == .init(liveBytes: 0, cachedBytes: 3 * mib, peakLiveBytes: 3 * mib))
        let b = pool.allocate(3 * mib - 100)            // rounds up to the same 64 KiB granule
        #expect(b == a)
        #expect(pool.statistics == .init(liveBytes: 3 * mib, cachedBytes: 0, peakLiveBytes: 3 * mib))
        pool.release(b, 3 * mib - 100)
        pool.releaseCached()
        #expect(pool.statistics.cachedBytes == 0)
    }

    @Test func aSmallerRequestReusesABlockUpToTwiceItsSize() {
        let pool = BufferPool()
        let big = pool.allocate(4 * mib)
        pool.release(big, 4 * mib)
        let half = pool.allocate(2 * mib)               // 4 MiB ≤ 2 × 2 MiB: reused, counted at 4 MiB
        #expect(half == big)
        #expect(pool.statistics == .init(liveBytes: 4 * mib, cachedBytes: 0, peakLiveBytes: 4 * mib))
        pool.release(half, 2 * mib)
        let small = pool.allocate(mib)                  // 4 MiB > 2 × 1 MiB: a block of its own
        #expect(small != big)
        #expect(pool.statistics == .init(liveBytes: mib, cachedBytes: 4 * mib, peakLiveBytes: 4 * mib))
        pool.release(small, mib)
        pool.releaseCached()
    }

    @Test func threadsShareThePoolSafely() {
        let pool = BufferPool(), mib = self.mib
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<50 {
                let bytes = (1 + (t + i) % 3) * mib
                let p = pool.allocate(bytes)
                p.storeBytes(of: UInt32(t), as: UInt32.self)          // the block is usable
                pool.release(p, bytes)
            }
        }
        let stats = pool.statistics
        #expect(stats.liveBytes == 0 && stats.cachedBytes > 0 && stats.peakLiveBytes <= 8 * 3 * mib)
        pool.releaseCached()
    }

    @Test func smallBlocksAreNotCounted() {
        let pool = BufferPool()
        let p = pool.allocate(1000)
        pool.release(p, 1000)
        #expect(pool.statistics == .init())
    }

    @Test func theCacheStaysWithinItsFactorOfThePeak() {
        // Peak 4 MiB live; then 4 MiB cached of one size and a miss for another size: with factor 1
        // live + cached may not pass 4 MiB, so the cached block goes back to the system.
        let pool = BufferPool(cacheFactor: 1)
        let a = pool.allocate(2 * mib), b = pool.allocate(2 * mib)
        pool.release(a, 2 * mib)
        pool.release(b, 2 * mib)
        let c = pool.allocate(3 * mib)
        #expect(pool.statistics == .init(liveBytes: 3 * mib, cachedBytes: 0, peakLiveBytes: 4 * mib))
        pool.release(c, 3 * mib)
        // With factor 2 both survive the same sequence.
        let roomy = BufferPool(cacheFactor: 2)
        let d = roomy.allocate(2 * mib), e = roomy.allocate(2 * mib)
        roomy.release(d, 2 * mib)
        roomy.release(e, 2 * mib)
        let f = roomy.allocate(3 * mib)
        #expect(roomy.statistics == .init(liveBytes: 3 * mib, cachedBytes: 4 * mib, peakLiveBytes: 4 * mib))
        roomy.release(f, 3 * mib)
        pool.releaseCached()
        roomy.releaseCached()
    }
}
