import DSTokenizer
import Foundation

/// A tokenizer's tokens as a byte trie in depth-first order, built once per tokenizer and shared: node i has a
/// byte, a depth, the index just past its subtree (so a rejected prefix skips every token under it at once) and
/// the tokens that end there. Control, unknown and unused tokens are left out: a grammar never produces them
/// (end-of-sequence is allowed separately, once the grammar is complete).
public final class TokenVocabulary: @unchecked Sendable {
    public let tokenizer: Tokenizer
    /// Ids 0..<size are the tokenizer's; a model's padding ids above are never allowed.
    public let size: Int
    /// One trie node, packed so the walk streams through a single array. Tokens ending at node i are
    /// tokenIDs[nodes[i].tokenStart..<nodes[i + 1].tokenStart] (a sentinel node closes the list).
    struct Node {
        var subtreeEnd: Int32
        var tokenStart: Int32
        var depth: UInt16
        var byte: UInt8
    }
    let nodes: [Node]
    let tokenIDs: [Int32]
    let maxDepth: Int

    public var nodeCount: Int { nodes.count - 1 }

    private static let cache = NSLock()
    nonisolated(unsafe) private static var shared: [(ObjectIdentifier, TokenVocabulary)] = []

    /// The vocabulary of `tokenizer`, built on first use and kept (a few tokenizers at most).
    public static func of(_ tokenizer: Tokenizer) -> TokenVocabulary {
        cache.lock()
        defer { cache.unlock() }
        if let v = shared.first(where: { $0.0 == ObjectIdentifier(tokenizer) })?.1 { return v }
        let v = TokenVocabulary(tokenizer)
        shared.append((ObjectIdentifier(tokenizer), v))
        if shared.count > 4 { shared.removeFirst() }
        return v
    }

    init(_ tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
        size = tokenizer.vocabularySize
        var ids: [Int32] = []
        for id in 0..<Int32(size) {
            switch tokenizer.tokenType(id) {
            case .control, .unknown, .unused: continue
            default: if !tokenizer.tokenBytes(id).isEmpty { ids.append(id) }
            }
        }
        ids.sort { a, b in
            let x = tokenizer.tokenBytes(a), y = tokenizer.tokenBytes(b)
            return x.lexicographicallyPrecedes(y) || (x.elementsEqual(y) && a < b)
        }
        var bytes: [UInt8] = [], depth: [UInt16] = [], end: [Int32] = []
        var owners: [Int32] = []  // node of each token, in id-list order (nondecreasing)
        var path: [Int32] = []    // nodes on the current path, by depth - 1
        var previous: ArraySlice<UInt8> = []
        func close(downTo length: Int) {
            while path.count > length { end[Int(path.removeLast())] = Int32(bytes.count) }
        }
        for id in ids {
            let b = tokenizer.tokenBytes(id)
            var common = 0
            for (x, y) in zip(previous, b) { if x == y { common += 1 } else { break } }
            close(downTo: common)
            for k in common..<b.count {
                path.append(Int32(bytes.count))
                bytes.append(b[b.startIndex + k])
                depth.append(UInt16(k + 1))
                end.append(0)
            }
            owners.append(path[b.count - 1])
            previous = b
        }
        close(downTo: 0)
        var start = [Int32](repeating: 0, count: bytes.count + 1)
        for o in owners { start[Int(o) + 1] += 1 }
        for i in 0..<bytes.count { start[i + 1] += start[i] }
        nodes = (0...bytes.count).map { i in
            i < bytes.count ? Node(subtreeEnd: end[i], tokenStart: start[i], depth: depth[i], byte: bytes[i])
                            : Node(subtreeEnd: Int32(i), tokenStart: start[i], depth: 1, byte: 0)
        }
        tokenIDs = ids
        maxDepth = Int(depth.max() ?? 0)
    }
}

/// The tokens a grammar state allows: a sorted id list when few are allowed, else a bitset.
public final class TokenMask: @unchecked Sendable {
    let words: [UInt64]
    let ids: [Int32]
    let dense: Bool
    /// How many tokens are allowed (stop ids not counted).
    public let count: Int
    /// The grammar has matched a complete root here: end-of-sequence / stop ids are allowed.
    public let accepting: Bool

    init(words: [UInt64], count: Int, accepting: Bool, size: Int) {
        self.count = count
        self.accepting = accepting
        if count * 32 < size {
            var list: [Int32] = []
            list.reserveCapacity(count)
            for (w, bits) in words.enumerated() where bits != 0 {
                var b = bits
                while b != 0 {
                    list.append(Int32(w * 64 + b.trailingZeroBitCount))
                    b &= b - 1
                }
            }
            ids = list
            self.words = []
            dense = false
        } else {
            self.words = words
            ids = []
            dense = true
        }
    }

    public func contains(_ id: Int32) -> Bool {
        if dense { return id >= 0 && Int(id) < words.count * 64 && words[Int(id) >> 6] >> UInt64(id & 63) & 1 != 0 }
        var lo = 0, hi = ids.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ids[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < ids.count && ids[lo] == id
    }

    /// The allowed ids in order (tests and tools).
    public var allowedIDs: [Int32] {
        if !dense { return ids }
        return (0..<Int32(words.count * 64)).filter { contains($0) }
    }

    var memoryBytes: Int { words.count * 8 + ids.count * 4 }

    /// Sets every disallowed logit to −infinity. Stop ids get their raw logit back when the grammar accepts
    /// here and −infinity when not (a stop id must never cut a value short).
    func apply(to logits: UnsafeMutablePointer<Float>, count n: Int, raw: UnsafeBufferPointer<Float>, stopIDs: Set<Int32>) {
        if dense {
            words.withUnsafeBufferPointer { w in
                for k in 0..<w.count where w[k] != ~0 {
                    let base = k * 64
                    var off = ~w[k]
                    while off != 0 {
                        let i = base + off.trailingZeroBitCount
                        if i < n { logits[i] = -.infinity }
                        off &= off - 1
                    }
                }
            }
            let covered = words.count * 64
            if covered < n { for i in covered..<n { logits[i] = -.infinity } }
        } else {
            logits.update(repeating: -.infinity, count: n)
            for id in ids where Int(id) < n { logits[Int(id)] = raw[Int(id)] }
        }
        for id in stopIDs where id >= 0 && Int(id) < n { logits[Int(id)] = accepting ? raw[Int(id)] : -.infinity }
    }
}

/// A grammar bound to a tokenizer's vocabulary: what `GenerateParameters.grammar` holds. One instance is shared by
/// every sequence that uses the grammar (the server caches them by source), so the automaton and the per-state
/// masks built for one request serve the next. Thread-safe (one lock around the automaton and the caches).
/// Compared by identity.
public final class TokenGrammar: @unchecked Sendable, Equatable {
    public let grammar: Grammar
    public let vocabulary: TokenVocabulary
    private let automaton: GrammarAutomaton
    private let lock = NSLock()
    private var masks: [Int32: TokenMask] = [:]
    private var maskBytes = 0
    /// Cached masks are dropped together beyond this (they are rebuilt on demand).
    static let maskCacheBytes = 16 << 20
    /// Scratch for the walk: the state at each trie depth, and the continuation bytes pending there.
    private var stateDepths: UnsafeMutablePointer<Int32>
    private var needDepths: UnsafeMutablePointer<UInt8>
    private var computed = 0, reused = 0, computeSeconds = 0.0

    public init(grammar: Grammar, tokenizer: Tokenizer) {
        self.grammar = grammar
        vocabulary = TokenVocabulary.of(tokenizer)
        automaton = GrammarAutomaton(grammar)
        stateDepths = .allocate(capacity: vocabulary.maxDepth + 1)
        needDepths = .allocate(capacity: vocabulary.maxDepth + 1)
    }

    deinit {
        stateDepths.deallocate()
        needDepths.deallocate()
    }

    public convenience init(gbnf: String, tokenizer: Tokenizer) throws(GrammarError) {
        self.init(grammar: try Grammar(gbnf: gbnf), tokenizer: tokenizer)
    }

    public static func == (a: TokenGrammar, b: TokenGrammar) -> Bool { a === b }

    private static let sharedLock = NSLock()
    nonisolated(unsafe) private static var sharedGrammars: [(key: String, tokenizer: ObjectIdentifier, grammar: TokenGrammar)] = []

    /// The grammar for this GBNF text and tokenizer, from a small cache (most recently used kept): repeated
    /// requests with the same schema reuse its automaton and masks.
    public static func cached(gbnf: String, tokenizer: Tokenizer) throws(GrammarError) -> TokenGrammar {
        sharedLock.lock()
        if let i = sharedGrammars.firstIndex(where: { $0.key == gbnf && $0.tokenizer == ObjectIdentifier(tokenizer) }) {
            let hit = sharedGrammars.remove(at: i)
            sharedGrammars.append(hit)
            sharedLock.unlock()
            return hit.grammar
        }
        sharedLock.unlock()
        let g = try TokenGrammar(gbnf: gbnf, tokenizer: tokenizer)
        sharedLock.lock()
        sharedGrammars.append((gbnf, ObjectIdentifier(tokenizer), g))
        if sharedGrammars.count > 16 { sharedGrammars.removeFirst() }
        sharedLock.unlock()
        return g
    }

    /// A fresh matcher at the start of the grammar (one per generated sequence).
    public func makeMatcher() -> GrammarMatcher { GrammarMatcher(self, state: withLock { automaton.initialState }) }

    private func withLock<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Masks computed (one vocabulary walk each) and served from the cache, the time the walks took, and the
    /// automaton's size — what a benchmark reports next to the decode time.
    public var statistics: (masksComputed: Int, masksReused: Int, computeSeconds: Double, automatonStates: Int) {
        withLock { (computed, reused, computeSeconds, automaton.stateCount) }
    }

    func accepting(_ state: Int32) -> Bool { withLock { automaton.isAccepting(state) } }
    func complete(_ state: Int32) -> Bool { withLock { automaton.isComplete(state) } }

    /// The state after these bytes, or `GrammarAutomaton.dead`.
    func advance(_ state: Int32, _ bytes: some Sequence<UInt8>) -> Int32 {
        withLock {
            var s = state
            for b in bytes {
                guard s >= 0 else { break }
                s = automaton.next(s, b)
            }
            return s
        }
    }

    /// The allowed tokens in `state`, from the cache or by one walk over the vocabulary trie.
    func mask(_ state: Int32) -> TokenMask {
        withLock {
            if let m = masks[state] {
                reused += 1
                return m
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let m = computeMask(state)
            computeSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            computed += 1
            if maskBytes + m.memoryBytes > Self.maskCacheBytes {
                masks.removeAll()
                maskBytes = 0
            }
            masks[state] = m
            maskBytes += m.memoryBytes
            return m
        }
    }

    /// Walks the trie in depth-first order with the automaton: a node's state is its parent's state advanced by
    /// its byte; a dead state skips the node's whole subtree. Inside a multi-byte character whose every choice
    /// leads to one state (string contents), the walk only checks UTF-8 well-formedness until the character ends.
    private func computeMask(_ state: Int32) -> TokenMask {
        let v = vocabulary
        var words = [UInt64](repeating: 0, count: (v.size + 63) / 64)
        var count = 0
        if state >= 0 {
            let at = stateDepths, need = needDepths
            at[0] = state
            need[0] = 0
            let a = automaton
            v.nodes.withUnsafeBufferPointer { nodes in
            v.tokenIDs.withUnsafeBufferPointer { ids in
            words.withUnsafeMutableBufferPointer { w in
                var i = 0
                let n = nodes.count - 1
                while i < n {
                    let node = nodes[i]
                    let d = Int(node.depth), b = node.byte
                    let from = at[d - 1], pending = need[d - 1]
                    var s: Int32
                    var left: UInt8 = 0
                    if pending == 0 {
                        let target = b < 0x80 ? GrammarAutomaton.mixed : a.multiByteTarget(from)
                        if target == GrammarAutomaton.mixed {
                            s = a.next(from, b)
                        } else {
                            s = target
                            // Continuation bytes still expected, and (bits 2-4) the limits on the first of them.
                            switch b {
                            case 0xC2...0xDF: left = 1
                            case 0xE0: left = 2 | 1 << 2
                            case 0xED: left = 2 | 2 << 2
                            case 0xE1...0xEF: left = 2
                            case 0xF0: left = 3 | 3 << 2
                            case 0xF1...0xF3: left = 3
                            case 0xF4: left = 3 | 4 << 2
                            default: s = GrammarAutomaton.dead
                            }
                        }
                    } else {
                        s = from
                        let ok: Bool
                        switch pending >> 2 {
                        case 1: ok = b >= 0xA0 && b <= 0xBF
                        case 2: ok = b >= 0x80 && b <= 0x9F
                        case 3: ok = b >= 0x90 && b <= 0xBF
                        case 4: ok = b >= 0x80 && b <= 0x8F
                        default: ok = b & 0xC0 == 0x80
                        }
                        if !ok { s = GrammarAutomaton.dead }
                        left = (pending & 3) - 1
                    }
                    if s < 0 {
                        i = Int(node.subtreeEnd)
                        continue
                    }
                    at[d] = s
                    need[d] = left
                    var k = Int(node.tokenStart)
                    let e = Int(nodes[i + 1].tokenStart)
                    while k < e {
                        let id = Int(ids[k])
                        w[id >> 6] |= 1 << UInt64(id & 63)
                        k += 1
                    }
                    count += e - Int(node.tokenStart)
                    i += 1
                }
            }}}
        }
        return TokenMask(words: words, count: count, accepting: automaton.isAccepting(state), size: v.size)
    }
}

/// One sequence's position in a grammar: which tokens may come next, and the state after each accepted token.
public final class GrammarMatcher: @unchecked Sendable {
    public let grammar: TokenGrammar
    public private(set) var state: Int32

    init(_ grammar: TokenGrammar, state: Int32) {
        self.grammar = grammar
        self.state = state
    }

    /// The text so far is a complete match (end-of-sequence may follow).
    public var isAccepting: Bool { grammar.accepting(state) }
    /// A complete match that nothing can extend: only end-of-sequence may follow.
    public var isComplete: Bool { grammar.complete(state) }
    /// A token the grammar does not allow was accepted (a caller that overrode the mask).
    public var isDead: Bool { state < 0 }

    public func allowedTokens() -> TokenMask { grammar.mask(state) }

    /// Masks `logits` (the whole vocabulary of `count` entries, in id order) in place; `raw` is the model's output.
    public func apply(to logits: UnsafeMutablePointer<Float>, count: Int, raw: UnsafeBufferPointer<Float>, stopIDs: Set<Int32>) {
        if state < 0 {
            logits.update(repeating: -.infinity, count: count)
            return
        }
        allowedTokens().apply(to: logits, count: count, raw: raw, stopIDs: stopIDs)
    }

    /// Advances by a generated token's bytes; false (and dead) if the grammar does not allow them.
    @discardableResult public func accept(_ id: Int32) -> Bool {
        guard id >= 0, Int(id) < grammar.vocabulary.size else {
            state = GrammarAutomaton.dead
            return false
        }
        return accept(bytes: grammar.vocabulary.tokenizer.tokenBytes(id))
    }

    /// Advances by raw bytes (tests, tools); false (and dead) if the grammar does not allow them.
    @discardableResult public func accept(bytes: some Sequence<UInt8>) -> Bool {
        guard state >= 0 else { return false }
        state = grammar.advance(state, bytes)
        return state >= 0
    }

    @discardableResult public func accept(text: String) -> Bool { accept(bytes: Array(text.utf8)) }
}
