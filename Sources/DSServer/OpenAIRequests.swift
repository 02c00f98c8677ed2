import DSFormats
import DSGeneration
import DSModel
import DSTokenizer

/// Parsed `POST /v1/completions` and `POST /v1/chat/completions` bodies.
struct CompletionRequest {
    var prompts: [[Int32]]            // one per prompt; each runs `n` times
    var promptTexts: [String]         // for echo and text_offset
    var parameters: GenerateParameters
    var n = 1
    var stream = false
    var includeUsage = false
    var echo = false
    var logprobs: Int?                // completions: top-N; chat: top_logprobs (0 when only logprobs: true)
    var model: String?
    var isChat = false
    /// `"cache_prompt"` (llama.cpp's field, default true): reuse and fill the shared prefix cache.
    var cachePrompt = true
}

enum RequestParser {
    /// Sampling fields shared by both endpoints. OpenAI's defaults (temperature 1, top_p 1) — not llama.cpp's —
    /// because clients written for OpenAI expect them; top-k and min-p are off unless asked for. A model folder's
    /// generation_config.json (`defaults`) replaces them where it sets a value.
    static func parameters(_ b: RequestBody, defaultMaxTokens: Int, defaults: GenerationConfig? = nil) throws(APIError) -> GenerateParameters {
        var p = GenerateParameters()
        p.temperature = defaults?.defaultTemperature ?? 1
        p.topP = defaults?.topP ?? 1
        p.topK = defaults?.topK ?? 0
        p.minP = 0
        p.maxTokens = defaultMaxTokens
        if let t = try b.double("temperature") {
            guard t >= 0 && t <= 2 else { throw APIError(400, "'temperature' must be between 0 and 2, got \(t).", param: "temperature") }
            p.temperature = Float(t)
        }
        if let v = try b.double("top_p") {
            guard v > 0 && v <= 1 else { throw APIError(400, "'top_p' must be in (0, 1], got \(v).", param: "top_p") }
            p.topP = Float(v)
        }
        if let v = try b.int("top_k") { p.topK = max(0, v) }
        if let v = try b.double("min_p") { p.minP = Float(v) }
        if let v = try b.double("frequency_penalty") { p.frequencyPenalty = Float(v) }
        if let v = try b.double("presence_penalty") { p.presencePenalty = Float(v) }
        if let v = try b.double("repetition_penalty") { p.repetitionPenalty = Float(v) }
        if let v = try b.double("repeat_penalty") { p.repetitionPenalty = Float(v) }
        if let v = try b.int("seed") { p.seed = UInt64(bitPattern: Int64(v)) }
        p.stop = try b.stops()
        if let bias = b.value("logit_bias") {
            guard let o = bias.object else { throw b.typeError("logit_bias", "an object of token id → bias") }
            for (k, v) in o.members {
                guard let id = Int32(k), let d = v.double else { throw b.typeError("logit_bias", "an object of token id → number") }
                let c = max(-100, min(100, d))  // OpenAI's range; -100 bans the token
                p.logitBias[id] = c <= -100 ? -.infinity : Float(c)
            }
        }
        let newName = try b.int("max_completion_tokens"), oldName = try b.int("max_tokens")
        if let m = newName ?? oldName {
            guard m >= 0 else { throw APIError(400, "'max_tokens' must be ≥ 0, got \(m).", param: "max_tokens") }
            p.maxTokens = m
        }
        do { try p.validate() } catch { throw APIError(400, error.description) }
        return p
    }

    static func common(_ b: RequestBody, _ r: inout CompletionRequest) throws(APIError) {
        r.model = try b.string("model")
        r.n = try b.int("n") ?? 1
        guard (1...16).contains(r.n) else { throw APIError(400, "'n' must be between 1 and 16, got \(r.n).", param: "n") }
        r.stream = try b.bool("stream") ?? false
        if let so = b.value("stream_options") {
            guard let o = so.object else { throw b.typeError("stream_options", "an object") }
            r.includeUsage = o["include_usage"]?.bool ?? false
        }
    }

    /// Fields both endpoints take that need the tokenizer: structured output (compiled to a grammar over its
    /// vocabulary) and `cache_prompt`.
    static func constraints(_ b: RequestBody, _ r: inout CompletionRequest, tokenizer: Tokenizer) throws(APIError) {
        r.cachePrompt = try b.bool("cache_prompt") ?? true
        r.parameters.grammar = try structuredOutput(b, tokenizer: tokenizer)
    }

    /// `response_format` (OpenAI: `{"type": "text" | "json_object" | "json_schema", "json_schema": {"name", "schema",
    /// "strict"}}`; `json_object` may carry a `schema`, as llama.cpp allows), or llama.cpp's `json_schema` (a schema)
    /// or `grammar` (GBNF) fields — at most one. A schema or grammar that cannot be enforced exactly is a 400 that
    /// names the keyword and where it is, never a silently unconstrained reply.
    static func structuredOutput(_ b: RequestBody, tokenizer: Tokenizer) throws(APIError) -> TokenGrammar? {
        let given = ["response_format", "json_schema", "grammar"].filter { b.value($0) != nil && !(($0 == "response_format") && isPlainText(b.value($0)!)) }
        guard given.count <= 1 else {
            throw APIError(400, "Give at most one of \(given.map { "'\($0)'" }.joined(separator: ", ")): each constrains the whole reply.",
                           param: given[1])
        }
        func schemaGrammar(_ schema: JSONValue, strict: Bool, param: String) throws(APIError) -> TokenGrammar {
            guard schema.object != nil || schema.bool != nil else { throw b.typeError(param, "a JSON Schema object") }
            do { return try JSONSchemaGrammar.grammar(for: schema, strict: strict, tokenizer: tokenizer) } catch {
                throw APIError(400, "Invalid schema for '\(param)': \(error.description).", param: param, code: "invalid_json_schema")
            }
        }
        if let grammar = b.value("grammar") {
            guard let text = grammar.string else { throw b.typeError("grammar", "a string of GBNF") }
            do { return try TokenGrammar.cached(gbnf: text, tokenizer: tokenizer) } catch {
                throw APIError(400, "Invalid 'grammar': \(error.description).", param: "grammar", code: "invalid_grammar")
            }
        }
        if let schema = b.value("json_schema") {
            return try schemaGrammar(schema, strict: false, param: "json_schema")
        }
        guard let format = b.value("response_format") else { return nil }
        guard let o = format.object, let type = o["type"]?.string else {
            throw b.typeError("response_format", "an object with a 'type' (text, json_object or json_schema)")
        }
        switch type {
        case "text":
            return nil
        case "json_object":
            if let schema = o["schema"] { return try schemaGrammar(schema, strict: false, param: "response_format.schema") }
            do { return try TokenGrammar.cached(gbnf: JSONSchemaGrammar.anyObjectGBNF, tokenizer: tokenizer) } catch {
                throw APIError(500, "the JSON object grammar does not compile: \(error)", type: "server_error")
            }
        case "json_schema":
            guard let spec = o["json_schema"]?.object else {
                throw APIError(400, "'response_format.json_schema' is required when the type is json_schema: {\"name\": …, \"schema\": {…}}.",
                               param: "response_format.json_schema", code: "missing_required_parameter")
            }
            if let name = spec["name"], name.string == nil { throw b.typeError("response_format.json_schema.name", "a string") }
            if let strict = spec["strict"], strict.bool == nil { throw b.typeError("response_format.json_schema.strict", "a boolean") }
            guard let schema = spec["schema"] else {
                throw APIError(400, "'response_format.json_schema.schema' is required.", param: "response_format.json_schema.schema",
                               code: "missing_required_parameter")
            }
            return try schemaGrammar(schema, strict: spec["strict"]?.bool ?? false, param: "response_format.json_schema.schema")
        default:
            throw APIError(400, "'response_format.type' must be text, json_object or json_schema, got '\(type)'.", param: "response_format.type")
        }
    }

    private static func isPlainText(_ v: JSONValue) -> Bool { v["type"]?.string == "text" }

    static func completion(_ bytes: [UInt8], tokenizer: Tokenizer, defaultMaxTokens: Int,
                           defaults: GenerationConfig? = nil) throws(APIError) -> CompletionRequest {
        let b = try RequestBody(bytes)
        var r = CompletionRequest(prompts: [], promptTexts: [], parameters: try parameters(b, defaultMaxTokens: defaultMaxTokens, defaults: defaults))
        let given = try b.int("max_tokens") != nil
        let givenNew = try b.int("max_completion_tokens") != nil
        if !given && !givenNew { r.parameters.maxTokens = 16 }  // OpenAI's default for completions
        try common(b, &r)
        try constraints(b, &r, tokenizer: tokenizer)
        r.echo = try b.bool("echo") ?? false
        r.logprobs = try b.int("logprobs")
        if let l = r.logprobs, !(0...20).contains(l) { throw APIError(400, "'logprobs' must be between 0 and 20.", param: "logprobs") }
        // prompt: string | [string] | [int] | [[int]]
        guard let prompt = b.value("prompt") else { throw APIError(400, "'prompt' is required.", param: "prompt", code: "missing_required_parameter") }
        let bos = tokenizer.addBOSByDefault
        func ids(_ v: [JSONValue]) throws(APIError) -> [Int32] {
            var out: [Int32] = []
            for x in v {
                guard let i = x.int, i >= 0, i < tokenizer.vocabularySize else {
                    throw APIError(400, "'prompt' token ids must be integers in 0..<\(tokenizer.vocabularySize).", param: "prompt")
                }
                out.append(Int32(i))
            }
            return out
        }
        if let s = prompt.string {
            r.prompts = [tokenizer.encode(s, addBOS: bos)]
            r.promptTexts = [s]
        } else if let a = prompt.array {
            if a.isEmpty { throw APIError(400, "'prompt' must not be empty.", param: "prompt") }
            if a.allSatisfy({ $0.string != nil }) {
                r.promptTexts = a.compactMap(\.string)
                r.prompts = r.promptTexts.map { tokenizer.encode($0, addBOS: bos) }
            } else if a.allSatisfy({ $0.double != nil }) {
                r.prompts = [try ids(a)]
            } else if a.allSatisfy({ $0.array != nil }) {
                for x in a { r.prompts.append(try ids(x.array!)) }
            } else {
                throw b.typeError("prompt", "a string, an array of strings, an array of token ids or an array of arrays of token ids")
            }
            if r.promptTexts.isEmpty { r.promptTexts = r.prompts.map { (try? tokenizer.decode($0)) ?? "" } }
        } else {
            throw b.typeError("prompt", "a string, an array of strings, an array of token ids or an array of arrays of token ids")
        }
        return r
    }

    static func chat(_ bytes: [UInt8], tokenizer: Tokenizer, defaultMaxTokens: Int,
                     defaults: GenerationConfig? = nil) throws(APIError) -> CompletionRequest {
        let b = try RequestBody(bytes)
        var r = CompletionRequest(prompts: [], promptTexts: [], parameters: try parameters(b, defaultMaxTokens: defaultMaxTokens, defaults: defaults))
        r.isChat = true
        try common(b, &r)
        try constraints(b, &r, tokenizer: tokenizer)
        if try b.bool("logprobs") == true { r.logprobs = try b.int("top_logprobs") ?? 0 }
        if let l = r.logprobs, !(0...20).contains(l) { throw APIError(400, "'top_logprobs' must be between 0 and 20.", param: "top_logprobs") }
        guard let ms = b.value("messages") else {
            throw APIError(400, "'messages' is required.", param: "messages", code: "missing_required_parameter")
        }
        guard let list = ms.array, !list.isEmpty else { throw b.typeError("messages", "a non-empty array of messages") }
        var messages: [ChatMessage] = []
        for (i, m) in list.enumerated() {
            guard let o = m.object, let roleName = o["role"]?.string else {
                throw APIError(400, "'messages[\(i)]' must be an object with a 'role'.", param: "messages[\(i)].role")
            }
            guard let role = ChatMessage.Role(rawValue: roleName == "developer" ? "system" : roleName) else {
                throw APIError(400, "'messages[\(i)].role' must be system, user or assistant, got '\(roleName)'.", param: "messages[\(i)].role")
            }
            // content: a string, or an array of {type: "text", text} parts.
            var content = ""
            if let s = o["content"]?.string {
                content = s
            } else if let parts = o["content"]?.array {
                for p in parts {
                    guard p["type"]?.string == "text", let t = p["text"]?.string else {
                        throw APIError(400, "'messages[\(i)].content' parts must be text parts.", param: "messages[\(i)].content")
                    }
                    content += t
                }
            } else {
                throw APIError(400, "'messages[\(i)].content' must be a string or an array of text parts.", param: "messages[\(i)].content")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        let text = tokenizer.deepseekChatTemplate.render(messages, addGenerationPrompt: true)
        r.prompts = [tokenizer.encode(text, addBOS: false, parseSpecial: true)]
        r.promptTexts = [text]
        return r
    }
}
