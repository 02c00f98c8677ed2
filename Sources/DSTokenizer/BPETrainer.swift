import Dispatch
import Synchronization

/// Byte-level BPE trainer that reproduces HF `tokenizers`' `BpeTrainer` merge for merge.
///
/// Same pre-tokenizer (DeepSeek's by default), same 256-symbol byte alphabet ordered by code point,
/// and the same bookkeeping as HF's `do_train`: a max-heap of (count, pair) with ties going to the
/// smaller pair of ids, counts refreshed lazily when a stale entry surfaces, and `Word.merge`'s
/// left-to-right pair replacement with its exact count deltas. Special tokens are appended after
/// the learned vocabulary (DeepSeek's layout: BOS/EOS follow the BPE tokens).
public final class BPETrainer: @unchecked Sendable {
    public struct Options: Sendable {
        /// Total vocabulary size, special tokens included.
        public var vocabularySize: Int
        public var minFrequency: Int = 0
        public var specialTokens: [String] = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"]
        public var preTokenizer: PreTokenizerKind = .deepseekLLM
        public var threads: Int = 1
        public init(vocabularySize: Int) { self.vocabularySize = vocabularySize }
    }

    public let options: Options
    /// Word (piece) bytes → index into `counts`.
    private var words = ByteStringTable(capacity: 1 << 12)
    private var counts: [Int64] = []

    public init(options: Options) {
        self.options = options
    }

    /// Number of distinct pieces counted so far.
    public var distinctWords: Int { counts.count }

    /// Counts the pre-tokenized pieces of one text (valid UTF-8), using all `options.threads`.
    public func countWords(in text: UnsafeBufferPointer<UInt8>, progress: (@Sendable (Int, Int) -> Void)? = nil)
        throws(TokenizerError)
    {
        if let bad = firstInvalidUTF8(text) { throw .invalidUTF8(offset: bad) }
        let cuts = Self.lineCuts(text, chunks: max(1, options.threads * 8))
        let chunkCount = cuts.count - 1
        let locals = Mutex<[(ByteStringTable, [Int64])]>([])
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let kind = options.preTokenizer
        nonisolated(unsafe) let base = text.baseAddress
        let textCount = text.count
        DispatchQueue.concurrentPerform(iterations: max(1, min(options.threads, chunkCount))) { _ in
            var table = ByteStringTable(capacity: 1 << 12)
            var local: [Int64] = []
            var scratch = PreTokenizerScratch()
            while true {
                let k = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if k >= chunkCount { break }
                let p = base! + cuts[k]
                kind.split(UnsafeBufferPointer(start: p, count: cuts[k + 1] - cuts[k]), scratch: &scratch) { s, e in
                    let idx = Int(table.insertIfAbsent(p + s, e - s, value: Int32(local.count)))
                    if idx == local.count { local.append(1) } else { local[idx] += 1 }
                }
                let d = done.add(cuts[k + 1] - cuts[k], ordering: .relaxed).newValue
                progress?(d, textCount)
            }
            locals.withLock { $0.append((table, local)) }
        }
        for (table, local) in locals.withLock({ $0 }) {
            table.forEach { p, n, idx in
                let g = Int(words.insertIfAbsent(p, n, value: Int32(counts.count)))
                if g == counts.count { counts.append(local[Int(idx)]) } else { counts[g] += local[Int(idx)] }
            }
        }
    }

    /// Cuts after newlines into about `chunks` pieces (DeepSeek's pattern 1 makes lines independent;
    /// for GPT-2 a cut before "\n" after a non-space byte is safe).
    static func lineCuts(_ text: UnsafeBufferPointer<UInt8>, chunks: Int) -> [Int] {
        let n = text.count
        guard chunks > 1, n > 1 << 16, let p = text.baseAddress else { return [0, n] }
        let target = n / chunks
        var cuts = [0]
        var pos = target
        while pos < n {
            var j = pos
            while j < n && !(p[j] == 0x0A && p[j - 1] < 0x80 && p[j - 1] > 0x20) { j += 1 }
            guard j < n else { break }
            cuts.append(j)
            pos = j + target
        }
        cuts.append(n)
        return cuts
    }

    /// The result: vocabulary (raw bytes per id) and merges (pairs of ids, rank order).
    public struct Result: Sendable {
        public var tokens: [[UInt8]]
        public var merges: [(TokenID, TokenID)]
        public var specialTokens: [String]
    }

    /// Runs the merge loop. `progress` gets (vocabulary size so far, target).
    public func train(progress: ((Int, Int) -> Void)? = nil) -> Result {
        let target = options.vocabularySize - options.specialTokens.count
        // 1. Alphabet: all 256 bytes, ordered by their byte-level code point (HF sorts chars by code point).
        let alphabet = (0..<256).sorted { ByteLevel.byteToScalar[$0] < ByteLevel.byteToScalar[$1] }
        var idToBytes: [[UInt8]] = alphabet.map { [UInt8($0)] }
        var vocab = ByteStringTable(capacity: max(target, 512))
        var byteID = [Int32](repeating: 0, count: 256)
        for (id, b) in alphabet.enumerated() {
            vocab.insertIfAbsent([UInt8(b)], value: Int32(id))
            byteID[b] = Int32(id)
        }
        // 2. Words as symbol sequences.
        var wordSymbols: [[Int32]] = []
        wordSymbols.reserveCapacity(counts.count)
        words.forEach { p, n, idx in
            precondition(Int(idx) == wordSymbols.count)
            wordSymbols.append((0..<n).map { byteID[Int(p[$0])] })
        }
        let wordCounts = counts
        // 3. Pair counts and where each pair occurs.
        var pairCounts: [UInt64: Int64] = [:]
        var whereToUpdate: [UInt64: [Int32]] = [:]
        for (w, syms) in wordSymbols.enumerated() where syms.count > 1 {
            for i in 0..<(syms.count - 1) {
                let key = Self.pairKey(syms[i], syms[i + 1])
                pairCounts[key, default: 0] += wordCounts[w]
                whereToUpdate[key, default: []].appendUnique(Int32(w))
            }
        }
        var queue = BinaryHeap<PairCandidate>()
        var pushed = 0
        func push(_ e: PairCandidate) {
            var e = e
            e.sequence = pushed
            pushed += 1
            queue.push(e)
        }
        for (pair, pos) in whereToUpdate {
            let c = pairCounts[pair]!
            if c > 0 { push(PairCandidate(count: UInt64(c), pair: pair, pos: pos)) }
        }
        whereToUpdate.removeAll()
        // 4. Merge loop (HF do_train step 5).
        var merges: [(UInt64, Int32)] = []
        while vocab.count < target, var top = queue.pop() {
            let current = UInt64(bitPattern: pairCounts[top.pair] ?? 0)
            if top.count != current {
                top.count = current
                push(top)
                continue
            }
            if top.count < 1 || UInt64(options.minFrequency) > top.count { break }
            let (a, b) = Self.unpair(top.pair)
            let newBytes = idToBytes[Int(a)] + idToBytes[Int(b)]
            var newID = Int32(idToBytes.count)
            if let existing = vocab.get(newBytes) {
                newID = existing
            } else {
                vocab.insertIfAbsent(newBytes, value: newID)
                idToBytes.append(newBytes)
            }
            merges.append((top.pair, newID))
            for w in top.pos {
                let changes = Self.merge(&wordSymbols[Int(w)], a, b, newID)
                for (pair, delta) in changes {
                    pairCounts[pair, default: 0] += Int64(delta) * wordCounts[Int(w)]
                    if delta > 0 { whereToUpdate[pair, default: []].appendUnique(w) }
                }
            }
            for (pair, pos) in whereToUpdate {
                let c = pairCounts[pair]!
                if c > 0 { push(PairCandidate(count: UInt64(c), pair: pair, pos: pos)) }
            }
            whereToUpdate.removeAll(keepingCapacity: true)
            progress?(vocab.count, target)
        }
        // HF stores merges in a map keyed by pair: a pair merged twice keeps only its last rank.
        var lastRank: [UInt64: Int] = [:]
        for (i, m) in merges.enumerated() { lastRank[m.0] = i }
        let kept = merges.enumerated().filter { lastRank[$0.element.0] == $0.offset }.map { Self.unpair($0.element.0) }
        return Result(tokens: idToBytes, merges: kept, specialTokens: options.specialTokens)
    }

    /// HF `Word::merge`: replaces each non-overlapping (c1, c2), left to right, returning pair-count deltas.
    static func merge(_ s: inout [Int32], _ c1: Int32, _ c2: Int32, _ replacement: Int32) -> [(UInt64, Int32)] {
        var changes: [(UInt64, Int32)] = []
        var i = 0
        while i < s.count {
            if s[i] == c1 && i + 1 < s.count && s[i + 1] == c2 {
                if i > 0 {
                    changes.append((pairKey(s[i - 1], c1), -1))
                    changes.append((pairKey(s[i - 1], replacement), 1))
                }
                s[i] = replacement
                s.remove(at: i + 1)
                if i < s.count - 1 {
                    changes.append((pairKey(c2, s[i + 1]), -1))
                    changes.append((pairKey(replacement, s[i + 1]), 1))
                }
            }
            i += 1
        }
        return changes
    }

    @inline(__always) static func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    @inline(__always) static func unpair(_ k: UInt64) -> (Int32, Int32) {
        (Int32(truncatingIfNeeded: k >> 32), Int32(truncatingIfNeeded: k))
    }
}

extension BPETrainer.Result {
    /// A tokenizer over the trained vocabulary, with the special tokens appended as control tokens.
    public func makeTokenizer(preTokenizer: PreTokenizerKind, source: String = "trained") throws(TokenizerError)
        -> Tokenizer
    {
        var parts = VocabularyParts(source: source, preTokenizer: preTokenizer)
        for t in tokens {
            var s = ByteLevel.encode(t)
            s.withUTF8 { parts.appendToken(UnsafeRawBufferPointer($0), type: .normal) }
        }
        for (k, sp) in specialTokens.enumerated() {
            var s = sp
            s.withUTF8 { parts.appendToken(UnsafeRawBufferPointer($0), type: .control) }
            if k == 0 { parts.bos = TokenID(tokens.count) }
            if k == 1 { parts.eos = TokenID(tokens.count + 1); parts.pad = parts.eos }
        }
        parts.addBOS = true
        for (a, b) in merges {
            var l = ByteLevel.encode(tokens[Int(a)]), r = ByteLevel.encode(tokens[Int(b)])
            l.withUTF8 { lb in r.withUTF8 { rb in parts.merges.append(left: UnsafeRawBufferPointer(lb), right: UnsafeRawBufferPointer(rb)) } }
        }
        return try Tokenizer.build(parts, lastDuplicateWins: false)
    }
}

/// A trainer heap entry, ordered as HF's `Merge`: higher count first, then the smaller pair; push order
/// breaks the ties HF leaves to hash-map order (same pair, same count).
struct PairCandidate: HeapOrdered {
    var count: UInt64
    var pair: UInt64
    var pos: [Int32]
    var sequence = 0
    @inline(__always) func before(_ o: PairCandidate) -> Bool {
        if count != o.count { return count > o.count }
        if pair != o.pair { return pair < o.pair }
        return sequence < o.sequence
    }
}

extension Array where Element == Int32 {
    /// Appends unless equal to the last element (positions arrive grouped by word).
    @inline(__always) mutating func appendUnique(_ v: Int32) {
        if last != v { append(v) }
    }
}

extension ByteStringTable {
    /// Visits every entry in insertion order.
    func forEach(_ body: (UnsafePointer<UInt8>, Int, Int32) -> Void) {
        arena.withUnsafeBufferPointer { a in
            var dummy: UInt8 = 0
            withUnsafePointer(to: &dummy) { empty in
                for e in 0..<count {
                    let (s, n, v) = entry(e)
                    body(n == 0 ? empty : a.baseAddress! + s, n, v)
                }
            }
        }
    }
}
