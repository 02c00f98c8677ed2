import DSFormats
import DSGeneration
import DSModel
@testable import DSServer
import DSTokenizer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `response_format`, llama.cpp's `json_schema` and `grammar` fields through the router, streamed and not, on a
/// random model over the DeepSeek vocabulary: whatever it prefers, the reply is what the schema allows.
@Suite(.serialized) struct StructuredOutputRouteTests {
    static let weights: ModelWeights = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-structured-tests-\(getpid())").path
        let config = ModelConfig(vocabularySize: 102400, hiddenSize: 64, intermediateSize: 128, layerCount: 1, headCount: 2,
                                 kvHeadCount: 1, maxPositions: 1024, bosTokenID: 100000, eosTokenID: 100001)
        try! RandomModel.write(config, to: dir, seed: 5, scale: 0.5)
        return try! ModelWeights.load(path: dir)
    }()

    func withApp(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var o = InferenceServer.Options()
        o.scheduler.slots = 2
        o.scheduler.context = 1024
        let server = try InferenceServer(weights: Self.weights, tokenizer: RouteTests.tokenizer, options: o)
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in try await body(client) }
        server.scheduler.shutdown()
    }

    static let personSchema = #"{"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 0, "maximum": 120}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3}}, "required": ["name", "age"]}"#

    static func checkPerson(_ text: String) throws {
        let v = try JSONValue.parse(Array(text.utf8))
        let o = try #require(v.object, "\(text)")
        #expect(Set(o.members.map(\.key)).isSubset(of: ["name", "age", "tags"]), "\(text)")
        #expect((o["name"]?.string?.unicodeScalars.count ?? 99) <= 12, "\(text)")
        #expect((0...120).contains(o["age"]?.int ?? -1), "\(text)")
        #expect(o["tags"].map { $0.array?.allSatisfy { $0 == .string("a") || $0 == .string("b") } == true } ?? true, "\(text)")
    }

    static func post(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

    @Test func chatJSONSchemaNonStreamedAndStreamed() async throws {
        try await withApp { client in
            for seed in 1...3 {
                let body = #"{"messages": [{"role": "user", "content": "Who?"}], "max_tokens": 300, "seed": \#(seed), "temperature": 0.8, "response_format": {"type": "json_schema", "json_schema": {"name": "person", "strict": true, "schema": \#(Self.personSchema)}}}"#
                try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.post(body)) { r in
                    #expect(r.status == .ok)
                    let c = try RouteTests.json(r)["choices"]!.array![0]
                    #expect(c["finish_reason"]?.string == "stop")
                    try Self.checkPerson(c["message"]!["content"]!.string!)
                }
                let streamed = body.replacingOccurrences(of: #""max_tokens""#, with: #""stream": true, "max_tokens""#)
                try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.post(streamed)) { r in
                    let events = String(buffer: r.body).components(separatedBy: "\n\n").filter { !$0.isEmpty && $0 != "data: [DONE]" }
                    let chunks = try events.map { try JSONValue.parse(Array($0.dropFirst(6).utf8)) }
                    let text = chunks.compactMap { $0["choices"]?.array?.first?["delta"]?["content"]?.string }.joined()
                    #expect(chunks.last?["choices"]?.array?.first?["finish_reason"]?.string == "stop")
                    try Self.checkPerson(text)
                }
            }
        }
    }

    @Test func completionsJSONObjectGrammarAndLlamaCppSchemaField() async throws {
        try await withApp { client in
            let object = #"{"prompt": "JSON:", "max_tokens": 300, "seed": 4, "response_format": {"type": "json_object"}}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(object)) { r in
                let c = try RouteTests.json(r)["choices"]!.array![0]
                let text = c["text"]!.string!
                if c["finish_reason"]?.string == "stop" { #expect(try JSONValue.parse(Array(text.utf8)).object != nil, "\(text)") }
                #expect(text.hasPrefix("{"))
            }
            let gbnf = #"{"prompt": "Answer:", "max_tokens": 10, "seed": 2, "n": 3, "grammar": "root ::= (\"yes\" | \"no\") \"!\"{1,2}"}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(gbnf)) { r in
                for c in try RouteTests.json(r)["choices"]!.array! {
                    #expect(["yes!", "yes!!", "no!", "no!!"].contains(c["text"]!.string!) && c["finish_reason"]?.string == "stop")
                }
            }
            // llama.cpp's field is not strict: extra properties are allowed unless the schema says otherwise.
            let closed = Self.personSchema.dropLast() + #", "additionalProperties": false}"#
            let llama = #"{"prompt": "x", "max_tokens": 300, "seed": 7, "json_schema": \#(closed)}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(llama)) { r in
                let c = try RouteTests.json(r)["choices"]!.array![0]
                #expect(c["finish_reason"]?.string == "stop")
                try Self.checkPerson(c["text"]!.string!)
            }
            // max_tokens cuts the value: "length", and the text is a prefix of a value.
            let cut = #"{"prompt": "x", "max_tokens": 2, "json_schema": \#(Self.personSchema)}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(cut)) { r in
                let c = try RouteTests.json(r)["choices"]!.array![0]
                #expect(c["finish_reason"]?.string == "length" && c["text"]!.string!.hasPrefix("{"))
            }
            // A value that ends exactly at max_tokens is complete: "stop", not "length".
            let exact = #"{"prompt": "x", "max_tokens": 1, "grammar": "root ::= \"a\""}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(exact)) { r in
                let c = try RouteTests.json(r)["choices"]!.array![0]
                #expect(c["text"]?.string == "a" && c["finish_reason"]?.string == "stop", "\(c)")
            }
        }
    }

    @Test func unenforceableSchemasAndGrammarsAre400sNamingTheProblem() async throws {
        @Sendable func check(_ client: any TestClientProtocol, _ body: String, _ needles: [String], param: String) async throws {
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.post(body)) { r in
                #expect(r.status == .badRequest, "\(body)")
                let e = try RouteTests.json(r)["error"]
                for n in needles { #expect(e?["message"]?.string?.contains(n) == true, "\(n) in \(String(buffer: r.body))") }
                #expect(e?["type"]?.string == "invalid_request_error" && e?["param"]?.string == param, "\(String(buffer: r.body))")
            }
        }
        let messages = #""messages": [{"role": "user", "content": "x"}]"#
        try await withApp { client in
            try await check(client, #"{\#(messages), "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "properties": {"a": {"type": "string", "not": {"const": ""}}}}}}}"#,
                            ["unsupported JSON Schema keyword 'not'", "#/properties/a/not"], param: "response_format.json_schema.schema")
            try await check(client, #"{\#(messages), "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array", "uniqueItems": true}}}}"#,
                            ["'uniqueItems'", "#/uniqueItems"], param: "response_format.json_schema.schema")
            try await check(client, #"{\#(messages), "json_schema": {"if": {"type": "string"}, "then": {"maxLength": 3}}}"#, ["'if'"], param: "json_schema")
            try await check(client, #"{\#(messages), "grammar": "root ::= item\nitem ::= \"a\" missing"}"#,
                            ["line 2, column 14", "undefined rule 'missing'"], param: "grammar")
            try await check(client, #"{\#(messages), "grammar": "root ::= \"a\"", "json_schema": {}}"#, ["at most one"], param: "grammar")
            try await check(client, #"{\#(messages), "response_format": {"type": "json_schema"}}"#, ["is required"], param: "response_format.json_schema")
            try await check(client, #"{\#(messages), "response_format": {"type": "yaml"}}"#, ["json_object"], param: "response_format.type")
            try await check(client, #"{\#(messages), "cache_prompt": "no"}"#, ["'cache_prompt'"], param: "cache_prompt")
        }
    }

    @Test func cachePromptIsParsed() throws {
        let tokenizer = RouteTests.tokenizer
        let off = try RequestParser.completion(Array(#"{"prompt": "x", "cache_prompt": false}"#.utf8), tokenizer: tokenizer, defaultMaxTokens: 16)
        let on = try RequestParser.chat(Array(#"{"messages": [{"role": "user", "content": "x"}]}"#.utf8), tokenizer: tokenizer, defaultMaxTokens: 16)
        #expect(!off.cachePrompt && on.cachePrompt)
        // "text" is no constraint at all.
        let text = try RequestParser.chat(Array(#"{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "text"}}"#.utf8),
                                          tokenizer: tokenizer, defaultMaxTokens: 16)
        #expect(text.parameters.grammar == nil)
    }
}
