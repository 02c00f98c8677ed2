@testable import DSGeneration
import DSFormats
import Foundation
import Testing

/// One automaton reused over many strings (each a complete match or not).
final class TextMatcher {
    let automaton: GrammarAutomaton
    init(_ g: Grammar) { automaton = GrammarAutomaton(g) }
    func matches(_ text: String) -> Bool {
        var s = automaton.initialState
        for b in text.utf8 {
            s = automaton.next(s, b)
            if s < 0 { return false }
        }
        return automaton.isAccepting(s)
    }
}

func schemaGrammar(_ json: String, strict: Bool = true) throws -> TextMatcher {
    TextMatcher(try Grammar(gbnf: try JSONSchemaGrammar.gbnf(for: try JSONValue.parse(Array(json.utf8)), strict: strict)))
}

func schemaError(_ json: String) -> JSONSchemaError? {
    do { _ = try JSONSchemaGrammar.gbnf(for: try JSONValue.parse(Array(json.utf8)), strict: true); return nil } catch let e as JSONSchemaError {
        return e
    } catch {
        return nil
    }
}

@Suite struct JSONSchemaCompilerTests {
    @Test func integerBoundsAreExact() throws {
        let bounds: [(Int?, Int?)] = [(0, 0), (0, 9), (1, 10), (-5, 5), (18, 130), (-250, -3), (7, 1234), (-1000, -999), (99, 101),
                                      (5, nil), (nil, -7), (nil, 12), (-12, nil), (123, 4567), (-1, 0), (10, 99), (100, 100)]
        for (lo, hi) in bounds {
            var fields: [String] = []
            if let lo { fields.append("\"minimum\": \(lo)") }
            if let hi { fields.append("\"maximum\": \(hi)") }
            let g = try schemaGrammar("{\"type\": \"integer\", \(fields.joined(separator: ", "))}")
            for n in -1500...1500 {
                let inside = (lo.map { n >= $0 } ?? true) && (hi.map { n <= $0 } ?? true)
                #expect(g.matches(String(n)) == inside, "\(n) in \(String(describing: lo))…\(String(describing: hi))")
            }
            #expect(!g.matches("007") && !g.matches("-0") && !g.matches("1.0") && !g.matches("1e2"))
        }
        // Exclusive and fractional bounds round inward.
        let g = try schemaGrammar(#"{"type": "integer", "exclusiveMinimum": 2, "maximum": 7.5}"#)
        #expect((0...9).filter { g.matches(String($0)) } == [3, 4, 5, 6, 7])
        // Unbounded sides stop at 16 digits.
        let big = try schemaGrammar(#"{"type": "integer", "minimum": 0}"#)
        #expect(big.matches("9999999999999999") && !big.matches("10000000000000000"))
    }

    @Test func numberBoundsAreExact() throws {
        typealias Bound = (Double, Bool)?
        let cases: [(Bound, Bound)] = [((-1.5, false), (2.25, false)), ((0, true), (1, false)), ((36.5, false), (42, true)), (nil, (-0.5, false)),
                                       ((0.05, true), (0.1, true)), ((-3, false), nil), ((1000.125, false), (1000.25, true)), ((0, false), (0, false)),
                                       ((-0.25, true), (-0.125, false))]
        let fractions = ["", ".0", ".5", ".25", ".125", ".05", ".049", ".051", ".1", ".0999", ".75", ".9", ".999", ".001", ".10", ".00", ".2500", ".24999"]
        let integers = [0, 1, 2, 3, 4, 35, 36, 37, 41, 42, 43, 999, 1000, 1001]
        for (lower, upper) in cases {
            var fields: [String] = []
            if let (v, ex) = lower { fields.append("\"\(ex ? "exclusiveMinimum" : "minimum")\": \(v)") }
            if let (v, ex) = upper { fields.append("\"\(ex ? "exclusiveMaximum" : "maximum")\": \(v)") }
            let g = try schemaGrammar("{\"type\": \"number\", \(fields.joined(separator: ", "))}")
            for sign in ["", "-"] {
                for i in integers {
                    for f in fractions {
                        let text = "\(sign)\(i)\(f)"
                        let v = Decimal(string: text)!
                        var inside = true
                        if let (b, ex) = lower { let d = Decimal(string: "\(b)")!; inside = inside && (ex ? v > d : v >= d) }
                        if let (b, ex) = upper { let d = Decimal(string: "\(b)")!; inside = inside && (ex ? v < d : v <= d) }
                        if sign == "-" && v == 0 {
                            #expect(!g.matches(text) || inside)  // "-0": value 0, written but never required
                        } else {
                            #expect(g.matches(text) == inside, "\(text) with \(fields)")
                        }
                    }
                }
            }
        }
    }

    @Test func patternsMatchLikeTheAnchoredRegex() throws {
        let cases: [(String, [String])] = [
            (#"^\d{3}-\d{4}$"#, ["555-1234", "55-1234", "555-12345", "abc-defg", "555-123"]),
            (#"^(cat|dog)s?$"#, ["cat", "cats", "dogs", "cow", "catss", ""]),
            (#"^[A-Z][a-z]{1,5}( [A-Z][a-z]{1,5})?$"#, ["Ann", "Ann Lee", "ann", "Ann lee", "Annabelle", "A"]),
            (#"^[^,]+$"#, ["a b", "x,y", "\"quoted\"", "back\\slash", "tab\there"]),
            (#"^\w+@\w+\.(com|org)$"#, ["me@x.com", "me@x.net", "a_b@c1.org"]),
            (#"^x*(ab|c){2}\.?$"#, ["abc", "xxabab.", "ab", "cc", "xabcab"]),
            (#"^[\u00e0-\u00ff]{2}\x41$"#, ["éèA", "éA", "eeA"]),
        ]
        for (pattern, strings) in cases {
            let g = try schemaGrammar("{\"type\": \"string\", \"pattern\": \(SchemaPrimitives.jsonString(pattern))}")
            let regex = try NSRegularExpression(pattern: pattern)
            for s in strings {
                let expected = regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
                #expect(g.matches(SchemaPrimitives.jsonString(s)) == expected, "\(pattern) on \(s.debugDescription)")
            }
        }
    }

    @Test func datesAreCalendarDates() throws {
        let g = try schemaGrammar(#"{"type": "string", "format": "date"}"#)
        for year in [1900, 2000, 2023, 2024] {
            for month in 1...12 {
                for day in 1...31 {
                    let text = String(format: "%04d-%02d-%02d", year, month, day)
                    #expect(g.matches("\"\(text)\"") == SchemaValidator.hasFormat(text, "date"), "\(text)")
                }
            }
        }
        let t = try schemaGrammar(#"{"type": "string", "format": "date-time"}"#)
        #expect(t.matches(#""2024-02-29T23:59:59.123+05:30""#) && !t.matches(#""2023-02-29T00:00:00Z""#) && !t.matches(#""2024-01-01T24:00:00Z""#))
    }

    @Test func unsupportedKeywordsAreErrorsNamingKeywordAndPointer() {
        let values = ["if": "{}", "then": "{}", "else": "{}", "not": "{}", "dependentSchemas": "{}", "dependentRequired": "{}",
                      "patternProperties": "{}", "propertyNames": "{}", "unevaluatedProperties": "false", "contains": "{}",
                      "multipleOf": "2", "uniqueItems": "true", "minProperties": "1", "maxProperties": "2"]
        for (keyword, value) in values {
            let e = schemaError("{\"type\": \"object\", \"properties\": {\"a b/c\": {\"type\": \"string\", \"\(keyword)\": \(value)}}}")
            #expect(e?.keyword == keyword && e?.pointer == "#/properties/a b~1c/\(keyword)", "\(keyword): \(String(describing: e))")
            #expect(e?.description == "unsupported JSON Schema keyword '\(keyword)' at #/properties/a b~1c/\(keyword)")
        }
        #expect(schemaError(#"{"type": "string", "maxLenght": 3}"#)?.description == "unknown JSON Schema keyword 'maxLenght' at #/maxLenght")
        #expect(schemaError(#"{"type": "string", "format": "email"}"#)?.keyword == "format")
        #expect(schemaError(#"{"oneOf": [{"type": "number"}, {"type": "integer"}]}"#)?.message.contains("oneOf branches 0 and 1") == true)
        #expect(schemaError(#"{"allOf": [{"type": "number"}, {"minimum": 1}]}"#)?.keyword == "allOf")
        #expect(schemaError(#"{"$ref": "https://example.com/s.json"}"#)?.keyword == "$ref")
        #expect(schemaError(##"{"$ref": "#/$defs/missing"}"##)?.message.contains("does not resolve") == true)
        #expect(schemaError(#"{"type": "object", "properties": {}, "required": ["x"]}"#)?.keyword == "required")
        #expect(schemaError(#"{"type": "array", "minItems": 3, "maxItems": 2}"#)?.keyword == "maxItems")
        #expect(schemaError(#"{"type": "integer", "minimum": 5, "maximum": 4}"#)?.keyword == "minimum")
        #expect(schemaError(#"{"type": "number", "minimum": 0.5, "exclusiveMaximum": 0.5}"#)?.message == "no number satisfies the bounds")
        #expect(schemaError(#"{"type": "text"}"#)?.keyword == "type")
        #expect(schemaError(#"{"type": "string", "minLength": 2, "pattern": "a+"}"#)?.keyword == "minLength")
        #expect(schemaError(#"{"type": "string", "pattern": "(?=a)b"}"#)?.message.contains("lookaround") == true)
        #expect(schemaError(#"{"type": "string", "pattern": "(a)\\1"}"#)?.message.contains("backreferences") == true)
        #expect(schemaError(#"{"minimum": 1, "maxLength": 2}"#)?.message.contains("give 'type'") == true)
        // A reference to itself that consumes nothing: caught when the grammar is built.
        #expect(throws: JSONSchemaError.self) {
            try JSONSchemaGrammar.grammar(for: try JSONValue.parse(Array(##"{"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}"##.utf8)),
                                          tokenizer: deepSeekTokenizer)
        }
    }

    @Test func annotationsAreIgnoredAndStrictClosesObjects() throws {
        let annotated = #"{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x", "title": "T", "description": "d", "#
            + #""examples": [{}], "default": {}, "$comment": "c", "type": "object", "properties": {"a": {"type": "integer"}}}"#
        let strict = try schemaGrammar(annotated)
        #expect(strict.matches(#"{"a": 1}"#) && strict.matches("{}") && !strict.matches(#"{"a": 1, "b": 2}"#))
        let open = try schemaGrammar(annotated, strict: false)
        #expect(open.matches(#"{"a": 1, "b": [true]}"#) && open.matches(#"{"ab": 1}"#) && open.matches(#"{"": 1}"#))
        // An extra key may not repeat a declared one.
        #expect(!open.matches(#"{"a": 1, "a": 2}"#) && !open.matches(#"{"a": 1}"#.replacingOccurrences(of: "}", with: #", "a": "x"}"#)))
    }

    @Test func whitespaceIsBoundedAndNeverDoubled() throws {
        let g = try schemaGrammar(#"{"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}}"#)
        #expect(g.matches("{\n  \"a\" : [ 1 ,\n\t2 ]\n}") && g.matches(#"{"a":[1,2]}"#))
        #expect(g.matches("{\n" + String(repeating: " ", count: 20) + "\"a\": []}"))
        #expect(!g.matches("{\n" + String(repeating: " ", count: 21) + "\"a\": []}"))
        #expect(!g.matches(#"{  "a": []}"#) && !g.matches(#" {"a": []}"#) && !g.matches(#"{"a": []} "#))
    }

    @Test func jsonObjectGrammarAcceptsAnyObject() throws {
        let g = TextMatcher(try Grammar(gbnf: JSONSchemaGrammar.anyObjectGBNF))
        #expect(g.matches(#"{"a": [1, {"b": null}], "c": "\u00e9\n", "d": -1.5e3}"#) && g.matches("{}"))
        #expect(!g.matches("[1]") && !g.matches(#"{"a": }"#) && !g.matches(#"{"a": 1e999}"#))
    }

    @Test func recursiveReferencesNest() throws {
        let g = try schemaGrammar(##"{"$defs": {"n": {"type": "object", "properties": {"c": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "required": ["c"]}}, "$ref": "#/$defs/n"}"##)
        #expect(g.matches(#"{"c": [{"c": []}, {"c": [{"c": []}]}]}"#) && !g.matches(#"{"c": [{}]}"#))
    }
}

