/// Token ids are 32-bit, as in llama.cpp and every checkpoint format.
public typealias TokenID = Int32

/// Byte-level BPE merges over integer symbols.
///
/// A symbol is a vocabulary id, or — for the rare merge whose result is not itself a token — a
/// synthetic id past the vocabulary whose bytes fall back to byte tokens at the end, exactly as
/// llama.cpp does. Merging picks the lowest rank first and, on equal rank, the leftmost pair.
struct BPEModel: Sendable {
    /// Vocabulary id of each single byte.
    let byteToken: [TokenID]
    let pairs: PairTable
    let vocabularyCount: Int
    /// Raw bytes of synthetic symbols (id - vocabularyCount).
    let syntheticBytes: [[UInt8]]
    let mergeCount: Int

    /// Pieces longer than this use the heap; shorter ones a linear scan (same result, less overhead).
    static let heapThreshold = 48

    /// Appends the tokens of one piece (raw bytes) to `out`.
    func encode(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [TokenID], work: inout BPEWork) {
        if n == 1 {
            out.append(byteToken[Int(p[0])])
            return
        }
        work.reserve(n)
        let m: Int
        if n <= Self.heapThreshold {
            m = mergeLinear(p, n, &work)
        } else {
            m = mergeHeap(p, n, &work)
        }
        for i in 0..<m {
            let s = work.symbols[i]
            if Int(s) < vocabularyCount {
                out.append(s)
            } else {
                for b in syntheticBytes[Int(s) - vocabularyCount] { out.append(byteToken[Int(b)]) }
            }
        }
    }

    /// `encode` with the merge algorithm forced, so tests can check that both give the same result.
    func encodeForTesting(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [TokenID], work: inout BPEWork,
                          useHeap: Bool) {
        work.reserve(n)
        let m = useHeap ? mergeHeap(p, n, &work) : mergeLinear(p, n, &work)
        for i in 0..<m {
            let s = work.symbols[i]
            if Int(s) < vocabularyCount { out.append(s) } else {
                for b in syntheticBytes[Int(s) - vocabularyCount] { out.append(byteToken[Int(b)]) }
            }
        }
    }

    /// O(n²) compares but O(n) table lookups: keeps the rank of every adjacent pair.
    private func mergeLinear(_ p: UnsafePointer<UInt8>, _ n: Int, _ work: inout BPEWork) -> Int {
        work.symbols.withUnsafeMutableBufferPointer { symBuf in
            work.ranks.withUnsafeMutableBufferPointer { rankBuf in
                work.merged.withUnsafeMutableBufferPointer { mergedBuf in
                    let sym = symBuf.baseAddress!, rank = rankBuf.baseAddress!, merged = mergedBuf.baseAddress!
                    for i in 0..<n { sym[i] = byteToken[Int(p[i])] }
                    var m = n
                    @inline(__always) func refresh(_ i: Int) {
                        if let r = pairs.lookup(sym[i], sym[i + 1]) {
                            rank[i] = r.rank
                            merged[i] = r.merged
                        } else {
                            rank[i] = .max
                        }
                    }
                    for i in 0..<(m - 1) { refresh(i) }
                    while m > 1 {
                        var best = Int32.max
                        var at = -1
                        for i in 0..<(m - 1) where rank[i] < best {
                            best = rank[i]
                            at = i
                        }
                        if at < 0 { break }
                        sym[at] = merged[at]
                        // remove symbol at+1 and pair slot at+1
                        var j = at + 1
                        while j < m - 1 {
                            sym[j] = sym[j + 1]
                            rank[j] = rank[j + 1]
                            merged[j] = merged[j + 1]
                            j += 1
                        }
                        m -= 1
                        if at > 0 { refresh(at - 1) }
                        if at < m - 1 { refresh(at) }
                    }
                    return m
                }
            }
        }
    }

    /// O(n log n): a binary min-heap of (rank, position) with lazy deletion over a linked list.
    private func mergeHeap(_ p: UnsafePointer<UInt8>, _ n: Int, _ work: inout BPEWork) -> Int {
        var heap = BinaryHeap<MergeCandidate>(storage: work.heap)
        heap.removeAll()
        let result: Int = work.symbols.withUnsafeMutableBufferPointer { symBuf in
            work.prev.withUnsafeMutableBufferPointer { prevBuf in
                work.next.withUnsafeMutableBufferPointer { nextBuf in
                    let sym = symBuf.baseAddress!, prev = prevBuf.baseAddress!, next = nextBuf.baseAddress!
                    for i in 0..<n {
                        sym[i] = byteToken[Int(p[i])]
                        prev[i] = Int32(i - 1)
                        next[i] = i + 1 < n ? Int32(i + 1) : -1
                    }
                    @inline(__always) func push(_ i: Int) {
                        let j = Int(next[i])
                        guard j >= 0, let r = pairs.lookup(sym[i], sym[j]) else { return }
                        heap.push(MergeCandidate(rank: r.rank, pos: Int32(i), left: sym[i], right: sym[j]))
                    }
                    for i in 0..<(n - 1) { push(i) }
                    while let e = heap.pop() {
                        let i = Int(e.pos)
                        let j = Int(next[i])
                        // stale: the left symbol was merged away or changed, or its right neighbour changed
                        if sym[i] < 0 || j < 0 || sym[i] != e.left || sym[j] != e.right { continue }
                        sym[i] = pairs.lookup(e.left, e.right)!.merged
                        sym[j] = -1
                        next[i] = next[j]
                        if next[j] >= 0 { prev[Int(next[j])] = Int32(i) }
                        if prev[i] >= 0 { push(Int(prev[i])) }
                        push(i)
                    }
                    var m = 0
                    var i = 0
                    while i >= 0 {
                        sym[m] = sym[i]
                        m += 1
                        i = Int(next[i])
                    }
                    return m
                }
            }
        }
        work.heap = heap.storage
        return result
    }
}

/// Per-thread buffers for `BPEModel.encode`.
struct BPEWork {
    var symbols: [TokenID] = []
    var ranks: [Int32] = []
    var merged: [TokenID] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap: [MergeCandidate] = []

    mutating func reserve(_ n: Int) {
        if symbols.count < n {
            let cap = max(n, symbols.count * 2, 64)
            symbols = [TokenID](repeating: 0, count: cap)
            ranks = [Int32](repeating: 0, count: cap)
            merged = [TokenID](repeating: 0, count: cap)
            prev = [Int32](repeating: 0, count: cap)
            next = [Int32](repeating: 0, count: cap)
        }
    }
}

/// A BPE merge candidate: lowest rank first, then leftmost.
struct MergeCandidate: HeapOrdered {
    var rank: Int32
    var pos: Int32
    var left: TokenID
    var right: TokenID
    @inline(__always) func before(_ o: MergeCandidate) -> Bool {
        rank != o.rank ? rank < o.rank : pos < o.pos
    }
}

/// Merges in rank order, as byte-level strings ("Ġ" + "t"), kept in one arena.
struct MergeList: Sendable {
    var arena: [UInt8] = []
    /// left start, left end (= right start), right end
    var bounds: [(Int32, Int32, Int32)] = []

    mutating func append(left: UnsafeRawBufferPointer, right: UnsafeRawBufferPointer) {
        let a = Int32(arena.count)
        arena.append(contentsOf: left)
        let b = Int32(arena.count)
        arena.append(contentsOf: right)
        bounds.append((a, b, Int32(arena.count)))
    }

    var count: Int { bounds.count }
}

extension BPEModel {
    /// Builds the merge table. `lookup` maps a byte-level string to its vocabulary id.
    init(vocabularyCount: Int, byteToken: [TokenID], merges: MergeList,
         lookup: (UnsafePointer<UInt8>, Int) -> TokenID?) {
        self.vocabularyCount = vocabularyCount
        self.byteToken = byteToken
        self.mergeCount = merges.count
        var synthetic = ByteStringTable(capacity: 64)
        var syntheticBytes: [[UInt8]] = []
        var table = PairTable(capacity: merges.count)
        merges.arena.withUnsafeBufferPointer { arena in
            guard let base = arena.baseAddress else { return }
            @inline(__always) func symbol(_ s: Int32, _ e: Int32) -> TokenID? {
                lookup(base + Int(s), Int(e - s)) ?? synthetic.get(base + Int(s), Int(e - s))
            }
            // Pass 1: look up every merge result; results that are not tokens get synthetic symbols.
            var results = [TokenID](repeating: -1, count: merges.count)
            for (k, (a, _, c)) in merges.bounds.enumerated() {
                if let id = lookup(base + Int(a), Int(c - a)) {
                    results[k] = id
                    continue
                }
                let raw = UnsafeRawBufferPointer(start: base + Int(a), count: Int(c - a))
                guard synthetic.get(base + Int(a), Int(c - a)) == nil, let bytes = ByteLevel.decode(raw) else { continue }
                synthetic.insertIfAbsent(base + Int(a), Int(c - a), value: Int32(vocabularyCount + syntheticBytes.count))
                syntheticBytes.append(bytes)
            }
            // Pass 2: the pair table. Merges whose halves can never be formed are unreachable; skip them.
            for (rank, (a, b, c)) in merges.bounds.enumerated() {
                guard let l = symbol(a, b), let r = symbol(b, c) else { continue }
                let m = results[rank] >= 0 ? results[rank] : synthetic.get(base + Int(a), Int(c - a))
                guard let m else { continue }
                table.insertIfAbsent(left: l, right: r, rank: Int32(rank), merged: m)
            }
        }
        self.syntheticBytes = syntheticBytes
        self.pairs = table
    }
}
