@testable import DSTokenizer
import DSFormats
import Foundation
import Testing

/// GGUFs converted before llama.cpp wrote `tokenizer.ggml.pre` (most DeepSeek LLM conversions of Dec 2023).
@Suite struct MissingPreTagTests {
    /// The embedded vocabulary rewritten without the key, optionally with one token changed.
    func vocabularyWithoutPre(changingToken: Int? = nil) throws -> String {
        let source = try GGUFFile(path: try EmbeddedVocabulary.path())
        var w = GGUFWriter()
        for (key, value) in source.metadata where key != "tokenizer.ggml.pre" {
            if key == "tokenizer.ggml.tokens", let i = changingToken, case .array(let a) = value {
                w.metadata.append((key, .array(.string, (0..<a.count).map { $0 == i ? .string("Xchanged") : .string(a.string(at: $0)) })))
            } else {
                w.metadata.append((key, GGUFWriter.Value(value)))
            }
        }
        let path = temporaryDirectory().appendingPathComponent("vocab-no-pre.gguf").path
        try w.write(to: path)
        return path
    }

    @Test func deepSeekVocabularyWithoutTheTagUsesItsPreTokenizer() throws {
        let t = try Tokenizer.load(gguf: try vocabularyWithoutPre())
        for (text, ids) in try llamaCppVectors() {
            #expect(t.encode(text, parseSpecial: false) == ids, "\(text.debugDescription)")
        }
    }

    @Test func anotherVocabularyWithoutTheTagIsAnErrorNamingTheKey() throws {
        let path = try vocabularyWithoutPre(changingToken: 5000)
        #expect {
            _ = try Tokenizer.load(gguf: path)
        } throws: { error in
            "\(error)".contains("tokenizer.ggml.pre is missing") && "\(error)".contains(path)
        }
    }
}
