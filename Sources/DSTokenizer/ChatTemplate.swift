/// One chat message.
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case system, user, assistant }
    public var role: Role
    public var content: String
    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}

/// The DeepSeek LLM chat template (`tokenizer_config.json` of deepseek-llm-7b-chat / 67b-chat):
///
///     <BOS>{system}\n\nUser: {u1}\n\nAssistant: {a1}<EOS>User: {u2}\n\nAssistant:
///
/// System text goes in raw plus a blank line, with no role label. The generation prompt ends
/// with "Assistant:" and no space, so replies start with a space. The template emits BOS itself:
/// tokenize the result with `addBOS: false` (and `parseSpecial: true`, so BOS/EOS become ids).
public struct DeepSeekChatTemplate: Sendable {
    public var bosToken: String
    public var eosToken: String

    public init(bosToken: String = "<｜begin▁of▁sentence｜>", eosToken: String = "<｜end▁of▁sentence｜>") {
        self.bosToken = bosToken
        self.eosToken = eosToken
    }

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var s = bosToken
        for m in messages {
            switch m.role {
            case .user: s += "User: " + m.content + "\n\n"
            case .assistant: s += "Assistant: " + m.content + eosToken
            case .system: s += m.content + "\n\n"
            }
        }
        if addGenerationPrompt { s += "Assistant:" }
        return s
    }
}

extension Tokenizer {
    /// The chat template with this vocabulary's BOS/EOS text.
    public var deepseekChatTemplate: DeepSeekChatTemplate {
        var t = DeepSeekChatTemplate()
        if let b = bosID { t.bosToken = tokenText(b) }
        if let e = eosID { t.eosToken = tokenText(e) }
        return t
    }

    /// Renders and tokenizes a conversation (BOS comes from the template).
    public func encodeChat(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> [TokenID] {
        encode(deepseekChatTemplate.render(messages, addGenerationPrompt: addGenerationPrompt),
               addBOS: false, parseSpecial: true)
    }
}
