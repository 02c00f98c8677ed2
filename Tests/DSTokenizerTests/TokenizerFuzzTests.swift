import DSFormats
@testable import DSTokenizer
import Foundation
import Testing

/// Mutated tokenizer files (GGUF metadata and tokenizer.json) load cleanly or fail with an error; whatever
/// loads can encode and decode without crashing. `DSLLM_FUZZ_ITERATIONS` raises the count.
@Suite struct TokenizerFuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["DSLLM_FUZZ_ITERATIONS"] ?? "") ?? 1000

    /// A small byte-level vocabulary: 256 byte tokens, a few merges, BOS/EOS and a user-defined token.
    static func smallVocabulary() -> GGUFWriter {
        var tokens = (0..<256).map { GGUFWriter.Value.string(ByteLevel.encode([UInt8($0)])) }
        tokens += [.string("Ġt"), .string("he"), .string("Ġthe"), .string("<s>"), .string("</s>"), .string("ü")]
        var types = [GGUFWriter.Value](repeating: .int32(1), count: 259)
        types += [.int32(3), .int32(3), .int32(4)]
        var w = GGUFWriter()
        w.metadata = [
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("deepseek-llm")),
            ("tokenizer.ggml.tokens", .array(.string, tokens)), ("tokenizer.ggml.token_type", .array(.int32, types)),
            ("tokenizer.ggml.merges", .array(.string, [.string("Ġ t"), .string("h e"), .string("Ġt he")])),
            ("tokenizer.ggml.bos_token_id", .uint32(259)), ("tokenizer.ggml.eos_token_id", .uint32(260)),
        ]
        return w
    }

    static func exercise(_ tok: Tokenizer) {
        let ids = tok.encode("the thé ü <s> 12\n 深度 😀")
        _ = try? tok.decode(ids)
        var s = StreamingDetokenizer(tokenizer: tok)
        for id in ids { _ = try? s.append(id) }
        _ = s.flush()
    }

    @Test func mutatedVocabulariesNeverCrash() throws {
        let base = Self.smallVocabulary().bytes()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-tokfuzz-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("v.gguf").path
        try Data(base).write(to: URL(fileURLWithPath: path))
        let good = try Tokenizer.load(path: path)
        #expect(good.encode(" the") == [258])
        var rng = SeededRandom(seed: 0x70C)
        var loaded = 0
        for _ in 0..<Self.iterations {
            var bytes = base
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                if Bool.random(using: &rng) {
                    bytes[at] = UInt8.random(in: 0...255, using: &rng)
                } else {
                    bytes[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            if let tok = try? Tokenizer.load(path: path) {
                loaded += 1
                Self.exercise(tok)
            }
        }
        #expect(loaded > 0)  // many mutations only change token text, and must still work
    }

    /// What a failed load of a mutated tokenizer.json must look like: a `TokenizerError` (the loader's typed
    /// `throws(TokenizerError)` rules out any other type at compile time) whose message starts with the file's path
    /// and says where: a byte offset for broken JSON, a field for a wrong value, or the missing byte token.
    /// Returns the kind, or nil for anything else (a message that names nothing, or an unexpected case).
    static func failureKind(_ error: TokenizerError, path: String) -> String? {
        switch error {
        case .invalidFile(let m) where m.hasPrefix(path):
            if m.range(of: #"not valid JSON \(invalid JSON at byte [0-9]+: "#, options: .regularExpression) != nil { return "json syntax" }
            if m.hasPrefix(path + " (field ") { return "field" }
            if m.contains("top level is not a JSON object") { return "top level" }
            if m.contains("the vocabulary has no token for byte 0x") { return "missing byte token" }
            return nil
        case .unsupported(let m) where m.contains(path):
            // The refused setting by its field name: model.type, model.<key>, normalizer, pre_tokenizer….
            let fields = ["model.type", "model.continuing_subword_prefix", "model.end_of_word_suffix", "model.dropout",
                          "model.byte_fallback", "model.ignore_merges", "normalizer", "pre_tokenizer", "this pre_tokenizer"]
            return fields.contains { m.contains(path + ": " + $0) } ? "unsupported field" : nil
        default:
            return nil
        }
    }

    @Test func mutatedTokenizerJSONLoadsOrNamesWhereItIsBroken() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-tokfuzz-json-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocabPath = dir.appendingPathComponent("v.gguf").path
        try Self.smallVocabulary().write(to: vocabPath)
        let jsonPath = dir.appendingPathComponent("tokenizer.json").path
        try Tokenizer.load(path: vocabPath).writeTokenizerJSON(to: jsonPath)
        let base = Array(try Data(contentsOf: URL(fileURLWithPath: jsonPath)))
        var rng = SeededRandom(seed: 0x15)
        var kinds: [String: Int] = [:]
        for _ in 0..<Self.iterations {
            var bytes = base
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            bytes[at] = Array("{}[]\",:0123456789 \\u\"".utf8).randomElement(using: &rng)!
            try Data(bytes).write(to: URL(fileURLWithPath: jsonPath))
            do {
                let tok = try Tokenizer.load(tokenizerJSON: jsonPath)
                kinds["loaded", default: 0] += 1
                Self.exercise(tok)
            } catch {
                let kind = Self.failureKind(error, path: jsonPath)
                #expect(kind != nil, "byte \(at) = \(bytes[at]): unexpected error \(error)")
                kinds[kind ?? "unexpected", default: 0] += 1
            }
        }
        // The mutations reach both the JSON parser and the field checks, and some still load (a changed digit
        // in a merge rank or a token's text is a valid file).
        #expect(kinds["loaded", default: 0] > 0 && kinds["json syntax", default: 0] > 0 && kinds["field", default: 0] > 0,
                "\(kinds)")
    }
}
