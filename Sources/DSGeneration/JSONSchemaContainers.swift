import DSFormats
import Foundation

/// Objects, arrays and the oneOf exclusivity check of the schema compiler.
extension SchemaCompiler {
    /// `{` members `}` with the declared properties in schema order (required ones always, optional ones maybe),
    /// then extra properties if `additionalProperties` allows them, with keys that are none of the declared ones
    /// (a repeated key would let a parser keep a value the schema never checked).
    mutating func object(_ o: JSONObject, _ pointer: String, name: String) throws(JSONSchemaError) -> String {
        var properties: [(key: String, value: JSONValue)] = []
        if let p = o["properties"] {
            guard let po = p.object else { throw fail(pointer, "properties", "properties must be an object") }
            properties = po.members
        }
        var required = Set<String>()
        if let r = o["required"] {
            guard let list = r.array, list.allSatisfy({ $0.string != nil }) else {
                throw fail(pointer, "required", "required must be an array of property names")
            }
            for k in list.compactMap(\.string) where !properties.contains(where: { $0.key == k }) {
                throw fail(pointer, "required", "required property '\(k)' is not declared in properties")
            }
            required = Set(list.compactMap(\.string))
        }
        let ws = primitive("ws")
        var extra: String?
        let additional = o["additionalProperties"] ?? .bool(!strict)
        if additional != .bool(false) {
            let value: String
            if additional == .bool(true) {
                value = primitive("value")
            } else {
                guard additional.object != nil else { throw fail(pointer, "additionalProperties", "additionalProperties must be a boolean or a schema") }
                value = try visit(additional, pointer + "/additionalProperties", name: name + "-additional")
            }
            let key = properties.isEmpty ? primitive("string") : otherKey(properties.map(\.key), name: name)
            extra = rule(name + "-additional-kv", "\(key) \(ws) \":\" \(ws) \(value)")
        }
        var pairs: [String] = []
        for (k, sub) in properties {
            let part = name + "-" + SchemaPrimitives.ruleName(k)
            let v = try visit(sub, pointer + "/properties/" + SchemaPrimitives.pointerToken(k), name: part)
            pairs.append(rule(part + "-kv", "\(SchemaPrimitives.literal(SchemaPrimitives.jsonString(k))) \(ws) \":\" \(ws) \(v)"))
        }
        var memo: [Int: String] = [:]
        let members = self.members(0, first: true, pairs: pairs, required: properties.map { required.contains($0.key) },
                                   extra: extra, name: name, memo: &memo)
        return rule(name, "\"{\" \(ws) \(members) \"}\"".replacingOccurrences(of: "  ", with: " "))
    }

    /// Members from property i on; `first`: no comma before the next one. Each member is followed by `ws`.
    private mutating func members(_ i: Int, first: Bool, pairs: [String], required: [Bool], extra: String?, name: String,
                                  memo: inout [Int: String]) -> String {
        let key = i * 2 + (first ? 1 : 0)
        if let m = memo[key] { return m }
        let separator = first ? "" : "\",\" ws "
        let body: String
        if i == pairs.count {
            guard let extra else { return "" }
            body = first ? "( \(extra) ws ( \",\" ws \(extra) ws )* )?" : "( \",\" ws \(extra) ws )*"
        } else {
            let next = members(i + 1, first: false, pairs: pairs, required: required, extra: extra, name: name, memo: &memo)
            let take = separator + pairs[i] + " ws" + (next.isEmpty ? "" : " " + next)
            if required[i] {
                body = take
            } else {
                let skip = members(i + 1, first: first, pairs: pairs, required: required, extra: extra, name: name, memo: &memo)
                body = skip.isEmpty ? "( \(take) )?" : "\(take) | \(skip)"
            }
        }
        let r = rule("\(name)-rest\(first ? "-first" : "")-\(i)", body)
        memo[key] = r
        return r
    }

    /// A JSON string key that is none of `keys`, written without escapes: a trie over the keys, where a string
    /// may leave the trie at any character or stop at any node that does not end a declared key.
    private mutating func otherKey(_ keys: [String], name: String) -> String {
        let plain = "[^\"\\\\\\x7F\\x00-\\x1F]"
        // Keys with characters that need escaping cannot be written by an unescaped key: nothing to exclude.
        let words = keys.map { Array($0.unicodeScalars) }.filter { $0.allSatisfy { $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0.value != 0x7F } }
        let rest = rule(name + "-key-rest", "\(plain)*")
        func node(_ prefix: [Unicode.Scalar], _ words: [[Unicode.Scalar]]) -> String {
            var next: [Unicode.Scalar] = []
            for w in words where w.count > prefix.count && !next.contains(w[prefix.count]) { next.append(w[prefix.count]) }
            var alternatives: [String] = []
            for c in next {
                let deeper = words.filter { $0.count > prefix.count && $0[prefix.count] == c }
                alternatives.append("\(SchemaPrimitives.literal(String(c))) \(node(prefix + [c], deeper))")
            }
            let excluded = next.map { $0.value > 0xFFFF ? String(format: "\\U%08X", $0.value) : String(format: "\\u%04X", $0.value) }.joined()
            alternatives.append("[^\"\\\\\\x7F\\x00-\\x1F\(excluded)] \(rest)")
            // The key may end here unless that spells a declared key (the empty alternative goes first: a trailing
            // `|` would continue the rule on the next line).
            if !words.contains(where: { $0.count == prefix.count }) { alternatives.insert("", at: 0) }
            return rule("\(name)-key", alternatives.joined(separator: " | "))
        }
        return "\"\\\"\" \(node([], words)) \"\\\"\""
    }

    /// `[` items `]`: `prefixItems` by position, then `items` (none after a prefix when `items` is absent, as
    /// llama.cpp does), the count within `minItems` … `maxItems`.
    mutating func array(_ o: JSONObject, _ pointer: String, name: String) throws(JSONSchemaError) -> String {
        var prefix: [JSONValue] = []
        var items = o["items"]
        if let p = o["prefixItems"] {
            guard let list = p.array else { throw fail(pointer, "prefixItems", "prefixItems must be an array of schemas") }
            prefix = list
        }
        if let tuple = items?.array {  // draft 4-2019 tuple form
            guard prefix.isEmpty else { throw fail(pointer, "items", "items as an array together with prefixItems") }
            prefix = tuple
            items = nil
        }
        let lo = try count(o, "minItems", pointer) ?? 0
        var hi = try count(o, "maxItems", pointer)
        var item: String?
        switch items {
        case nil: item = prefix.isEmpty ? primitive("value") : nil
        case .bool(true)?: item = primitive("value")
        case .bool(false)?: item = nil
        case let schema?:
            guard schema.object != nil else { throw fail(pointer, "items", "items must be a schema") }
            item = try visit(schema, pointer + "/items", name: name + "-item")
        }
        if item == nil { hi = min(hi ?? prefix.count, prefix.count) }
        if let hi, hi < lo {
            throw fail(pointer, o["maxItems"] != nil && o["maxItems"]!.int! < lo ? "maxItems" : "minItems",
                       "minItems \(lo) cannot be met (at most \(hi) items are allowed)")
        }
        var positional: [String] = []
        for (k, s) in prefix.enumerated() { positional.append(try visit(s, "\(pointer)/prefixItems/\(k)", name: "\(name)-\(k)")) }
        let ws = primitive("ws")
        let body = positions(0, first: true, positional: positional, item: item, lo: lo, hi: hi, name: name)
        return rule(name, "\"[\" \(ws) \(body) \"]\"".replacingOccurrences(of: "  ", with: " "))
    }

    private mutating func positions(_ j: Int, first: Bool, positional: [String], item: String?, lo: Int, hi: Int?, name: String) -> String {
        let separator = first ? "" : "\",\" ws "
        if j < positional.count {
            if let hi, j >= hi { return "" }
            let next = positions(j + 1, first: false, positional: positional, item: item, lo: lo, hi: hi, name: name)
            let take = separator + positional[j] + " ws" + (next.isEmpty ? "" : " " + next)
            return rule("\(name)-from-\(j)", j < lo ? take : "( \(take) )?")
        }
        guard let item else { return "" }
        let m = max(0, lo - positional.count), n = hi.map { $0 - positional.count }
        if n == 0 { return "" }
        let body: String
        if first {
            let more = "( \",\" ws \(item) ws )\(repetition(max(m - 1, 0), n.map { $0 - 1 }))"
            let list = n == 1 ? "\(item) ws" : "\(item) ws \(more)"
            body = m == 0 ? "( \(list) )?" : list
        } else {
            body = "( \",\" ws \(item) ws )\(repetition(m, n))"
        }
        return rule("\(name)-items", body)
    }

    // MARK: oneOf

    /// oneOf is compiled as a choice, which is only right when no value can match two branches: prove that
    /// each pair differs in JSON type, or is two objects with a required property whose const/enum values differ.
    mutating func checkExclusive(_ branches: [JSONValue], _ pointer: String) throws(JSONSchemaError) {
        let summaries = branches.map { summary($0, depth: 0) }
        for i in 0..<branches.count {
            for j in (i + 1)..<branches.count where !Self.exclusive(summaries[i], summaries[j]) {
                throw JSONSchemaError(keyword: "oneOf", pointer: pointer,
                    "oneOf branches \(i) and \(j) may both match one value (oneOf needs branches of different types, or objects "
                    + "with a required property whose const/enum values differ); use anyOf if a value may match both")
            }
        }
    }

    typealias Summary = (kinds: Set<String>?, tags: [String: Set<String>])

    private static func exclusive(_ a: Summary, _ b: Summary) -> Bool {
        if let x = a.kinds, let y = b.kinds {
            let overlap = !x.isDisjoint(with: y) || (x.contains("integer") && y.contains("number")) || (x.contains("number") && y.contains("integer"))
            if !overlap { return true }
            if x == ["object"] && y == ["object"] {
                for (k, values) in a.tags { if let other = b.tags[k], values.isDisjoint(with: other) { return true } }
            }
        }
        return false
    }

    private func resolve(_ s: JSONValue, depth: Int) -> JSONValue? {
        guard depth < 32, let ref = s["$ref"]?.string, ref.hasPrefix("#") else { return s }
        var node = root
        for raw in ref.dropFirst().split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let token = String(raw).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node[token] else { return nil }
            node = next
        }
        return resolve(node, depth: depth + 1)
    }

    private func summary(_ schema: JSONValue, depth: Int) -> Summary {
        guard let s = resolve(schema, depth: depth), let o = s.object, depth < 32 else { return (nil, [:]) }
        func kind(_ v: JSONValue) -> String {
            switch v {
            case .null: "null"
            case .bool: "boolean"
            case .string: "string"
            case .array: "array"
            case .object: "object"
            case .number(let d): d.rounded() == d ? "integer" : "number"
            }
        }
        if let all = o["allOf"]?.array, all.count == 1 { return summary(all[0], depth: depth + 1) }
        for keyword in ["anyOf", "oneOf"] {
            guard let list = o[keyword]?.array else { continue }
            var kinds = Set<String>()
            for b in list {
                guard let k = summary(b, depth: depth + 1).kinds else { return (nil, [:]) }
                kinds.formUnion(k)
            }
            return (kinds, [:])
        }
        if let c = o["const"] { return ([kind(c)], [:]) }
        if let e = o["enum"]?.array { return (Set(e.map(kind)), [:]) }
        var kinds: Set<String>?
        if let t = o["type"] {
            kinds = Set(t.string.map { [$0] } ?? t.array?.compactMap(\.string) ?? [])
        } else if o["properties"] != nil {
            kinds = ["object"]
        }
        var tags: [String: Set<String>] = [:]
        if kinds == ["object"], let props = o["properties"]?.object, let required = o["required"]?.array?.compactMap(\.string) {
            for k in required {
                guard let p = props[k].flatMap({ resolve($0, depth: depth + 1) })?.object else { continue }
                if let c = p["const"] { tags[k] = [SchemaPrimitives.json(c)] }
                if let e = p["enum"]?.array { tags[k] = Set(e.map(SchemaPrimitives.json)) }
            }
        }
        return (kinds, tags)
    }
}
