@testable import DSTokenizer
import DSFormats
import Foundation
import Testing

/// GGUFs converted before llama.cpp wrote `tokenizer.ggml.pre` (most DeepSeek LLM conversions of Dec 2023).
@Suite struct MissingPreTagTests {
    /// The embedded vocabulary rewritten without the key (or with `pre` as its value), optionally with one token changed.
    func vocabularyWithoutPre(changingToken: Int? = nil, pre: String? = nil) throws -> String {
        let source = try GGUFFile(path: try EmbeddedVocabulary.path())
        var w = GGUFWriter()
        for (key, value) in source.metadata {
            if key == "tokenizer.ggml.pre" {
                if let pre { w.metadata.append((key, .string(pre))) }
            } else if key == "tokenizer.ggml.tokens", let i = changingToken, case .array(let a) = value {
                w.metadata.append((key, .array(.string, (0..<a.count).map { $0 == i ? .string("Xchanged") : .string(a.string(at: $0)) })))
            } else {
                w.metadata.append((key, GGUFWriter.Value(value)))
            }
        }
        let path = temporaryDirectory().appendingPathComponent("vocab-no-pre.gguf").path
        try w.write(to: path)
        return path
    }

    struct GoldenHeader: Decodable {
        struct Changed: Decodable { var id: Int; var now: String }
        var llama_cpp_python: String
        var without_key: String
        var changed_token: Changed
        var cases: Int
    }
    struct GoldenCase: Decodable { var text: String; var ids: [TokenID] }

    /// tools/golden/make_default_pretok_golden.py: llama.cpp's ids for `vocabularyWithoutPre(changingToken: 5000)`.
    func defaultPreTokenizerGolden() throws -> [GoldenCase] {
        let lines = try String(contentsOfFile: goldenPath("llamacpp-default-pretok-golden.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let header = try JSONDecoder().decode(GoldenHeader.self, from: Data(lines[0].utf8))
        // The golden must come from the vocabulary this suite builds.
        #expect(header.without_key == "tokenizer.ggml.pre")
        #expect(header.changed_token.id == 5000 && header.changed_token.now == "Xchanged")
        let cases = try lines.dropFirst().map { try JSONDecoder().decode(GoldenCase.self, from: Data($0.utf8)) }
        #expect(cases.count == header.cases && cases.count >= 60, "llama-cpp-python \(header.llama_cpp_python)")
        return cases
    }

    @Test func deepSeekVocabularyWithoutTheTagUsesItsPreTokenizer() throws {
        let t = try Tokenizer.load(gguf: try vocabularyWithoutPre())
        for (text, ids) in try llamaCppVectors() {
            #expect(t.encode(text, parseSpecial: false) == ids, "\(text.debugDescription)")
        }
    }

    /// llama.cpp logs "missing pre-tokenizer type, using: 'default'" and uses LLAMA_VOCAB_PRE_TYPE_DEFAULT; so do we.
    @Test func anotherVocabularyWithoutTheTagUsesLlamaCppsDefaultPreTokenizer() throws {
        let t = try Tokenizer.load(gguf: try vocabularyWithoutPre(changingToken: 5000))
        #expect(t.preTokenizer == .defaultBPE)
        for c in try defaultPreTokenizerGolden() {
            #expect(t.encode(c.text, parseSpecial: false) == c.ids, "\(c.text.debugDescription)")
        }
    }

    @Test func explicitDefaultTagSelectsTheSamePreTokenizer() throws {
        let t = try Tokenizer.load(gguf: try vocabularyWithoutPre(changingToken: 5000, pre: "default"))
        #expect(t.preTokenizer == .defaultBPE)
        for c in try defaultPreTokenizerGolden() {
            #expect(t.encode(c.text, parseSpecial: false) == c.ids, "\(c.text.debugDescription)")
        }
        let unknown = try vocabularyWithoutPre(changingToken: 5000, pre: "qwen2")
        #expect { _ = try Tokenizer.load(gguf: unknown) } throws: { "\($0)".contains("tokenizer.ggml.pre = \"qwen2\"") }
    }

    /// tokenizer.json round trip: four Isolated Splits + ByteLevel come back as the default pre-tokenizer; a
    /// `Digits` step in place of `\p{N}+` is refused (it would split multi-digit tokens that `\p{N}+` keeps).
    @Test func defaultPreTokenizerRoundTripsThroughTokenizerJSON() throws {
        let t = try Tokenizer.load(gguf: try vocabularyWithoutPre(changingToken: 5000))
        let json = t.tokenizerJSON()
        let path = temporaryDirectory().appendingPathComponent("tokenizer.json").path
        try writeJSONAtomically(json, to: path)
        let back = try Tokenizer.load(tokenizerJSON: path)
        #expect(back.preTokenizer == .defaultBPE)
        for c in try defaultPreTokenizerGolden() {
            #expect(back.encode(c.text, parseSpecial: false) == c.ids, "\(c.text.debugDescription)")
        }
        var pre = json["pre_tokenizer"] as! [String: Any]
        var steps = pre["pretokenizers"] as! [[String: Any]]
        steps[2] = ["type": "Digits", "individual_digits": true]
        pre["pretokenizers"] = steps
        let mutated = try JSONValue.parse(Array(JSONSerialization.data(withJSONObject: pre)))
        #expect { _ = try Tokenizer.preTokenizerKind(mutated, path: path) } throws: {
            "\($0)".contains("neither the DeepSeek LLM one")
        }
    }
}
