import Foundation

/// The batches of one epoch, in order, built up to `prefetch` batches ahead on a background thread
/// while the caller trains on the current one.
///
/// Batches are built by a deterministic function of (epoch, batch index), so what `next()` returns
/// never depends on thread timing. An error while building a batch is thrown by the `next()` that
/// would have returned it; the epoch ends there. Dropping the iterator early stops the thread
/// after the batch it is building.
public final class EpochIterator {
    /// Number of batches in the epoch.
    public let batchCount: Int
    private let make: @Sendable (Int) throws -> Batch
    private let queue: PrefetchQueue?
    private var nextIndex = 0
    private var done = false

    init(batchCount: Int, prefetch: Int, make: @escaping @Sendable (Int) throws -> Batch) {
        self.batchCount = batchCount
        self.make = make
        if prefetch > 0 && batchCount > 0 {
            let queue = PrefetchQueue(capacity: prefetch)
            self.queue = queue
            let thread = Thread { queue.produce(count: batchCount, make: make) }
            thread.name = "IPRData.prefetch"
            thread.start()
        } else {
            queue = nil
        }
    }

    deinit { queue?.cancel() }

    /// The next batch, or nil after the last one (or after an error was thrown).
    public func next() throws -> Batch? {
        guard !done, nextIndex < batchCount else { done = true; return nil }
        let result: Result<Batch, Error>
        if let queue {
            guard let r = queue.take() else { done = true; return nil }
            result = r
        } else {
            result = Result { try make(nextIndex) }
        }
        nextIndex += 1
        switch result {
        case .success(let batch): return batch
        case .failure(let error): done = true; throw error
        }
    }
}

/// A bounded first-in first-out buffer between the producer thread and the consumer.
final class PrefetchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private var ready: [Result<Batch, Error>] = []
    private var cancelled = false
    private var finished = false

    init(capacity: Int) { self.capacity = capacity }

    /// Runs on the producer thread: builds batches 0..<count in order, stopping after an error or a cancel.
    func produce(count: Int, make: (Int) throws -> Batch) {
        for index in 0..<count {
            condition.lock()
            while ready.count >= capacity && !cancelled { condition.wait() }
            let stop = cancelled
            condition.unlock()
            if stop { break }
            let result = Result { try make(index) }
            condition.lock()
            ready.append(result)
            condition.broadcast()
            condition.unlock()
            if case .failure = result { break }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the next result; nil when the producer has finished and nothing is left.
    func take() -> Result<Batch, Error>? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !finished { condition.wait() }
        if ready.isEmpty { return nil }
        let result = ready.removeFirst()
        condition.broadcast()
        return result
    }

    func cancel() {
        condition.lock()
        cancelled = true
        ready.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
