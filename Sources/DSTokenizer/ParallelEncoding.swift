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
        var ids: [TokenID] = []
        ids.reserveCapacity(bytes.count / 3 + 16)
        if addBOS, let bos = bosID { ids.append(bos) }
        encodeValidParallel(bytes, threads: threads, parseSpecial: parseSpecial, progress: progress) {
            ids.append(contentsOf: $0)
        }
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

    /// Encodes waves of `threads × 4` chunks in parallel and hands each wave's results over in order.
    func encodeValidParallel(_ bytes: UnsafeBufferPointer<UInt8>, threads: Int, parseSpecial: Bool,
                             progress: (@Sendable (Int, Int) -> Void)?, consume: ([TokenID]) -> Void) {
        let cuts = chunkBoundaries(bytes, threads: threads)
        let chunkCount = cuts.count - 1
        let wave = max(1, threads * 4)
        let done = Atomic<Int>(0)
        let total = bytes.count
        nonisolated(unsafe) let base = bytes.baseAddress
        var first = 0
        while first < chunkCount {
            let count = min(wave, chunkCount - first)
            var results = [[TokenID]](repeating: [], count: count)
            let next = Atomic<Int>(0)
            let waveStart = first
            results.withUnsafeMutableBufferPointer { out in
                nonisolated(unsafe) let out = out
                DispatchQueue.concurrentPerform(iterations: max(1, min(threads, count))) { _ in
                    withEncoderState { state in
                        while true {
                            let j = next.wrappingAdd(1, ordering: .relaxed).oldValue
                            if j >= count { break }
                            let k = waveStart + j
                            guard let base else { break }
                            let chunk = UnsafeBufferPointer(start: base + cuts[k], count: cuts[k + 1] - cuts[k])
                            var ids: [TokenID] = []
                            ids.reserveCapacity(chunk.count / 3 + 16)
                            encodeValid(chunk, parseSpecial: parseSpecial, into: &ids, state: &state)
                            out[j] = ids
                            let d = done.add(chunk.count, ordering: .relaxed).newValue
                            progress?(d, total)
                        }
                    }
                }
            }
            for r in results { consume(r) }
            first += count
        }
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
