import DSFormats
import DSGeneration
import DSModel
@testable import DSServer
import DSTokenizer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Every endpoint and error case through the router, without sockets, on a tiny random model that uses the
/// embedded DeepSeek tokenizer (vocabulary 102400).
@Suite(.serialized) struct RouteTests {
    static let tokenizer = try! Tokenizer.embeddedDeepSeek()
    static let weights: ModelWeights = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-server-tests-\(getpid())").path
        try! RandomModel.write(RandomModel.tinyConfig(vocabularySize: 102400, maxPositions: 256), to: dir, seed: 11, scale: 0.3)
        return try! ModelWeights.load(path: dir)
    }()

    static func server(apiKey: String? = nil, slots: Int = 2, queue: Int = 8, modelID: String = "dsllm") -> InferenceServer {
        var o = InferenceServer.Options()
        o.apiKey = apiKey
        o.modelID = modelID
        o.scheduler.slots = slots
        o.scheduler.context = 128
        o.scheduler.queueLimit = queue
        o.scheduler.prefillChunk = 16
        return try! InferenceServer(weights: weights, tokenizer: tokenizer, options: o)
    }

    func withApp(_ server: InferenceServer = RouteTests.server(), _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in try await body(client) }
        server.scheduler.shutdown()
    }

    static func json(_ r: TestResponse) throws -> JSONValue { try JSONValue.parse(Array(r.body.readableBytesView)) }
    static func post(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

    @Test func healthModelsTokenizerInfoAndPage() async throws {
        try await withApp { client in
            try await client.execute(uri: "/health", method: .get) { r in
                #expect(r.status == .ok)
                let j = try Self.json(r)
                #expect(j["status"]?.string == "ok")
            }
            try await client.execute(uri: "/v1/models", method: .get) { r in
                let j = try Self.json(r)
                #expect(j["object"]?.string == "list")
                #expect(j["data"]?.array?.first?["id"]?.string == "dsllm")
            }
            try await client.execute(uri: "/tokenizer_info", method: .get) { r in
                let j = try Self.json(r)
                #expect(j["eos_token"]?.string == "<｜end▁of▁sentence｜>")
                #expect(j["vocab_size"]?.int == 102400)
            }
            try await client.execute(uri: "/", method: .get) { r in
                #expect(String(buffer: r.body).contains("/v1/chat/completions"))
            }
        }
    }

    /// The chat page sends the server's own model id (with --model-id every message used to fail with 404), and no
    /// id can break out of the page's script.
    @Test func chatPageSendsTheServersModelID() async throws {
        try await withApp(Self.server(modelID: "my-model")) { client in
            let page = try await client.execute(uri: "/", method: .get) { String(buffer: $0.body) }
            #expect(page.contains(#"const MODEL_ID = "my-model";"#))
            #expect(page.contains("model: MODEL_ID,"))
            #expect(!page.contains("model: 'dsllm'"))
            // What the page sends is accepted.
            let body = #"{"model": "my-model", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.post(body)) { #expect($0.status == .ok) }
        }
        let hostile = ChatPage.html(modelID: #"x"</script><script>alert(1)//"#)
        #expect(hostile.components(separatedBy: "</script>").count == 2, "only the page's own </script>")
        #expect(hostile.contains(#"const MODEL_ID = "x\"\u003c/script>\u003cscript>alert(1)//";"#))
    }

    @Test func tokenizeAndDetokenizeRoundTrip() async throws {
        try await withApp { client in
            let ids = try await client.execute(uri: "/tokenize", method: .post, body: Self.post(#"{"content": "Hello world"}"#)) { r in
                try Self.json(r)["tokens"]!.array!.map { $0.int! }
            }
            #expect(ids == [17464, 1843])
            try await client.execute(uri: "/detokenize", method: .post, body: Self.post(#"{"tokens": [17464, 1843]}"#)) { r in
                let j = try Self.json(r)
                #expect(j["content"]?.string == "Hello world")
            }
        }
    }

    /// Greedy through the server equals TokenIterator (what `dsllm generate` runs) on the same prompt.
    @Test func greedyCompletionEqualsGenerate() async throws {
        let prompt: [Int32] = [100000, 17464, 1843]
        let expected = TokenIterator(model: Transformer(weights: Self.weights), tokenizer: Self.tokenizer, prompt: prompt,
                                     parameters: .greedy(maxTokens: 8)).map(\.id)
        try await withApp { client in
            let body = #"{"model": "dsllm", "prompt": [100000, 17464, 1843], "max_tokens": 8, "temperature": 0, "logprobs": 0}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(body)) { r in
                #expect(r.status == .ok)
                let j = try Self.json(r)
                let choice = j["choices"]!.array![0]
                let tokens = choice["logprobs"]!["tokens"]!.array!.count
                #expect(tokens == expected.count)
                #expect(choice["text"]?.string == (try? Self.tokenizer.decode(expected, skipSpecial: true)))
                #expect(j["usage"]?["prompt_tokens"]?.int == 3)
                #expect(j["usage"]?["completion_tokens"]?.int == expected.count)
            }
        }
    }

    /// lm-evaluation-harness's loglikelihood request: token ids, echo, logprobs 1, max_tokens 1. The prompt's
    /// token_logprobs must be the model's log p(token_t | tokens_<t), with null first.
    @Test func echoLogprobsMatchTheModel() async throws {
        let prompt: [Int32] = [100000, 17464, 1843, 0, 25]
        let model = Transformer(weights: Self.weights)
        var values: [Double] = []
        model.prefill(Array(prompt.dropLast())) { t, l in values.append(logSoftmax(l, at: Int(prompt[t + 1]))) }
        let expected = values
        try await withApp { client in
            let body = #"{"prompt": [[100000, 17464, 1843, 0, 25]], "echo": true, "logprobs": 1, "max_tokens": 1, "temperature": 0}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(body)) { r in
                let lp = try Self.json(r)["choices"]!.array![0]["logprobs"]!
                let values = lp["token_logprobs"]!.array!
                #expect(values.count == prompt.count + 1)
                #expect(values[0].isNull)
                for (i, e) in expected.enumerated() { #expect(abs(values[i + 1].double! - e) < 1e-4, "position \(i + 1)") }
                #expect(lp["top_logprobs"]!.array![1].object!.count == 1)
                #expect(lp["text_offset"]!.array!.count == prompt.count + 1)
            }
            // max_tokens 0 with echo: only the prompt.
            let zero = #"{"prompt": [100000, 17464, 1843], "echo": true, "logprobs": 0, "max_tokens": 0}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(zero)) { r in
                let c = try Self.json(r)["choices"]!.array![0]
                #expect(c["logprobs"]!["tokens"]!.array!.count == 3)
                #expect(c["finish_reason"]?.string == "length")
            }
        }
    }

    @Test func seededSamplingIsReproducibleAndNGivesDistinctChoices() async throws {
        try await withApp { client in
            let body = #"{"prompt": "Hello", "max_tokens": 6, "temperature": 1.0, "seed": 7, "n": 2}"#
            let a = try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(body)) { try Self.json($0)["choices"]!.array!.map { $0["text"]!.string! } }
            let b = try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(body)) { try Self.json($0)["choices"]!.array!.map { $0["text"]!.string! } }
            #expect(a == b && a.count == 2)
        }
    }

    @Test func chatStreamIsWellFormed() async throws {
        try await withApp { client in
            let body = #"{"model": "dsllm", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "max_tokens": 5, "stream": true, "stream_options": {"include_usage": true}, "temperature": 0}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.post(body)) { r in
                #expect(r.headers[.contentType] == "text/event-stream")
                let events = String(buffer: r.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
                #expect(events.allSatisfy { $0.hasPrefix("data: ") })
                #expect(events.last == "data: [DONE]")
                let chunks = try events.dropLast().map { try JSONValue.parse(Array($0.dropFirst(6).utf8)) }
                #expect(chunks.first?["choices"]?.array?.first?["delta"]?["role"]?.string == "assistant")
                let finals = chunks.filter { $0["choices"]?.array?.first?["finish_reason"]?.string != nil }
                #expect(finals.count == 1)
                #expect(chunks.last?["usage"]?["completion_tokens"]?.int ?? 0 > 0)
                #expect(chunks.allSatisfy { $0["object"]?.string == "chat.completion.chunk" })
            }
            let plain = #"{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "logprobs": true, "top_logprobs": 2}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.post(plain)) { r in
                let j = try Self.json(r)
                #expect(j["object"]?.string == "chat.completion")
                let c = j["choices"]!.array![0]
                #expect(c["message"]?["role"]?.string == "assistant")
                #expect(c["logprobs"]?["content"]?.array?.first?["top_logprobs"]?.array?.count == 2)
                #expect(j["usage"]?["total_tokens"]?.int == (j["usage"]?["prompt_tokens"]?.int ?? 0) + (j["usage"]?["completion_tokens"]?.int ?? 0))
            }
        }
    }

    @Test func errorsHaveOpenAIsShapeAndStatus() async throws {
        @Sendable func check(_ client: any TestClientProtocol, _ uri: String, _ body: String, _ status: HTTPResponse.Status, _ needle: String,
                   param: String? = nil, headers: HTTPFields = [:]) async throws {
            try await client.execute(uri: uri, method: .post, headers: headers, body: Self.post(body)) { r in
                #expect(r.status == status, "\(body)")
                let e = try Self.json(r)["error"]
                #expect(e?["message"]?.string?.contains(needle) == true, "\(body): \(String(buffer: r.body))")
                #expect(e?["type"]?.string != nil)
                if let param { #expect(e?["param"]?.string == param, "\(body): \(String(buffer: r.body))") }
            }
        }
        try await withApp { client in
            try await check(client, "/v1/completions", "{not json", .badRequest, "parse the JSON")
            try await check(client, "/v1/completions", #"{"prompt": "x", "temperature": "hot"}"#, .badRequest, "'temperature'")
            try await check(client, "/v1/completions", #"{"max_tokens": 3}"#, .badRequest, "'prompt' is required")
            try await check(client, "/v1/completions", #"{"prompt": "x", "model": "gpt-4"}"#, .notFound, "gpt-4")
            try await check(client, "/v1/chat/completions", #"{"messages": [{"role": "robot", "content": "x"}]}"#, .badRequest, "role")
            let long = "[" + Array(repeating: "17464", count: 200).joined(separator: ",") + "]"
            try await check(client, "/v1/completions", #"{"prompt": \#(long)}"#, .badRequest, "maximum context length", param: "prompt")
            let longChat = String(repeating: "Hello world ", count: 100)
            try await check(client, "/v1/chat/completions", #"{"messages": [{"role": "user", "content": "\#(longChat)"}]}"#, .badRequest,
                            "maximum context length", param: "messages")
            // 2 slots + a queue of 8 hold 10 jobs: asking for more can never succeed, so it is a 400, not a 503.
            try await check(client, "/v1/completions", #"{"prompt": "x", "n": 11}"#, .badRequest, "at most 10 at once", param: "n")
            let prompts = "[" + Array(repeating: #""x""#, count: 11).joined(separator: ",") + "]"
            try await check(client, "/v1/completions", #"{"prompt": \#(prompts)}"#, .badRequest, "11 prompts", param: "prompt")
            try await check(client, "/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "n": 16}"#, .badRequest,
                            "'n' = 16", param: "n")
            try await check(client, "/v1/completions", #"{"prompt": [1, 999999]}"#, .badRequest, "token ids")
        }
        try await withApp(Self.server(apiKey: "sekret")) { client in
            try await check(client, "/v1/completions", #"{"prompt": "x"}"#, .unauthorized, "API key")
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sekret"]) { #expect($0.status == .ok) }
        }
    }

    /// More requests than slots + queue: the overflow gets 503 at once (never hangs); the rest complete. The
    /// scheduler is held still until the overflow has been answered, so exactly slots + queue requests get in.
    @Test func fullQueueAnswers503() async throws {
        let server = Self.server(slots: 1, queue: 1)
        let gate = StepGate()
        gate.install(on: server.scheduler)
        defer { gate.openForGood() }
        try await withApp(server) { client in
            let body = #"{"prompt": "Hello", "max_tokens": 40, "temperature": 0}"#
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(body)) { $0.status } }
                }
                var statuses: [HTTPResponse.Status] = []
                for try await status in group {
                    statuses.append(status)
                    if statuses.count == 4 { gate.openForGood() }  // the four refused; now let the two admitted run
                }
                return statuses
            }
            #expect(statuses.filter { $0 == .serviceUnavailable }.count == 4, "\(statuses)")
            #expect(statuses.filter { $0 == .ok }.count == 2, "\(statuses)")
        }
        // Counted by the middleware before each response was returned: no wait needed.
        #expect(server.metrics.render().contains("dsllm_requests_total{endpoint=\"/v1/completions\",status=\"503\"} 4"))
    }

    /// Unknown paths share one label: a client requesting random paths must not grow /metrics (and memory).
    @Test func metricsLabelOnlyKnownRoutes() async throws {
        let server = Self.server()
        try await withApp(server) { client in
            for i in 0..<300 {
                try await client.execute(uri: "/no-such-path-\(i)?q=\(i)", method: .get) { #expect($0.status == .notFound) }
            }
            _ = try await client.execute(uri: "/v1/models/whatever-\(UUID())", method: .get) { $0.status }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                let labels = text.split(separator: "\n").filter { $0.hasPrefix("dsllm_requests_total{") }
                #expect(labels.contains(#"dsllm_requests_total{endpoint="other",status="404"} 300"#), "\(labels)")
                #expect(labels.contains(#"dsllm_requests_total{endpoint="/v1/models/:id",status="404"} 1"#), "\(labels)")
                #expect(labels.count == 2, "\(labels)")
                #expect(!text.contains("no-such-path"))
                #expect(text.utf8.count < 4096)
            }
        }
    }

    @Test func metricsExposePrometheusText() async throws {
        try await withApp { client in
            _ = try await client.execute(uri: "/v1/completions", method: .post, body: Self.post(#"{"prompt": "Hi", "max_tokens": 2}"#)) { $0.status }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                for name in ["dsllm_requests_total", "dsllm_prompt_tokens_total", "dsllm_generated_tokens_total", "dsllm_queue_depth",
                             "dsllm_active_slots", "dsllm_time_to_first_token_seconds_bucket", "dsllm_decode_tokens_per_second_count"] {
                    #expect(text.contains(name), "\(name)")
                }
            }
        }
    }
}
