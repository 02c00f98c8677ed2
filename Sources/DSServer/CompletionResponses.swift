import DSFormats
import DSGeneration
import DSTokenizer
import Foundation

/// Turns job events into OpenAI's response objects (whole, or as SSE chunks).
struct ResponseBuilder {
    let tokenizer: Tokenizer
    let model: String
    let id: String
    let created: Int
    let isChat: Bool

    init(tokenizer: Tokenizer, model: String, isChat: Bool) {
        self.tokenizer = tokenizer
        self.model = model
        self.isChat = isChat
        id = (isChat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
        created = Int(Date().timeIntervalSince1970)
    }

    /// A token as text for logprobs; incomplete UTF-8 as OpenAI writes it ("bytes:\xe6").
    func tokenText(_ id: Int32) -> String {
        let b = Array(tokenizer.tokenBytes(id))
        if let s = String(validating: b, as: UTF8.self) { return s }
        return "bytes:" + b.map { String(format: "\\x%02x", $0) }.joined()
    }

    /// What one choice accumulated from its job's events.
    struct Choice {
        var index: Int
        var text = ""
        var finishReason: FinishReason?
        var promptTokens = 0
        var completionTokens = 0
        var logprobs: [TokenLogprob] = []          // generated tokens
        var promptLogprobs: [TokenLogprob] = []    // prompt tokens 1..<n (echo)
    }

    func finishReasonJSON(_ r: FinishReason?) -> JSONOut {
        guard let r else { return .null }
        return .string(r == .cancelled ? "stop" : r.rawValue)
    }

    func usage(_ prompt: Int, _ completion: Int) -> JSONOut {
        .object([("prompt_tokens", .int(prompt)), ("completion_tokens", .int(completion)), ("total_tokens", .int(prompt + completion))])
    }

    /// The legacy completions logprobs object; with echo the prompt's tokens come first (the first has no logprob).
    func completionLogprobs(_ c: Choice, prompt: [Int32]?, top: Int) -> JSONOut {
        var tokens: [JSONOut] = [], lps: [JSONOut] = [], tops: [JSONOut] = [], offsets: [JSONOut] = []
        var offset = 0
        func add(_ id: Int32, _ lp: TokenLogprob?) {
            let t = tokenText(id)
            tokens.append(.string(t))
            lps.append(lp.map { .number(Double($0.logprob)) } ?? .null)
            if let lp {
                var seen = Set<String>()
                var entries: [(String, JSONOut)] = []
                for (tid, v) in lp.top.prefix(max(top, 0)) where seen.insert(tokenText(tid)).inserted {
                    entries.append((tokenText(tid), .number(Double(v))))
                }
                tops.append(.object(entries))
            } else {
                tops.append(.null)
            }
            offsets.append(.int(offset))
            offset += t.hasPrefix("bytes:") ? 0 : t.unicodeScalars.count
        }
        if let prompt {
            for (i, id) in prompt.enumerated() { add(id, i == 0 ? nil : (i - 1 < c.promptLogprobs.count ? c.promptLogprobs[i - 1] : nil)) }
        }
        for lp in c.logprobs { add(lp.id, lp) }
        return .object([("tokens", .array(tokens)), ("token_logprobs", .array(lps)), ("top_logprobs", .array(tops)),
                        ("text_offset", .array(offsets))])
    }

    /// Chat logprobs: {"content": [{token, logprob, bytes, top_logprobs: [...]}]}.
    func chatLogprobs(_ items: [TokenLogprob], top: Int) -> JSONOut {
        func entry(_ id: Int32, _ v: Float) -> [(String, JSONOut)] {
            [("token", .string(tokenText(id))), ("logprob", .number(Double(v))),
             ("bytes", .array(tokenizer.tokenBytes(id).map { .int(Int($0)) }))]
        }
        return .object([("content", .array(items.map { lp in
            .object(entry(lp.id, lp.logprob) + [("top_logprobs", .array(lp.top.prefix(top).map { .object(entry($0.0, $0.1)) }))])
        }))])
    }

    func header(_ object: String) -> [(String, JSONOut)] {
        [("id", .string(id)), ("object", .string(object)), ("created", .int(created)), ("model", .string(model))]
    }

    /// A complete (non-streamed) response.
    func full(_ choices: [Choice], request r: CompletionRequest, promptOf: (Int) -> Int) -> JSONOut {
        let promptTotal = Set(choices.map { promptOf($0.index) }).map { r.prompts[$0].count }.reduce(0, +)
        let completionTotal = choices.map(\.completionTokens).reduce(0, +)
        let items: [JSONOut] = choices.map { c in
            if isChat {
                return .object([("index", .int(c.index)),
                                ("message", .object([("role", .string("assistant")), ("content", .string(c.text))])),
                                ("logprobs", r.logprobs.map { chatLogprobs(c.logprobs, top: $0) } ?? .null),
                                ("finish_reason", finishReasonJSON(c.finishReason))])
            }
            let p = promptOf(c.index)
            let text = (r.echo ? r.promptTexts[p] : "") + c.text
            let lp: JSONOut = r.logprobs.map { completionLogprobs(c, prompt: r.echo ? r.prompts[p] : nil, top: $0) } ?? .null
            return .object([("text", .string(text)), ("index", .int(c.index)), ("logprobs", lp),
                            ("finish_reason", finishReasonJSON(c.finishReason))])
        }
        return .object(header(isChat ? "chat.completion" : "text_completion") + [("choices", .array(items)),
                                                                                ("usage", usage(promptTotal, completionTotal))])
    }

    /// One streamed chunk for choice `index`.
    func chunk(index: Int, text: String?, role: Bool = false, logprobs: JSONOut = .null, finish: FinishReason? = nil) -> JSONOut {
        if isChat {
            var delta: [(String, JSONOut)] = []
            if role { delta.append(("role", .string("assistant"))) }
            if let text { delta.append(("content", .string(text))) }
            return .object(header("chat.completion.chunk") + [("choices", .array([.object([
                ("index", .int(index)), ("delta", .object(delta)), ("logprobs", logprobs), ("finish_reason", finishReasonJSON(finish)),
            ])]))])
        }
        return .object(header("text_completion") + [("choices", .array([.object([
            ("text", .string(text ?? "")), ("index", .int(index)), ("logprobs", logprobs), ("finish_reason", finishReasonJSON(finish)),
        ])]))])
    }

    func usageChunk(prompt: Int, completion: Int) -> JSONOut {
        .object(header(isChat ? "chat.completion.chunk" : "text_completion") + [("choices", .array([])), ("usage", usage(prompt, completion))])
    }
}
