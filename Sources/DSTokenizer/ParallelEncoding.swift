import Dispatch
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
        if firstInvalidUTF8(bytes) != nil {
            if invalidUTF8 == .error { throw .invalidUTF8(offset: firstInvalidUTF8(bytes)!) }
            let repaired = replaceInvalidUTF8(bytes)
            return try repaired.withUnsafeBufferPointer { (buf) throws(TokenizerError) in
                try encodeParallel(bytes: buf, threads: threads, addBOS: addBOS, parseSpecial: parseSpecial,
                                   invalidUTF8: .error, progress: progress)
            }
        }
        let cuts = chunkBoundaries(bytes, threads: threads)
        let chunkCount = cuts.count - 1
        var results = [[TokenID]](repeating: [], count: chunkCount)
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let total = bytes.count
        results.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            nonisolated(unsafe) let base = bytes.baseAddress
            DispatchQueue.concurrentPerform(iterations: max(1, min(threads, chunkCount))) { _ in
                withEncoderState { state in
                    while true {
                        let k = next.wrappingAdd(1, ordering: .relaxed).oldValue
                        if k >= chunkCount { break }
                        let chunk = UnsafeBufferPointer(start: base! + cuts[k], count: cuts[k + 1] - cuts[k])
                        var ids: [TokenID] = []
                        ids.reserveCapacity(chunk.count / 3 + 16)
                        encodeValid(chunk, parseSpecial: parseSpecial, into: &ids, state: &state)
                        out[k] = ids
                        let d = done.add(chunk.count, ordering: .relaxed).newValue
                        progress?(d, total)
                    }
                }
            }
        }
        var ids: [TokenID] = []
        ids.reserveCapacity(results.reduce(1) { $0 + $1.count })
        if addBOS, let bos = bosID { ids.append(bos) }
        for r in results { ids.append(contentsOf: r) }
        return ids
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
                    case .gpt2:
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
