/// The tokens still in the running and their logits, in buffers allocated once per sampler. It starts as
/// the whole vocabulary (entry i is token i) and shrinks as processors drop tokens; `sorted` says the
/// entries are in descending logit order (after top-k or top-p), which later steps use to skip work.
public struct Candidates {
    public let ids: UnsafeMutablePointer<Int32>
    public let logits: UnsafeMutablePointer<Float>
    public internal(set) var count: Int
    public internal(set) var sorted: Bool
    /// Still the whole vocabulary in id order (entry i is token i), so a token's logit can be indexed.
    public internal(set) var dense: Bool
    /// Scratch space of the same capacity for selections that must not disturb the list.
    let scratchIDs: UnsafeMutablePointer<Int32>
    let scratchLogits: UnsafeMutablePointer<Float>

    public var maxLogit: Float {
        if sorted { return count > 0 ? logits[0] : -.infinity }
        var m = -Float.infinity
        for i in 0..<count where logits[i] > m { m = logits[i] }
        return m
    }

    /// Keeps the entries for which `keep` is true, in order.
    public mutating func filter(_ keep: (Int32, Float) -> Bool) {
        var j = 0
        for i in 0..<count where keep(ids[i], logits[i]) {
            ids[j] = ids[i]
            logits[j] = logits[i]
            j += 1
        }
        if j != count { dense = false }
        count = j
    }

    /// Keeps the m highest logits, sorted descending (ties: lower id first). O(n log m) with a heap, so
    /// top-k over a 102400-token vocabulary never sorts the vocabulary.
    public mutating func keepTop(_ m: Int) {
        if sorted {
            count = min(count, m)
            return
        }
        let k = selectTop(m, intoIDs: scratchIDs, logits: scratchLogits)
        ids.update(from: scratchIDs, count: k)
        logits.update(from: scratchLogits, count: k)
        count = k
        sorted = true
        dense = false
    }

    /// Writes the top min(m, count) entries, sorted descending, to the given buffers; returns how many.
    func selectTop(_ m: Int, intoIDs hid: UnsafeMutablePointer<Int32>, logits hl: UnsafeMutablePointer<Float>) -> Int {
        let k = min(m, count)
        guard k > 0 else { return 0 }
        // Min-heap of the best k so far; "less" = worse = lower logit, or equal logit and higher id.
        @inline(__always) func worse(_ a: Int, _ b: Int) -> Bool {
            hl[a] < hl[b] || (hl[a] == hl[b] && hid[a] > hid[b])
        }
        @inline(__always) func siftDown(_ start: Int, _ n: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var w = i
                if l < n && worse(l, w) { w = l }
                if r < n && worse(r, w) { w = r }
                if w == i { return }
                hid.swapAt(i, w)
                hl.swapAt(i, w)
                i = w
            }
        }
        for i in 0..<k {
            hid[i] = ids[i]
            hl[i] = logits[i]
        }
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i, k) }
        for i in k..<count {
            let l = logits[i], id = ids[i]
            if l > hl[0] || (l == hl[0] && id < hid[0]) {
                hl[0] = l
                hid[0] = id
                siftDown(0, k)
            }
        }
        // Heap-sort in place: repeatedly move the worst to the end → descending order.
        var n = k
        while n > 1 {
            hid.swapAt(0, n - 1)
            hl.swapAt(0, n - 1)
            n -= 1
            siftDown(0, n)
        }
        return k
    }
}

extension UnsafeMutablePointer {
    @inline(__always) func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
