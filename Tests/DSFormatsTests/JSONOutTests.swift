import DSFormats
import Testing

@Suite struct JSONOutTests {
    let value = JSONOut.object([
        ("name", .string("a \"b\"\n\u{1}é")), ("n", .int(-3)), ("x", .number(0.5)), ("eps", .float(1e-6)),
        ("bad", .number(.nan)), ("ok", .bool(true)), ("none", .null),
        ("list", .array([.int(1), .array([]), .object([("k", .string("v"))])])), ("empty", .object([])),
    ])

    @Test func compactIsOneLineWithoutSpaces() {
        #expect(value.text == #"{"name":"a \"b\"\n\u0001é","n":-3,"x":0.5,"eps":1e-06,"bad":null,"ok":true,"none":null,"#
            + #""list":[1,[],{"k":"v"}],"empty":{}}"#)
    }

    @Test func spacedUsesPythonsSeparators() {
        #expect(JSONOut.array([.int(1), .object([("a", .string("b")), ("c", .array([]))])]).text(layout: .spaced)
            == #"[1, {"a": "b", "c": []}]"#)
    }

    @Test func indentedLevelsBreakLinesAndDeeperValuesStayInline() {
        let nested = JSONOut.object([("metadata", .object([("total_size", .int(10))])), ("list", .array([.int(1), .int(2)])),
                                     ("empty", .array([]))])
        #expect(nested.text(layout: .indented(levels: 1)) == "{\n  \"metadata\": {\"total_size\": 10},\n  \"list\": [1, 2],\n  \"empty\": []\n}")
        #expect(nested.text(layout: .indented(levels: 2))
            == "{\n  \"metadata\": {\n    \"total_size\": 10\n  },\n  \"list\": [\n    1,\n    2\n  ],\n  \"empty\": []\n}")
    }

    @Test func quotingEscapesOnlyWhatJSONRequires() {
        #expect(jsonQuoted("tab\there\\ \u{7f} ü \r") == #""tab\there\\ "# + "\u{7f} ü " + #"\r""#)
    }

    @Test func writtenTextParsesBack() throws {
        let parsed = try JSONValue.parse(Array(value.text(layout: .indented(levels: 3)).utf8))
        #expect(parsed.object?["name"]?.string == "a \"b\"\n\u{1}é")
        #expect(parsed.object?["n"]?.int == -3)
        #expect(parsed.object?["list"]?.array?.count == 3)
    }
}
