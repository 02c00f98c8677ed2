import Dispatch
import Foundation
import Synchronization

extension Tokenizer {
    /// Encodes a large input on several threads. The ids are identical to `encode(bytes:)` for any
    /// thread count: the input is cut only where no pre-tokenizer pattern or added token can span
    /// the cut (after a newline for DeepSeek; before a newline that follows a non-space ASCII byte
    /// for GPT-2), and chunks are concatenated in order.
    ///
    /// - Parameter progress: called with (bytes done, total bytes) as chunks finish, from worker threads.
    public func encodeParallel(bytes: UnsafeBufferPointer<UInt8>, threads: Int, addBOS: Bool = false,
                               parseSpecial: Bool = true, invalidUTF8: InvalidUTF8Policy = .error,
                               progress: (@Sendable (Int, Int) -> Void)? = nil) throws(TokenizerError) -> [TokenID] {
        var ids: [TokenID] = []
        ids.reserveCapacity(bytes.count / 3 + 16)
        if addBOS, let bos = bosID { ids.append(bos) }
        // The streaming form validates (or repairs) the input; this one only collects its chunks.
        try encodeParallel(bytes: bytes, threads: threads, parseSpecial: parseSpecial, invalidUTF8: invalidUTF8,
                           progress: progress) { ids.append(contentsOf: $0) }
        return ids
    }

    /// Streaming form for inputs of any size: chunk results arrive in input order through `consume`,
    /// and memory stays bounded (a window of a few chunks per thread), so gigabytes of text can go
    /// straight to shards. Same ids as `encode`. BOS, if wanted, is the caller's to write first.
    public func encodeParallel(bytes: UnsafeBufferPointer<UInt8>, threads: Int, parseSpecial: Bool = true,
                               invalidUTF8: InvalidUTF8Policy = .error,
                               progress: (@Sendable (Int, Int) -> Void)? = nil,
                               consume: ([TokenID]) -> Void) throws(TokenizerError) {
        if let bad = firstInvalidUTF8(bytes) {
            if invalidUTF8 == .error { throw .invalidUTF8(offset: bad) }
            let repaired = replaceInvalidUTF8(bytes)
            repaired.withUnsafeBufferPointer {
                encodeValidParallel($0, threads: threads, parseSpecial: parseSpecial, progress: progress, consume: consume)
            }
            return
        }
        encodeValidParallel(bytes, threads: threads, parseSpecial: parseSpecial, progress: progress, consume: consume)
    }

    /// Workers take chunks in order and encode them with their own state; this thread hands results to
    /// `consume` in input order. Workers run at most `threads × 8` chunks ahead of the consumer, which
    /// bounds memory however large the input.
    func encodeValidParallel(_ bytes: UnsafeBufferPointer<UInt8>, threads: Int, parseSpecial: Bool,
                             progress: (@Sendable (Int, Int) -> Void)?, consume: ([TokenID]) -> Void) {
        let cuts = chunkBoundaries(bytes, threads: threads)
        let chunkCount = cuts.count - 1
        guard let base = bytes.baseAddress else { return }
        if threads <= 1 || chunkCount <= 1 {
            withEncoderState { state in
                for k in 0..<chunkCount {
                    var ids: [TokenID] = []
                    ids.reserveCapacity((cuts[k + 1] - cuts[k]) / 3 + 16)
                    encodeValid(UnsafeBufferPointer(start: base + cuts[k], count: cuts[k + 1] - cuts[k]),
                                parseSpecial: parseSpecial, into: &ids, state: &state)
                    consume(ids)
                    progress?(cuts[k + 1], bytes.count)
                }
            }
            return
        }
        let shared = ChunkQueue(window: threads * 8, count: chunkCount)
        nonisolated(unsafe) let start = base
        let total = bytes.count
        let workers = min(threads, chunkCount)
        for _ in 0..<workers {
            let thread = Thread { [self] in
                withEncoderState { state in
                    while let k = shared.take() {
                        var ids: [TokenID] = []
                        ids.reserveCapacity((cuts[k + 1] - cuts[k]) / 3 + 16)
                        encodeValid(UnsafeBufferPointer(start: start + cuts[k], count: cuts[k + 1] - cuts[k]),
                                    parseSpecial: parseSpecial, into: &ids, state: &state)
                        let done = shared.finish(k, ids, bytes: cuts[k + 1] - cuts[k])
                        progress?(done, total)
                    }
                }
                shared.workerExited()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for k in 0..<chunkCount { consume(shared.result(k)) }
        shared.waitForWorkers(workers)
    }

    /// Byte offsets where the input may be cut, including 0 and the end.
    func chunkBoundaries(_ bytes: UnsafeBufferPointer<UInt8>, threads: Int) -> [Int] {
        let n = bytes.count
        guard threads > 1, n > 0, !added.containsNewline, let p = bytes.baseAddress else { return [0, n] }
        // Many more chunks than threads, so that uneven chunks balance out.
        let target = max(1 << 16, min(1 << 22, n / (threads * 16)))
        var cuts = [0]
        var pos = target
        while pos < n {
            var j = pos
            var cut = -1
            while j < n {
                if p[j] == 0x0A {
                    switch preTokenizer {
                    case .deepseekLLM:
                        cut = j + 1
                    case .gpt2, .defaultBPE:
                        // default: no pass can join a non-space ASCII byte to a following "\n" either.
                        let prev = p[j - 1]
                        if prev < 0x80 && prev != 0x20 && !(0x09...0x0D).contains(prev) { cut = j }
                    }
                    if cut > 0 { break }
                }
                j += 1
            }
            guard cut > 0, cut < n else { break }
            cuts.append(cut)
            pos = cut + target
        }
        cuts.append(n)
        return cuts
    }
}

/// Hands chunk indices to workers in order and their results back to the consumer in order.
final class ChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private let window: Int
    private let count: Int
    private var nextToTake = 0
    private var consumed = 0
    private var results: [Int: [TokenID]] = [:]
    private var bytesDone = 0
    private var exited = 0

    init(window: Int, count: Int) {
        self.window = window
        self.count = count
    }

    /// The next chunk to encode, or nil when all are taken. Blocks while too far ahead of the consumer.
    func take() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while nextToTake < count && nextToTake >= consumed + window { condition.wait() }
        guard nextToTake < count else { return nil }
        nextToTake += 1
        return nextToTake - 1
    }

    /// Stores a result; returns the bytes done so far.
    func finish(_ k: Int, _ ids: [TokenID], bytes: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        results[k] = ids
        bytesDone += bytes
        condition.broadcast()
        return bytesDone
    }

    /// Waits for chunk k's result and takes it.
    func result(_ k: Int) -> [TokenID] {
        condition.lock()
        defer { condition.unlock() }
        while results[k] == nil { condition.wait() }
        consumed = k + 1
        condition.broadcast()
        return results.removeValue(forKey: k)!
    }

    func workerExited() {
        condition.lock()
        exited += 1
        condition.broadcast()
        condition.unlock()
    }

    func waitForWorkers(_ n: Int) {
        condition.lock()
        while exited < n { condition.wait() }
        condition.unlock()
    }
}
