import DSFormats
import Foundation

/// A small JSON Schema validator for the subset the grammar compiler supports, written independently of it
/// (so a compiler bug shows up as a validation failure): returns the first violation, or nil.
struct SchemaValidator {
    let root: JSONValue

    func validate(_ v: JSONValue) -> String? { check(v, root, "$") }

    private func resolve(_ ref: String) -> JSONValue? {
        var node = root
        for raw in ref.dropFirst().split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let token = String(raw).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node[token] else { return nil }
            node = next
        }
        return node
    }

    private func isType(_ v: JSONValue, _ t: String) -> Bool {
        switch (v, t) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"), (.number, "number"): true
        case (.number(let d), "integer"): d.rounded() == d
        default: false
        }
    }

    private func check(_ v: JSONValue, _ schema: JSONValue, _ at: String) -> String? {
        if schema == .bool(true) { return nil }
        if schema == .bool(false) { return "\(at): false schema" }
        guard let s = schema.object else { return "\(at): bad schema" }
        if let ref = s["$ref"]?.string {
            guard let target = resolve(ref) else { return "\(at): unresolved \(ref)" }
            if let e = check(v, target, at) { return e }
        }
        if let all = s["allOf"]?.array { for sub in all { if let e = check(v, sub, at) { return e } } }
        if let any = s["anyOf"]?.array, !any.contains(where: { check(v, $0, at) == nil }) { return "\(at): matches no anyOf branch" }
        if let one = s["oneOf"]?.array {
            let n = one.filter { check(v, $0, at) == nil }.count
            if n != 1 { return "\(at): matches \(n) oneOf branches" }
        }
        if let t = s["type"] {
            let types = t.string.map { [$0] } ?? t.array!.compactMap(\.string)
            if !types.contains(where: { isType(v, $0) }) { return "\(at): not of type \(types)" }
        }
        if let c = s["const"], !equal(v, c) { return "\(at): not the const" }
        if let e = s["enum"]?.array, !e.contains(where: { equal(v, $0) }) { return "\(at): not in the enum" }
        switch v {
        case .string(let str): return checkString(str, s, at)
        case .number(let d): return checkNumber(d, s, at)
        case .array(let a): return checkArray(a, s, at)
        case .object(let o): return checkObject(o, s, at)
        default: return nil
        }
    }

    private func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): x == y
        case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy(equal)
        case (.object(let x), .object(let y)):
            x.count == y.count && x.members.allSatisfy { m in y[m.key].map { equal(m.value, $0) } ?? false }
        default: a == b
        }
    }

    private func checkString(_ str: String, _ s: JSONObject, _ at: String) -> String? {
        let length = str.unicodeScalars.count
        if let m = s["minLength"]?.int, length < m { return "\(at): shorter than \(m)" }
        if let m = s["maxLength"]?.int, length > m { return "\(at): longer than \(m)" }
        if let p = s["pattern"]?.string {
            let re = try! NSRegularExpression(pattern: p)
            if re.firstMatch(in: str, range: NSRange(str.startIndex..., in: str)) == nil { return "\(at): \(str.debugDescription) does not match \(p)" }
        }
        if let f = s["format"]?.string, !Self.hasFormat(str, f) { return "\(at): \(str.debugDescription) is not a \(f)" }
        return nil
    }

    static func hasFormat(_ s: String, _ format: String) -> Bool {
        func full(_ pattern: String) -> Bool { s.range(of: "^" + pattern + "$", options: .regularExpression) != nil }
        func validDate(_ d: Substring) -> Bool {
            let parts = d.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3 else { return false }
            let (y, m, day) = (parts[0], parts[1], parts[2])
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            return (1...12).contains(m) && (1...days[m - 1]).contains(day)
        }
        let time = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
        switch format {
        case "date": return full("[0-9]{4}-[0-9]{2}-[0-9]{2}") && validDate(s[...])
        case "time": return full(time)
        case "date-time": return full("[0-9]{4}-[0-9]{2}-[0-9]{2}T" + time) && validDate(s.prefix(10))
        case "uuid": return full("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
        default: return false
        }
    }

    private func checkNumber(_ d: Double, _ s: JSONObject, _ at: String) -> String? {
        if !d.isFinite { return "\(at): not finite" }
        if let m = s["minimum"]?.double, d < m { return "\(at): \(d) < minimum \(m)" }
        if let m = s["maximum"]?.double, d > m { return "\(at): \(d) > maximum \(m)" }
        if let m = s["exclusiveMinimum"]?.double, d <= m { return "\(at): \(d) ≤ exclusiveMinimum \(m)" }
        if let m = s["exclusiveMaximum"]?.double, d >= m { return "\(at): \(d) ≥ exclusiveMaximum \(m)" }
        return nil
    }

    private func checkArray(_ a: [JSONValue], _ s: JSONObject, _ at: String) -> String? {
        if let m = s["minItems"]?.int, a.count < m { return "\(at): fewer than \(m) items" }
        if let m = s["maxItems"]?.int, a.count > m { return "\(at): more than \(m) items" }
        let prefix = s["prefixItems"]?.array ?? []
        for (i, item) in a.enumerated() {
            let schema = i < prefix.count ? prefix[i] : (s["items"] ?? .bool(true))
            if let e = check(item, schema, "\(at)[\(i)]") { return e }
        }
        return nil
    }

    private func checkObject(_ o: JSONObject, _ s: JSONObject, _ at: String) -> String? {
        let keys = o.members.map(\.key)
        if Set(keys).count != keys.count { return "\(at): repeated key" }
        for r in s["required"]?.array?.compactMap(\.string) ?? [] where o[r] == nil { return "\(at): missing \(r)" }
        let properties = s["properties"]?.object
        for (k, value) in o.members {
            if let p = properties?[k] {
                if let e = check(value, p, "\(at).\(k)") { return e }
            } else if let extra = s["additionalProperties"], let e = check(value, extra, "\(at).\(k)") {
                return e
            }
        }
        return nil
    }
}
