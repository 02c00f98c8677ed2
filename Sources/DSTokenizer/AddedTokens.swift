/// Finds added tokens (special and user-defined) in raw text before pre-tokenization.
///
/// A byte trie with leftmost-longest matching, plus a 256-entry first-byte filter so plain text is
/// skipped at memory speed. llama.cpp instead matches tokens one at a time, longest first; the two
/// agree whenever no token overlaps another's end with its start, which holds for DeepSeek's 2400
/// added tokens (single characters, `<｜…｜>` and `[PADnnnnnn]`).
struct AddedTokenMatcher: Sendable {
    struct Node: Sendable {
        var children: [UInt8: Int32] = [:]
        var id: TokenID = -1
        /// True for control tokens, matched only when special tokens are parsed.
        var isControl = false
    }

    private var nodes: [Node] = [Node()]
    /// Bit per byte: can a token start with it? Index 0 for control-inclusive, 1 for non-control only.
    private var firstByte = [[Bool]](repeating: [Bool](repeating: false, count: 256), count: 2)
    private(set) var count = 0
    private(set) var containsNewline = false

    mutating func add(_ bytes: [UInt8], id: TokenID, isControl: Bool) {
        guard !bytes.isEmpty else { return }
        var node = 0
        for b in bytes {
            if let next = nodes[node].children[b] {
                node = Int(next)
            } else {
                nodes.append(Node())
                nodes[node].children[b] = Int32(nodes.count - 1)
                node = nodes.count - 1
            }
        }
        // First definition wins (a vocabulary listing the same text twice keeps the lower id).
        if nodes[node].id < 0 {
            nodes[node].id = id
            nodes[node].isControl = isControl
            count += 1
        }
        firstByte[0][Int(bytes[0])] = true
        if !isControl { firstByte[1][Int(bytes[0])] = true }
        if bytes.contains(0x0A) || bytes.contains(0x0D) { containsNewline = true }
    }

    func id(forExact bytes: [UInt8]) -> TokenID? {
        var node = 0
        for b in bytes {
            guard let next = nodes[node].children[b] else { return nil }
            node = Int(next)
        }
        return nodes[node].id >= 0 ? nodes[node].id : nil
    }

    /// Calls `found(start, end, id)` for each match, left to right, non-overlapping.
    func scan(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool, _ found: (Int, Int, TokenID) -> Void) {
        guard count > 0, let p = text.baseAddress else { return }
        let filter = firstByte[parseSpecial ? 0 : 1]
        let n = text.count
        filter.withUnsafeBufferPointer { f in
            var i = 0
            while i < n {
                if !f[Int(p[i])] {
                    i += 1
                    continue
                }
                var node = 0
                var j = i
                var bestEnd = -1
                var bestID: TokenID = -1
                while j < n, let next = nodes[node].children[p[j]] {
                    node = Int(next)
                    j += 1
                    let nd = nodes[node]
                    if nd.id >= 0 && (parseSpecial || !nd.isControl) {
                        bestEnd = j
                        bestID = nd.id
                    }
                }
                if bestEnd > 0 {
                    found(i, bestEnd, bestID)
                    i = bestEnd
                } else {
                    i += 1
                }
            }
        }
    }
}
