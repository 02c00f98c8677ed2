import Foundation

/// `items.map(transform)` on all cores, results in input order: the stages' unit of parallelism (a batch of
/// documents in, a batch of results out, written in store order so outputs are deterministic).
func parallelMap<T, R>(_ items: [T], chunk: Int = 16, _ transform: (T) -> R) -> [R] {
    let n = items.count
    guard n > 0 else { return [] }
    let buffer = UnsafeMutablePointer<R>.allocate(capacity: n)
    defer { buffer.deallocate() }
    return withoutActuallyEscaping(transform) { t in
        // Each index is written by exactly one iteration; the closure and input are only read.
        nonisolated(unsafe) let t = t, items = items, buffer = buffer
        DispatchQueue.concurrentPerform(iterations: (n + chunk - 1) / chunk) { c in
            for i in (c * chunk)..<min(n, c * chunk + chunk) { (buffer + i).initialize(to: t(items[i])) }
        }
        let out = Array(UnsafeMutableBufferPointer(start: buffer, count: n))
        buffer.deinitialize(count: n)
        return out
    }
}
