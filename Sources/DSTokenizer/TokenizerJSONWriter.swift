import DSFormats
import Foundation

extension Tokenizer {
    /// An HF `tokenizers` description of this tokenizer (`tokenizer.json`), loadable by
    /// `tokenizers.Tokenizer.from_file` and by `Tokenizer.load`.
    ///
    /// The DeepSeek pre-tokenizer is written as six `Split` steps (escaped regexes, `Isolated`) and llama.cpp's
    /// 'default' one as four, each followed by `ByteLevel` without regex; GPT-2's as `ByteLevel` with regex.
    /// Normal tokens form the BPE vocabulary, control and user-defined tokens become `added_tokens` (special = control).
    public func tokenizerJSON() -> [String: Any] {
        var vocab: [String: Int] = [:]
        var added: [[String: Any]] = []
        for i in 0..<vocabularySize {
            let text = tokenText(TokenID(i))
            switch types[i] {
            case .normal, .byte:
                vocab[text] = i
            case .control, .userDefined, .unknown, .unused:
                added.append([
                    "id": i, "content": text, "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": types[i] != .userDefined,
                ])
            }
        }
        let preTokenizerJSON: [String: Any]
        switch preTokenizer {
        case .deepseekLLM, .defaultBPE:
            // Both are Isolated Splits in sequence, each seeing one fragment at a time, which is exactly how
            // HF applies a Sequence of Splits (tokenizers' regex engine agrees with llama.cpp on these classes).
            let patterns = preTokenizer == .deepseekLLM ? DeepSeekPatterns.escaped : DefaultPatterns.escaped
            var steps: [[String: Any]] = patterns.map {
                ["type": "Split", "pattern": ["Regex": $0], "behavior": "Isolated", "invert": false]
            }
            steps.append(["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false])
            preTokenizerJSON = ["type": "Sequence", "pretokenizers": steps]
        case .gpt2:
            preTokenizerJSON = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        }
        return [
            "version": "1.0",
            "truncation": NSNull(),
            "padding": NSNull(),
            "added_tokens": added,
            "normalizer": NSNull(),
            "pre_tokenizer": preTokenizerJSON,
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": mergeStrings(),
            ] as [String: Any],
        ]
    }

    /// The merges as "left right" strings, in rank order.
    public func mergeStrings() -> [String] {
        merges.arena.withUnsafeBufferPointer { a in
            merges.bounds.map { (l, m, r) in
                String(decoding: UnsafeBufferPointer(rebasing: a[Int(l)..<Int(m)]), as: UTF8.self) + " "
                    + String(decoding: UnsafeBufferPointer(rebasing: a[Int(m)..<Int(r)]), as: UTF8.self)
            }
        }
    }

    /// `tokenizer_config.json` with the special tokens and the DeepSeek chat template.
    public func tokenizerConfigJSON() -> [String: Any] {
        var c: [String: Any] = [
            "add_bos_token": addBOSByDefault, "add_eos_token": false, "clean_up_tokenization_spaces": false,
            "model_max_length": 4096, "tokenizer_class": "LlamaTokenizerFast", "legacy": true,
        ]
        if let b = bosID { c["bos_token"] = tokenText(b) }
        if let e = eosID { c["eos_token"] = tokenText(e) }
        if let p = padID { c["pad_token"] = tokenText(p) }
        if preTokenizer == .deepseekLLM { c["chat_template"] = DeepSeekChatTemplate.jinja }
        return c
    }

    /// Writes tokenizer.json (and tokenizer_config.json beside it), each via a temporary file and rename.
    public func writeTokenizerJSON(to path: String) throws {
        try writeJSONAtomically(tokenizerJSON(), to: path)
        let config = ((path as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("tokenizer_config.json")
        try writeJSONAtomically(tokenizerConfigJSON(), to: config)
    }
}

/// Serialises to a temporary file in the same directory, then renames it over `path`, so that a
/// crash never leaves a half-written file.
public func writeJSONAtomically(_ object: Any, to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    try writeAtomically(data, to: path)
}

extension DeepSeekChatTemplate {
    /// The Jinja source, as in deepseek-llm-7b-chat's tokenizer_config.json.
    public static let jinja = "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
}
