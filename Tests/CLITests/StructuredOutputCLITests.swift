import DSFormats
import Foundation
import Testing

/// `dsllm generate --json-schema / --grammar` with the default model, as a user runs it.
@Suite struct StructuredOutputCLITests {
    @Test func jsonSchemaOutputIsValidJSONAndStopsByItself() throws {
        let schema = #"{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 9}, "ok": {"type": "boolean"}}, "required": ["n", "ok"]}"#
        for seed in ["1", "2"] {
            let r = try runDSLLM(["generate", "--prompt", "JSON:", "--max-tokens", "200", "--seed", seed, "--json-schema", schema, "--strict", "--json"])
            #expect(r.status == 0, "\(r.err)")
            let out = try JSONValue.parse(Array(r.out.utf8))
            #expect(out["finish_reason"]?.string == "stop")
            #expect((out["grammar_masks_computed"]?.int ?? 0) > 0)
            let value = try JSONValue.parse(Array(out["text"]!.string!.utf8))
            #expect((1...9).contains(value["n"]?.int ?? 0) && value["ok"]?.bool != nil && value.object?.count == 2, "\(value)")
        }
    }

    @Test func grammarFileAndErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-cli-grammar-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let good = dir.appendingPathComponent("yn.gbnf"), bad = dir.appendingPathComponent("bad.gbnf")
        try Data("root ::= (\"yes\" | \"no\") \"!\"\n".utf8).write(to: good)
        try Data("root ::= \"a\" item\n".utf8).write(to: bad)
        let r = try runDSLLM(["generate", "--prompt", "Answer:", "--max-tokens", "10", "--grammar", good.path])
        #expect(r.status == 0 && ["yes!\n", "no!\n"].contains(r.out), "\(r.out) \(r.err)")
        let e = try runDSLLM(["generate", "--prompt", "x", "--grammar", bad.path])
        #expect(e.status != 0 && e.err.contains("grammar line 1, column 14: undefined rule 'item'"), "\(e.err)")
        let s = try runDSLLM(["generate", "--prompt", "x", "--json-schema", #"{"type": "array", "uniqueItems": true}"#])
        #expect(s.status != 0 && e.err.contains("Error:") && s.err.contains("unsupported JSON Schema keyword 'uniqueItems' at #/uniqueItems"), "\(s.err)")
        let both = try runDSLLM(["generate", "--prompt", "x", "--json-schema", "{}", "--grammar", good.path])
        #expect(both.status != 0 && both.err.contains("not both"))
    }
}
