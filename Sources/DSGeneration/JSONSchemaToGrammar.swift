import DSFormats
import DSTokenizer

/// A schema the compiler refuses: the keyword at fault (when one is), its JSON pointer, and why.
public struct JSONSchemaError: Error, CustomStringConvertible, Sendable, Equatable {
    public var keyword: String?
    /// Where, as a URI fragment JSON pointer: `#/properties/tags/items/not`.
    public var pointer: String
    public var message: String

    public init(keyword: String?, pointer: String, _ message: String) {
        self.keyword = keyword
        self.pointer = pointer
        self.message = message
    }

    public var description: String { "\(message) at \(pointer)" }
}

/// JSON Schema → GBNF, as llama.cpp's json-schema-to-grammar does it, but failing closed: every keyword is either
/// enforced by the grammar, an annotation (ignored), or an error naming it and its JSON pointer — a schema is
/// never silently left unconstrained. Enforced: `type` (with unions and null), `properties` / `required` /
/// `additionalProperties` (false, true or a schema; absent = true, or false when `strict`), `enum` / `const`,
/// `items` / `prefixItems` / `minItems` / `maxItems`, string `minLength` / `maxLength` / `pattern` / `format`
/// (date, time, date-time, uuid), number and integer `minimum` / `maximum` / `exclusiveMinimum` /
/// `exclusiveMaximum` (exact, integer and decimal bounds), `anyOf`, `oneOf` (its branches must be provably
/// exclusive), a one-element `allOf`, local `$ref` (recursive too) into `$defs` / `definitions` / anywhere.
public enum JSONSchemaGrammar {
    /// The grammar text for a schema.
    public static func gbnf(for schema: JSONValue, strict: Bool = false) throws(JSONSchemaError) -> String {
        var c = SchemaCompiler(root: schema, strict: strict)
        let root = try c.visit(schema, "#", name: "root")
        return c.text(root: root)
    }

    /// The grammar for any JSON object (`response_format: {"type": "json_object"}`).
    public static let anyObjectGBNF: String = {
        var c = SchemaCompiler(root: .bool(true), strict: false)
        let root = c.primitive("object")
        return c.text(root: root)
    }()

    /// The compiled grammar for a schema over a tokenizer's vocabulary, shared with earlier requests for the
    /// same schema (`TokenGrammar.cached`).
    public static func grammar(for schema: JSONValue, strict: Bool = false, tokenizer: Tokenizer) throws(JSONSchemaError) -> TokenGrammar {
        let text = try gbnf(for: schema, strict: strict)
        do { return try TokenGrammar.cached(gbnf: text, tokenizer: tokenizer) } catch {
            throw JSONSchemaError(keyword: nil, pointer: "#", "the schema cannot be turned into a grammar: \(error.message)")
        }
    }
}

struct SchemaCompiler {
    let root: JSONValue
    let strict: Bool
    var rules: [(name: String, body: String)] = []
    var names: Set<String> = Set(SchemaPrimitives.rules.keys)
    var nameOfBody: [String: String] = [:]
    var refNames: [String: String] = [:]
    var primitivesAdded: Set<String> = []

    static let annotations: Set<String> = ["title", "description", "examples", "default", "$schema", "$id", "$comment",
                                           "deprecated", "readOnly", "writeOnly", "$defs", "definitions"]
    static let supported: Set<String> = ["type", "properties", "required", "additionalProperties", "enum", "const", "items",
                                         "prefixItems", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format",
                                         "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf", "allOf", "$ref"]
    static let unsupported: Set<String> = ["if", "then", "else", "not", "dependentSchemas", "dependentRequired", "dependencies",
                                           "patternProperties", "propertyNames", "unevaluatedProperties", "unevaluatedItems",
                                           "contains", "minContains", "maxContains", "multipleOf", "uniqueItems", "minProperties",
                                           "maxProperties", "additionalItems", "$dynamicRef", "$dynamicAnchor", "$recursiveRef",
                                           "$recursiveAnchor", "$anchor", "contentEncoding", "contentMediaType", "contentSchema",
                                           "nullable", "discriminator"]
    static let objectKeywords: Set<String> = ["properties", "required", "additionalProperties"]
    static let arrayKeywords: Set<String> = ["items", "prefixItems", "minItems", "maxItems"]
    static let stringKeywords: Set<String> = ["minLength", "maxLength", "pattern", "format"]
    static let numberKeywords: Set<String> = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]

    init(root: JSONValue, strict: Bool) {
        self.root = root
        self.strict = strict
    }

    func text(root expression: String) -> String {
        (["root ::= \(expression)"] + rules.map { "\($0.name) ::= \($0.body)" }).joined(separator: "\n") + "\n"
    }

    // MARK: Rules

    /// A primitive rule (and the ones it uses), added once.
    mutating func primitive(_ name: String) -> String {
        guard primitivesAdded.insert(name).inserted, let p = SchemaPrimitives.rules[name] else { return name }
        for u in p.uses { _ = primitive(u) }
        rules.append((name, p.body))
        return name
    }

    /// A fresh rule name based on `hint`.
    mutating func reserve(_ hint: String) -> String {
        var name = hint, k = 1
        while names.contains(name) || name == "root" {
            name = "\(hint)-\(k)"
            k += 1
        }
        names.insert(name)
        return name
    }

    /// A rule with this body (an existing one when the body is the same).
    mutating func rule(_ hint: String, _ body: String) -> String {
        if let existing = nameOfBody[body] { return existing }
        let name = reserve(hint)
        rules.append((name, body))
        nameOfBody[body] = name
        return name
    }

    func fail(_ pointer: String, _ keyword: String?, _ message: String) -> JSONSchemaError {
        JSONSchemaError(keyword: keyword, pointer: keyword.map { pointer + "/" + SchemaPrimitives.pointerToken($0) } ?? pointer, message)
    }

    // MARK: Schemas

    /// An expression (usually a rule name) for the values the schema at `pointer` allows.
    mutating func visit(_ schema: JSONValue, _ pointer: String, name: String) throws(JSONSchemaError) -> String {
        if schema == .bool(true) { return primitive("value") }
        if schema == .bool(false) { throw fail(pointer, nil, "the schema false allows no value") }
        guard let o = schema.object else { throw fail(pointer, nil, "a schema must be an object or a boolean") }
        for (key, _) in o.members where !Self.annotations.contains(key) && !Self.supported.contains(key) {
            throw fail(pointer, key, Self.unsupported.contains(key) ? "unsupported JSON Schema keyword '\(key)'" : "unknown JSON Schema keyword '\(key)'")
        }
        let constraints = o.members.map(\.key).filter { !Self.annotations.contains($0) }
        func alone(_ keyword: String, besides allowed: Set<String> = []) throws(JSONSchemaError) {
            if let other = constraints.first(where: { $0 != keyword && !allowed.contains($0) }) {
                throw fail(pointer, other, "'\(other)' alongside '\(keyword)' is not supported (move it into the \(keyword) target or branches)")
            }
        }
        if let ref = o["$ref"] {
            try alone("$ref")
            return try reference(ref, pointer)
        }
        if let all = o["allOf"] {
            try alone("allOf")
            guard let list = all.array, list.count == 1 else {
                throw fail(pointer, "allOf", "allOf is supported with exactly one schema (merging several is not)")
            }
            return try visit(list[0], pointer + "/allOf/0", name: name)
        }
        for keyword in ["anyOf", "oneOf"] {
            guard let v = o[keyword] else { continue }
            try alone(keyword)
            guard let list = v.array, !list.isEmpty else { throw fail(pointer, keyword, "\(keyword) must be a non-empty array of schemas") }
            if keyword == "oneOf" { try checkExclusive(list, pointer + "/oneOf") }
            var alternatives: [String] = []
            for (k, s) in list.enumerated() { alternatives.append(try visit(s, "\(pointer)/\(keyword)/\(k)", name: "\(name)-\(k)")) }
            return rule(name, alternatives.joined(separator: " | "))
        }
        let types = try typeList(o, pointer)
        if o["const"] != nil || o["enum"] != nil {
            let keyword = o["const"] != nil ? "const" : "enum"
            try alone(keyword, besides: ["type"])
            var values = o["const"].map { [$0] } ?? []
            if let e = o["enum"] {
                guard let list = e.array, !list.isEmpty else { throw fail(pointer, "enum", "enum must be a non-empty array") }
                values = list
            }
            if let types { values = values.filter { v in types.contains { Self.kind(of: v, matches: $0) } } }
            guard !values.isEmpty else { throw fail(pointer, keyword, "no \(keyword) value has the schema's type") }
            return rule(name, values.map { SchemaPrimitives.literal(SchemaPrimitives.json($0)) }.joined(separator: " | "))
        }
        guard let types else { return primitive("value") }
        var alternatives: [String] = []
        for t in types { alternatives.append(try typed(t, o, pointer, name: types.count > 1 ? "\(name)-\(t)" : name)) }
        return alternatives.count == 1 ? alternatives[0] : rule(name, alternatives.joined(separator: " | "))
    }

    /// `type` as a list; when absent, inferred from the keywords of one type (nil: any value).
    private func typeList(_ o: JSONObject, _ pointer: String) throws(JSONSchemaError) -> [String]? {
        let known: Set<String> = ["string", "number", "integer", "boolean", "null", "object", "array"]
        if let t = o["type"] {
            let list = t.string.map { [$0] } ?? t.array?.compactMap(\.string) ?? []
            guard !list.isEmpty, list.count == (t.array?.count ?? 1) else { throw fail(pointer, "type", "type must be a type name or an array of them") }
            for name in list where !known.contains(name) { throw fail(pointer, "type", "unknown type '\(name)'") }
            return list
        }
        let keys = Set(o.members.map(\.key))
        var inferred: [String] = []
        if !keys.isDisjoint(with: Self.objectKeywords) { inferred.append("object") }
        if !keys.isDisjoint(with: Self.arrayKeywords) { inferred.append("array") }
        if !keys.isDisjoint(with: Self.stringKeywords) { inferred.append("string") }
        if !keys.isDisjoint(with: Self.numberKeywords) { inferred.append("number") }
        if inferred.count > 1 { throw fail(pointer, nil, "keywords of several types (\(inferred.joined(separator: ", "))) without 'type': give 'type'") }
        return inferred.isEmpty ? nil : inferred
    }

    static func kind(of v: JSONValue, matches type: String) -> Bool {
        switch (v, type) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"), (.number, "number"): true
        case (.number(let d), "integer"): d.rounded() == d
        default: false
        }
    }

    private mutating func typed(_ type: String, _ o: JSONObject, _ pointer: String, name: String) throws(JSONSchemaError) -> String {
        switch type {
        case "null": return primitive("null")
        case "boolean": return primitive("boolean")
        case "string": return try string(o, pointer, name: name)
        case "integer", "number": return try number(o, pointer, name: name, integer: type == "integer")
        case "object": return try object(o, pointer, name: name)
        default: return try array(o, pointer, name: name)
        }
    }

    private mutating func reference(_ ref: JSONValue, _ pointer: String) throws(JSONSchemaError) -> String {
        guard let target = ref.string else { throw fail(pointer, "$ref", "$ref must be a string") }
        if let name = refNames[target] { return name }
        guard target.hasPrefix("#") else {
            throw fail(pointer, "$ref", "only local references (#/…) are supported, got '\(target)'")
        }
        var node = root
        var hint = "ref"
        for raw in target.dropFirst().split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let token = (String(raw).removingPercentEncoding ?? String(raw)).replacingOccurrences(of: "~1", with: "/")
                .replacingOccurrences(of: "~0", with: "~")
            if let o = node.object, let next = o[token] {
                node = next
            } else if let a = node.array, let k = Int(token), a.indices.contains(k) {
                node = a[k]
            } else {
                throw fail(pointer, "$ref", "$ref '\(target)' does not resolve in this schema")
            }
            hint = SchemaPrimitives.ruleName(token)
        }
        // Named before its body is compiled, so a recursive schema refers to the rule itself.
        let name = reserve(target == "#" ? "root-ref" : hint)
        refNames[target] = name
        let index = rules.count
        rules.append((name, ""))
        let body = try visit(node, target, name: name + "-body")
        rules[index].body = body
        return name
    }

    // MARK: Strings and numbers

    private mutating func string(_ o: JSONObject, _ pointer: String, name: String) throws(JSONSchemaError) -> String {
        let minLength = try count(o, "minLength", pointer), maxLength = try count(o, "maxLength", pointer)
        if let format = o["format"] {
            guard let f = format.string, SchemaPrimitives.formats.contains(f) else {
                throw fail(pointer, "format", "unsupported format \(SchemaPrimitives.json(format)) (supported: date, time, date-time, uuid)")
            }
            if let other = ["minLength", "maxLength", "pattern"].first(where: { o[$0] != nil }) {
                throw fail(pointer, other, "'\(other)' together with 'format' is not supported")
            }
            return rule(name, "\"\\\"\" \(primitive(f)) \"\\\"\"")
        }
        if let pattern = o["pattern"] {
            guard let p = pattern.string else { throw fail(pointer, "pattern", "pattern must be a string") }
            if let other = ["minLength", "maxLength"].first(where: { o[$0] != nil }) {
                throw fail(pointer, other, "'\(other)' together with 'pattern' is not supported (bound the pattern's repetitions instead)")
            }
            let body: String
            do { body = try PatternCompiler.compile(p) } catch { throw fail(pointer, "pattern", "pattern \(SchemaPrimitives.jsonString(p)): \(error.message)") }
            return rule(name, "\"\\\"\" \(body) \"\\\"\"")
        }
        guard minLength != nil || maxLength != nil else { return primitive("string") }
        let lo = minLength ?? 0
        if let hi = maxLength, hi < lo { throw fail(pointer, "maxLength", "maxLength \(hi) is below minLength \(lo)") }
        return rule(name, "\"\\\"\" \(primitive("char"))\(repetition(lo, maxLength)) \"\\\"\"")
    }

    func count(_ o: JSONObject, _ keyword: String, _ pointer: String) throws(JSONSchemaError) -> Int? {
        guard let v = o[keyword] else { return nil }
        guard let n = v.int, n >= 0 else { throw fail(pointer, keyword, "\(keyword) must be a non-negative integer") }
        guard n <= GBNFParser.maxRepetition else { throw fail(pointer, keyword, "\(keyword) above \(GBNFParser.maxRepetition) is not supported") }
        return n
    }

    /// `{m,n}` in GBNF (`*`, `+`, `?` where they say the same).
    func repetition(_ m: Int, _ n: Int?) -> String {
        switch (m, n) {
        case (0, nil): return "*"
        case (1, nil): return "+"
        case (0, 1): return "?"
        case (let m, nil): return "{\(m),}"
        case (let m, let n?) where m == n: return "{\(m)}"
        case (let m, let n?): return "{\(m),\(n)}"
        }
    }

    private mutating func number(_ o: JSONObject, _ pointer: String, name: String, integer: Bool) throws(JSONSchemaError) -> String {
        var lower: (Double, Bool)?, upper: (Double, Bool)?
        func bound(_ keyword: String) throws(JSONSchemaError) -> Double? {
            guard let v = o[keyword] else { return nil }
            if v.bool != nil, keyword.hasPrefix("exclusive") { return nil }  // draft 4 form, applied below
            guard let d = v.double, d.isFinite else { throw fail(pointer, keyword, "\(keyword) must be a number") }
            return d
        }
        func tighter(_ a: (Double, Bool)?, _ b: (Double, Bool), lower: Bool) -> (Double, Bool) {
            guard let a else { return b }
            if a.0 == b.0 { return (a.0, a.1 || b.1) }
            return (a.0 < b.0) == lower ? b : a
        }
        if let m = try bound("minimum") { lower = (m, o["exclusiveMinimum"]?.bool ?? false) }
        if let m = try bound("exclusiveMinimum") { lower = tighter(lower, (m, true), lower: true) }
        if let m = try bound("maximum") { upper = (m, o["exclusiveMaximum"]?.bool ?? false) }
        if let m = try bound("exclusiveMaximum") { upper = tighter(upper, (m, true), lower: false) }
        guard lower != nil || upper != nil else { return primitive(integer ? "integer" : "number") }
        let limit = Double(NumberRangeRules.largest)
        let keyword = lower != nil ? (o["minimum"] != nil ? "minimum" : "exclusiveMinimum") : (o["maximum"] != nil ? "maximum" : "exclusiveMaximum")
        if integer {
            var lo: Int64?, hi: Int64?
            if let (v, ex) = lower { lo = v <= -limit ? nil : (v >= limit ? Int64.max : Int64((ex && v.rounded(.down) == v) ? v + 1 : v.rounded(.up))) }
            if let (v, ex) = upper { hi = v >= limit ? nil : (v <= -limit ? Int64.min : Int64((ex && v.rounded(.up) == v) ? v - 1 : v.rounded(.down))) }
            guard let body = NumberRangeRules.integers(lo, hi) else {
                throw fail(pointer, keyword, "no integer of at most \(NumberRangeRules.maxDigits) digits satisfies the bounds")
            }
            return rule(name, body)
        }
        // Bounds beyond the 16 digits the grammar writes bind nothing on the open side and leave nothing on the other.
        if let (v, _) = lower, v <= -limit { lower = nil }
        if let (v, _) = upper, v >= limit { upper = nil }
        let empty = (lower.map { $0.0 >= limit } ?? false) || (upper.map { $0.0 <= -limit } ?? false)
        let prefix = reserve(name)
        var ranges = NumberRangeRules(prefix: prefix)
        guard !empty, let body = ranges.numbers(lower: lower?.0, lowerExclusive: lower?.1 ?? false, upper: upper?.0, upperExclusive: upper?.1 ?? false)
        else { throw fail(pointer, keyword, "no number satisfies the bounds") }
        for r in ranges.rules where r.body != "" {
            names.insert(r.name)
            rules.append(r)
        }
        rules.append((prefix, body))
        return prefix
    }
}
