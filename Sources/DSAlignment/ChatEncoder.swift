import DSTokenizer
import Foundation

/// Turns chat and preference JSONL into token sequences with the DeepSeek chat template.
///
/// The completion rule is TRL's (DPOTrainer `tokenize_fn`, SFT prompt–completion): for each assistant turn, the
/// conversation up to it is rendered with the generation prompt ("…Assistant:") and the conversation including it
/// is rendered whole; the turn's tokens are those after the two tokenizations' common prefix (" reply<EOS>": the
/// template ends the reply with EOS, and the space after "Assistant:" belongs to the reply, as at inference time).
/// Only those tokens are labels in SFT; everything else (BOS, system, user turns, role labels) is context.
public struct ChatEncoder: Sendable {
    public let tokenizer: Tokenizer
    public let template: DeepSeekChatTemplate
    public init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
        template = tokenizer.deepseekChatTemplate
    }

    func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addBOS: false, parseSpecial: true).map { Int32($0) } }

    static func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
        var i = 0
        while i < a.count && i < b.count && a[i] == b[i] { i += 1 }
        return i
    }

    /// The whole conversation with assistant replies as labels (nil: no assistant turn).
    public func sft(_ messages: [ChatMessage]) -> MaskedSequence? {
        guard messages.contains(where: { $0.role == .assistant }) else { return nil }
        let full = encode(template.render(messages, addGenerationPrompt: false))
        var mask = [Bool](repeating: false, count: full.count)
        for (i, m) in messages.enumerated() where m.role == .assistant {
            let prompt = encode(template.render(Array(messages[..<i]), addGenerationPrompt: true))
            let upTo = encode(template.render(Array(messages[...i]), addGenerationPrompt: false))
            let start = Self.commonPrefix(prompt, upTo)
            // The rendering up to turn i is a prefix of the whole rendering; its tokens are too (EOS, a special
            // token, ends every reply and splits the text there).
            let end = min(upTo.count, full.count)
            if start < end { for j in start..<end { mask[j] = true } }
        }
        return MaskedSequence(ids: full, mask: mask)
    }

    /// A prompt (messages, or a plain string) with chosen and rejected replies, tokenized as TRL does.
    public func preference(prompt: [ChatMessage], chosen: [ChatMessage], rejected: [ChatMessage]) -> PreferencePair {
        let p = encode(template.render(prompt, addGenerationPrompt: true))
        let pc = encode(template.render(prompt + chosen, addGenerationPrompt: false))
        let pr = encode(template.render(prompt + rejected, addGenerationPrompt: false))
        let n = min(Self.commonPrefix(p, pc), Self.commonPrefix(p, pr))
        return PreferencePair(prompt: Array(p[..<n]), chosen: Array(pc[n...]), rejected: Array(pr[n...]))
    }

    /// Plain-text preference data: prompt, prompt + chosen and prompt + rejected tokenized, EOS appended to
    /// completions that lack it (TRL's non-conversational path; no template, no BOS).
    public func preference(prompt: String, chosen: String, rejected: String) -> PreferencePair {
        let eos = template.eosToken
        let c = chosen.hasSuffix(eos) ? chosen : chosen + eos, r = rejected.hasSuffix(eos) ? rejected : rejected + eos
        let p = encode(prompt), pc = encode(prompt + c), pr = encode(prompt + r)
        let n = min(Self.commonPrefix(p, pc), Self.commonPrefix(p, pr))
        return PreferencePair(prompt: Array(p[..<n]), chosen: Array(pc[n...]), rejected: Array(pr[n...]))
    }
}
