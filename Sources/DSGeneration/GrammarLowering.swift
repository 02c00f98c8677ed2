/// GBNF rules → the flat element layout, as llama.cpp lowers them: a group becomes a helper rule, `x*` becomes
/// `R ::= x R |` (right recursion, which the matcher runs in constant stack depth), `x+` is `x x*`, `x?` is
/// `R ::= x |`, and `x{m,n}` is m copies of x followed by n − m nested optionals (`R1 ::= x R2 |` …), so a
/// bounded repetition never has two ways to match the same text. Then the checks the matcher relies on: every
/// referenced rule exists, `root` exists, no left recursion (it would expand forever), and root can complete.
extension Grammar {
    convenience init(source: String, lowering parsed: [ParsedRule]) throws(GrammarError) {
        var lowering = GrammarLowering(parsed)
        try lowering.run()
        try lowering.check()
        self.init(source: source, ruleNames: lowering.names, ruleStarts: lowering.starts, elements: lowering.elements,
                  classes: lowering.classes, root: lowering.index["root"]!)
    }
}

private struct GrammarLowering {
    let parsed: [ParsedRule]
    var names: [String] = []
    /// The user rule each rule came from (itself for user rules), for messages.
    var origin: [String] = []
    var index: [String: Int32] = [:]
    /// Alternatives of each rule, as element sequences, until laid out.
    var bodies: [[[GrammarElement]]] = []
    var classes: [CharClass] = []
    var classIndex: [CharClass: Int32] = [:]
    var helperCount: [String: Int] = [:]
    var elements: [GrammarElement] = []
    var starts: [Int32] = []

    init(_ parsed: [ParsedRule]) { self.parsed = parsed }

    mutating func run() throws(GrammarError) {
        for r in parsed {
            index[r.name] = Int32(names.count)
            names.append(r.name)
            origin.append(r.name)
            bodies.append([])
        }
        guard index["root"] != nil else { throw GrammarError("the grammar has no 'root' rule (the start rule must be named root)") }
        for (k, r) in parsed.enumerated() {
            bodies[k] = try alternatives(r.body, rule: r.name)
        }
        for body in bodies {
            starts.append(Int32(elements.count))
            for (a, seq) in body.enumerated() {
                elements += seq
                elements.append(a == body.count - 1 ? .end : .alternative)
            }
        }
    }

    private mutating func classID(_ c: CharClass) -> Int32 {
        if let id = classIndex[c] { return id }
        let id = Int32(classes.count)
        classes.append(c)
        classIndex[c] = id
        return id
    }

    private mutating func newRule(for parent: String, _ body: [[GrammarElement]]) -> Int32 {
        let base = origin[Int(index[parent]!)]
        let n = helperCount[base, default: 0] + 1
        helperCount[base] = n
        var name = "\(base)_\(n)"
        while index[name] != nil { name += "_" }
        let id = Int32(names.count)
        index[name] = id
        names.append(name)
        origin.append(base)
        bodies.append(body)
        return id
    }

    private mutating func alternatives(_ node: GBNFNode, rule: String) throws(GrammarError) -> [[GrammarElement]] {
        if case .choice(let options) = node {
            var out: [[GrammarElement]] = []
            for o in options { out.append(try sequence(o, rule: rule)) }
            return out
        }
        return [try sequence(node, rule: rule)]
    }

    private mutating func sequence(_ node: GBNFNode, rule: String) throws(GrammarError) -> [GrammarElement] {
        var out: [GrammarElement] = []
        try append(node, to: &out, rule: rule)
        return out
    }

    private mutating func append(_ node: GBNFNode, to out: inout [GrammarElement], rule: String) throws(GrammarError) {
        switch node {
        case .character(let c):
            out.append(.character(classID(c)))
        case .rule(let name, let line, let column):
            guard let id = index[name] else { throw GrammarError(line: line, column: column, "undefined rule '\(name)'") }
            out.append(.rule(id))
        case .sequence(let items):
            for item in items { try append(item, to: &out, rule: rule) }
        case .choice:
            let body = try alternatives(node, rule: rule)
            out.append(.rule(newRule(for: rule, body)))
        case .repeated(let item, let low, let high):
            // Lowered once (a group becomes one helper rule), then copied.
            let once = try sequence(item, rule: rule)
            for _ in 0..<low { out += once }
            if let high {
                guard high > low else { return }
                // Nested optionals: R1 ::= x R2 | ε, …, Rk ::= x | ε, built from the innermost out.
                var inner: Int32?
                for _ in 0..<(high - low) {
                    inner = newRule(for: rule, [once + (inner.map { [.rule($0)] } ?? []), []])
                }
                out.append(.rule(inner!))
            } else {
                // R ::= x R | ε
                let id = newRule(for: rule, [])
                bodies[Int(id)] = [once + [.rule(id)], []]
                out.append(.rule(id))
            }
        }
    }

    /// Left recursion (the matcher would expand forever) and a root that can never complete.
    func check() throws(GrammarError) {
        let n = names.count
        var nullable = [Bool](repeating: false, count: n)
        var productive = [Bool](repeating: false, count: n)
        var changed = true
        while changed {
            changed = false
            for r in 0..<n {
                if !nullable[r], bodies[r].contains(where: { $0.allSatisfy { if case .rule(let s) = $0 { return nullable[Int(s)] }; return false } }) {
                    nullable[r] = true
                    changed = true
                }
                if !productive[r], bodies[r].contains(where: { $0.allSatisfy { if case .rule(let s) = $0 { return productive[Int(s)] }; return true } }) {
                    productive[r] = true
                    changed = true
                }
            }
        }
        // Rules each rule can reach without consuming a character.
        var left = [[Int]](repeating: [], count: n)
        for r in 0..<n {
            for seq in bodies[r] {
                for e in seq {
                    guard case .rule(let s) = e else { break }
                    left[r].append(Int(s))
                    if !nullable[Int(s)] { break }
                }
            }
        }
        // Depth-first search for a cycle; report it with user rule names.
        var state = [UInt8](repeating: 0, count: n)  // 0 new, 1 on the path, 2 done
        var path: [Int] = []
        func visit(_ r: Int) -> [Int]? {
            state[r] = 1
            path.append(r)
            for s in left[r] {
                if state[s] == 1 { return Array(path[path.firstIndex(of: s)!...]) + [s] }
                if state[s] == 0, let cycle = visit(s) { return cycle }
            }
            path.removeLast()
            state[r] = 2
            return nil
        }
        for r in 0..<n where state[r] == 0 {
            if let cycle = visit(r) {
                var shown: [String] = []
                for c in cycle where shown.last != origin[c] { shown.append(origin[c]) }
                // A cycle through helper rules of one user rule only: a repetition of something nullable.
                let repeatsEmpty = shown.count == 1 && cycle.contains { names[$0] != origin[$0] }
                if shown.count == 1 { shown.append(shown[0]) }
                let at = parsed.first { $0.name == shown[0] }
                throw GrammarError(line: at?.line, column: at?.column, repeatsEmpty
                    ? "rule '\(shown[0])' repeats something that can match the empty string (left recursion: it would expand forever)"
                    : "left recursion: \(shown.map { "'\($0)'" }.joined(separator: " → ")) (rewrite it with right recursion or a repetition)")
            }
        }
        let root = Int(index["root"]!)
        if !productive[root] { throw GrammarError("rule 'root' can never be completed (every alternative recurses without end)") }
    }
}
