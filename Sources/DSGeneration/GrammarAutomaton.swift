/// llama.cpp's grammar matcher (a set of stacks of grammar positions, advanced one code point at a time), made
/// into a lazily built byte automaton so that a token mask is a walk over the vocabulary trie:
///
/// - A stack is a hash-consed linked list of positions: node (position, parent). Its top is always a character
///   element; node 0 is the empty stack (the grammar has matched a complete root). A rule reference whose
///   continuation ends the alternative pushes nothing (tail call), so `x*` (lowered to `R ::= x R |`) keeps the
///   stack depth constant and the same text position maps to the same stack however often it loops.
/// - A stack set is a sorted array of node ids, interned; a state is (stack set, partial UTF-8 sequence),
///   interned; transitions are a 256-entry table per state, filled on first use. A token's bytes are then a few
///   table lookups, and the vocabulary walk shares every common prefix and every repeated state.
///
/// Not thread-safe: `TokenGrammar` serialises access.
final class GrammarAutomaton {
    let grammar: Grammar
    private let kinds: [UInt8]      // 0 end, 1 alternative, 2 rule, 3 character
    private let arguments: [Int32]
    private let classes: [CharClass]
    private let alternatives: [[Int32]]

    static let unknown: Int32 = -2
    static let dead: Int32 = -1

    // Stack nodes; node 0 is the empty stack.
    private var nodePosition: [Int32] = [-1]
    private var nodeParent: [Int32] = [-1]
    private var nodeIndex: [UInt64: Int32] = [:]
    // Stack sets.
    private(set) var sets: [[Int32]] = []
    private var setIndex: [[Int32]: Int32] = [:]
    // States.
    private(set) var stateSet: [Int32] = []
    private(set) var statePartial: [UInt32] = []
    private var stateIndex: [UInt64: Int32] = [:]
    /// 256 entries per state: the next state, `unknown` or `dead`. Manually managed so the vocabulary walk reads
    /// it without array copies; reallocated (doubling) as states are added.
    private(set) var table: UnsafeMutablePointer<Int32>
    private var tableCapacity: Int
    private(set) var initialState: Int32 = 0

    init(_ grammar: Grammar) {
        self.grammar = grammar
        kinds = grammar.elements.map {
            switch $0 {
            case .end: 0
            case .alternative: 1
            case .rule: 2
            case .character: 3
            }
        }
        arguments = grammar.elements.map {
            switch $0 {
            case .rule(let r): r
            case .character(let c): c
            default: 0
            }
        }
        classes = grammar.classes
        alternatives = (0..<grammar.ruleNames.count).map { grammar.alternativeStarts(of: Int32($0)) }
        tableCapacity = 64
        table = .allocate(capacity: tableCapacity * 256)
        var start: [Int32] = []
        var visited = Set<UInt64>()
        for a in alternatives[Int(grammar.rootRule)] { expand(a, 0, into: &start, visited: &visited) }
        initialState = state(set: internSet(start), partial: 0)
    }

    deinit { table.deallocate() }

    var stateCount: Int { stateSet.count }

    // MARK: Stacks

    private func node(_ position: Int32, _ parent: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: position)) << 32 | UInt64(UInt32(bitPattern: parent))
        if let id = nodeIndex[key] { return id }
        let id = Int32(nodePosition.count)
        nodePosition.append(position)
        nodeParent.append(parent)
        nodeIndex[key] = id
        return id
    }

    /// Adds to `out` the stacks whose tops are the characters reachable from `position` without consuming input
    /// (llama.cpp's advance_stack), with `parent` as what follows when the current alternative ends.
    private func expand(_ position: Int32, _ parent: Int32, into out: inout [Int32], visited: inout Set<UInt64>) {
        let key = UInt64(UInt32(bitPattern: position)) << 32 | UInt64(UInt32(bitPattern: parent))
        guard visited.insert(key).inserted else { return }
        let p = Int(position)
        switch kinds[p] {
        case 3:
            out.append(node(position, parent))
        case 0, 1:
            if parent == 0 {
                out.append(0)
            } else {
                expand(nodePosition[Int(parent)], nodeParent[Int(parent)], into: &out, visited: &visited)
            }
        default:
            let next = p + 1
            let returnTo = kinds[next] <= 1 ? parent : node(Int32(next), parent)
            for a in alternatives[Int(arguments[p])] { expand(a, returnTo, into: &out, visited: &visited) }
        }
    }

    private func internSet(_ stacks: [Int32]) -> Int32 {
        var key = stacks.sorted()
        var w = 0
        for v in key where w == 0 || key[w - 1] != v {
            key[w] = v
            w += 1
        }
        key.removeLast(key.count - w)
        if let id = setIndex[key] { return id }
        let id = Int32(sets.count)
        sets.append(key)
        setIndex[key] = id
        return id
    }

    /// Results of `advance` by which of the set's stacks accept the code point: every code point a string's
    /// character class accepts leads to the same set, so the expansion runs once per set, not once per character.
    private struct AdvanceKey: Hashable {
        let set: Int32
        let accepting: UInt64
    }
    private var advanceCache: [AdvanceKey: Int32] = [:]
    private var visitedScratch = Set<UInt64>()

    /// The stack set after one code point, or nil when no stack accepts it.
    private func advance(_ set: Int32, _ c: UInt32) -> Int32? {
        let stacks = sets[Int(set)]
        var accepting: UInt64 = 0
        for (k, s) in stacks.enumerated() where s != 0 {
            if classes[Int(arguments[Int(nodePosition[Int(s)])])].matches(c) { accepting |= 1 << UInt64(k & 63) }
        }
        if accepting == 0 { return nil }
        // Sets of more than 64 stacks would share bits: those are expanded every time.
        let key = stacks.count <= 64 ? AdvanceKey(set: set, accepting: accepting) : nil
        if let key, let hit = advanceCache[key] { return hit }
        var out: [Int32] = []
        visitedScratch.removeAll(keepingCapacity: true)
        for s in stacks where s != 0 {
            let p = Int(nodePosition[Int(s)])
            if classes[Int(arguments[p])].matches(c) {
                expand(Int32(p + 1), nodeParent[Int(s)], into: &out, visited: &visitedScratch)
            }
        }
        let result = internSet(out)
        if let key { advanceCache[key] = result }
        return result
    }

    // MARK: States

    private func state(set: Int32, partial: UInt32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: set)) << 32 | UInt64(partial)
        if let id = stateIndex[key] { return id }
        let id = Int32(stateSet.count)
        if stateSet.count == tableCapacity {
            let bigger = UnsafeMutablePointer<Int32>.allocate(capacity: tableCapacity * 2 * 256)
            bigger.update(from: table, count: tableCapacity * 256)
            table.deallocate()
            table = bigger
            tableCapacity *= 2
        }
        (table + Int(id) * 256).initialize(repeating: Self.unknown, count: 256)
        stateSet.append(set)
        statePartial.append(partial)
        multiByteTargets.append(Self.unknown)
        stateIndex[key] = id
        return id
    }

    /// Per state: the state every multi-byte character leads to when that does not depend on the character
    /// (`dead` when none is allowed; `mixed` when it depends, or the state is inside a character).
    private var multiByteTargets: [Int32] = []
    static let mixed: Int32 = -3

    func multiByteTarget(_ state: Int32) -> Int32 {
        let cached = multiByteTargets[Int(state)]
        if cached != Self.unknown { return cached }
        var result = Self.dead
        if statePartial[Int(state)] != 0 {
            result = Self.mixed
        } else {
            let set = stateSet[Int(state)]
            var coverage = CharClass.Coverage.none
            for s in sets[Int(set)] where s != 0 {
                let c = classes[Int(arguments[Int(nodePosition[Int(s)])])].nonASCII
                if c == .mixed { coverage = .mixed; break }
                if c == .all { coverage = .all }
            }
            switch coverage {
            case .none: result = Self.dead
            case .mixed: result = Self.mixed
            case .all: result = advance(set, 0x80).map { self.state(set: $0, partial: 0) } ?? Self.dead
            }
        }
        multiByteTargets[Int(state)] = result
        return result
    }

    /// Whether the empty stack is in the state's set: the text so far is a complete match.
    func isAccepting(_ state: Int32) -> Bool {
        state >= 0 && statePartial[Int(state)] == 0 && sets[Int(stateSet[Int(state)])].first == 0
    }

    /// Accepting, and nothing more can follow.
    func isComplete(_ state: Int32) -> Bool {
        state >= 0 && statePartial[Int(state)] == 0 && sets[Int(stateSet[Int(state)])] == [0]
    }

    /// The state after one byte (from the table, computed on a miss), or `dead`.
    @inline(__always) func next(_ state: Int32, _ byte: UInt8) -> Int32 {
        let t = table[Int(state) &* 256 &+ Int(byte)]
        return t != Self.unknown ? t : computeNext(state, byte)
    }

    // Partial UTF-8: bits 28-30 the sequence length, 24-25 the bytes still missing, 0-20 the bits so far.
    private static func partial(length: UInt32, missing: UInt32, bits: UInt32) -> UInt32 { length << 28 | missing << 24 | bits }
    private static let minimumForLength: [UInt32] = [0, 0, 0x80, 0x800, 0x10000]

    private func computeNext(_ from: Int32, _ byte: UInt8) -> Int32 {
        let set = stateSet[Int(from)], partial = statePartial[Int(from)]
        var result = Self.dead
        if partial == 0 {
            switch byte {
            case 0x00...0x7F: result = advance(set, UInt32(byte)).map { state(set: $0, partial: 0) } ?? Self.dead
            case 0xC2...0xDF: result = partialState(set, Self.partial(length: 2, missing: 1, bits: UInt32(byte & 0x1F)))
            case 0xE0...0xEF: result = partialState(set, Self.partial(length: 3, missing: 2, bits: UInt32(byte & 0x0F)))
            case 0xF0...0xF4: result = partialState(set, Self.partial(length: 4, missing: 3, bits: UInt32(byte & 0x07)))
            default: break
            }
        } else if byte & 0xC0 == 0x80 {
            let length = partial >> 28 & 7
            let missing = partial >> 24 & 3
            let bits = (partial & 0x1F_FFFF) << 6 | UInt32(byte & 0x3F)
            if missing == 1 {
                let valid = bits >= Self.minimumForLength[Int(length)] && bits <= 0x10FFFF && !(0xD800...0xDFFF).contains(bits)
                if valid { result = advance(set, bits).map { state(set: $0, partial: 0) } ?? Self.dead }
            } else {
                result = partialState(set, Self.partial(length: length, missing: missing - 1, bits: bits))
            }
        }
        // The table may have moved while states were added.
        table[Int(from) * 256 + Int(byte)] = result
        return result
    }

    /// A state inside a multi-byte character, if some stack can still accept a code point it may complete to.
    private func partialState(_ set: Int32, _ partial: UInt32) -> Int32 {
        let length = partial >> 28 & 7
        let missing = partial >> 24 & 3
        let shift = 6 * missing
        var low = (partial & 0x1F_FFFF) << shift
        var high = low | ((1 << shift) - 1)
        low = max(low, Self.minimumForLength[Int(length)])
        high = min(high, 0x10FFFF)
        // Overlong, beyond U+10FFFF, or a surrogate whatever follows: never a character.
        guard low <= high, !(low >= 0xD800 && high <= 0xDFFF) else { return Self.dead }
        for s in sets[Int(set)] where s != 0 {
            if classes[Int(arguments[Int(nodePosition[Int(s)])])].intersects(low, high) { return state(set: set, partial: partial) }
        }
        return Self.dead
    }
}
