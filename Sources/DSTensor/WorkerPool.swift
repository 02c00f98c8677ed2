import Foundation
import Synchronization

/// A persistent pool of worker threads for data-parallel loops. Threads are created once; a parallel
/// region costs two semaphore round trips, not a thread creation (a decode step runs dozens of regions).
public final class WorkerPool: @unchecked Sendable {
    /// One pool for the process, sized to the machine.
    public static let shared = WorkerPool(threads: ProcessInfo.processInfo.activeProcessorCount)

    /// Threads taking part in a region, the caller included.
    public let threadCount: Int
    private let state: State
    private let lock = NSLock()  // one region at a time

    /// What the workers share with the caller; the threads own it, so a pool can go away under them.
    private final class State: @unchecked Sendable {
        var body: ((Int) -> Void)?
        var taskCount = 0
        var shutdown = false
        let next = Atomic<Int>(0)
        let remaining = Atomic<Int>(0)
        let wake: [DispatchSemaphore]
        let done = DispatchSemaphore(value: 0)

        init(workers: Int) { wake = (0..<workers).map { _ in DispatchSemaphore(value: 0) } }

        func drain() {
            guard let body else { return }
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= taskCount { return }
                body(i)
            }
        }

        func workerLoop(_ w: Int) {
            while true {
                wake[w].wait()
                if shutdown { return }
                drain()
                if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.signal() }
            }
        }
    }

    public init(threads: Int) {
        threadCount = max(1, threads)
        let state = State(workers: threadCount - 1)
        self.state = state
        for w in 0..<(threadCount - 1) {
            let t = Thread { state.workerLoop(w) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    deinit {
        state.shutdown = true
        for s in state.wake { s.signal() }
    }

    /// Runs body(0..<tasks) on up to `threads` threads (all by default) and returns when all are done.
    public func run(tasks: Int, threads: Int? = nil, _ body: @escaping (Int) -> Void) {
        guard tasks > 0 else { return }
        let helpers = min((threads ?? threadCount) - 1, state.wake.count, tasks - 1)
        if helpers <= 0 {
            for i in 0..<tasks { body(i) }
            return
        }
        lock.lock()
        defer { lock.unlock() }
        state.body = body
        state.taskCount = tasks
        state.next.store(0, ordering: .relaxed)
        state.remaining.store(helpers, ordering: .releasing)
        for w in 0..<helpers { state.wake[w].signal() }
        state.drain()
        state.done.wait()
        state.body = nil
    }

    /// Splits 0..<count into about `threads × 4` contiguous ranges and runs them in parallel. With `multipleOf`,
    /// every range but the last starts and ends at a multiple of it (16: a vector loop's tail falls only at the end
    /// of the array, so its results do not depend on the thread count).
    public func parallelFor(_ count: Int, threads: Int? = nil, minimumChunk: Int = 1, multipleOf: Int = 1,
                            _ body: @escaping (Range<Int>) -> Void) {
        let t = max(1, min(threads ?? threadCount, threadCount))
        let chunks = max(1, min(t * 4, count / max(1, minimumChunk)))
        let unit = max(1, multipleOf)
        let size = ((count + chunks - 1) / chunks + unit - 1) / unit * unit
        run(tasks: chunks, threads: t) { c in
            let lo = c * size
            if lo < count { body(lo..<min(count, lo + size)) }
        }
    }
}
