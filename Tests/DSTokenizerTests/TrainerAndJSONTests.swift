@testable import DSTokenizer
import Foundation
import Testing

@Suite struct BPETrainerTests {
    struct Golden: Decodable {
        struct Run: Decodable { var vocab_size: Int; var tokens: [String]; var merges: [String] }
        var runs: [Run]
    }

    /// Same corpus, same size: the merges and the vocabulary equal HF BpeTrainer's (tools/golden/make_trainer_golden.py).
    @Test func mergesMatchHFBpeTrainer() throws {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: goldenDirectory.appendingPathComponent("hf-bpe-trainer-golden.json")))
        let corpus = try Data(contentsOf: goldenDirectory.appendingPathComponent("trainer-corpus.txt"))
        for run in golden.runs {
            for threads in [1, 2] {
                var options = BPETrainer.Options(vocabularySize: run.vocab_size + 2)
                options.threads = threads
                let trainer = BPETrainer(options: options)
                try Array(corpus).withUnsafeBufferPointer { (b) throws(TokenizerError) in try trainer.countWords(in: b) }
                let result = trainer.train()
                let tokens = result.tokens.map { ByteLevel.encode($0) }
                let merges = result.merges.map { "\(tokens[Int($0.0)]) \(tokens[Int($0.1)])" }
                #expect(tokens.count == run.tokens.count, "size \(run.vocab_size)")
                #expect(tokens.map { Array($0.unicodeScalars) } == run.tokens.map { Array($0.unicodeScalars) },
                        "vocabulary differs for size \(run.vocab_size)")
                let firstDiff = zip(merges, run.merges).enumerated().first { $0.element.0 != $0.element.1 }
                #expect(merges.count == run.merges.count && firstDiff == nil,
                        "size \(run.vocab_size), threads \(threads): first difference \(String(describing: firstDiff))")
            }
        }
    }

    @Test func trainedTokenizerRoundTripsThroughTokenizerJSON() throws {
        let corpus = try Data(contentsOf: goldenDirectory.appendingPathComponent("trainer-corpus.txt"))
        let trainer = BPETrainer(options: .init(vocabularySize: 600))
        try Array(corpus).withUnsafeBufferPointer { (b) throws(TokenizerError) in try trainer.countWords(in: b) }
        let tok = try trainer.train().makeTokenizer(preTokenizer: .deepseekLLM)
        #expect(tok.vocabularySize == 600)
        #expect(tok.bosID == 598 && tok.eosID == 599)
        let dir = temporaryDirectory()
        let path = dir.appendingPathComponent("tokenizer.json").path
        try tok.writeTokenizerJSON(to: path)
        let loaded = try Tokenizer.load(path: dir.path)
        #expect(loaded.bosID == 598 && loaded.eosID == 599 && loaded.preTokenizer == .deepseekLLM)
        let text = String(decoding: corpus.prefix(20000), as: UTF8.self)
        #expect(loaded.encode(text) == tok.encode(text))
        #expect(try loaded.decode(tok.encode(text)) == text)
    }
}

@Suite struct TokenizerJSONTests {
    /// GGUF → tokenizer.json → load gives the same ids on llama.cpp's vectors.
    @Test func convertedDeepSeekVocabularyEncodesIdentically() throws {
        let dir = temporaryDirectory()
        let path = dir.appendingPathComponent("tokenizer.json").path
        try deepseek.writeTokenizerJSON(to: path)
        let start = Date()
        let loaded = try Tokenizer.load(path: path)
        let seconds = Date().timeIntervalSince(start)
        #expect(seconds < 5, "tokenizer.json load took \(seconds) s")
        #expect(loaded.vocabularySize == 102400 && loaded.mergeCount == deepseek.mergeCount)
        #expect(loaded.bosID == 100000 && loaded.eosID == 100001)
        for (text, expected) in try llamaCppVectors() {
            #expect(loaded.encode(text, parseSpecial: false) == expected, "\(text.debugDescription)")
        }
        #expect(loaded.encode("Führer") == [37, 100014, 71, 6245])
    }

    func write(_ json: String) throws -> String {
        let path = temporaryDirectory().appendingPathComponent("tokenizer.json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func corruptOrUnsupportedFilesGiveClearErrors() throws {
        func expectError(_ json: String, containing needle: String) throws {
            let path = try write(json)
            do {
                _ = try Tokenizer.load(tokenizerJSON: path)
                Issue.record("accepted: \(json)")
            } catch {
                #expect(error.description.contains(needle), "\(error.description)")
                #expect(error.description.contains(path))
            }
        }
        try expectError("{not json", containing: "not valid JSON")
        try expectError("{}", containing: "field model")
        try expectError(#"{"model": {"type": "Unigram"}}"#, containing: "only BPE")
        try expectError(#"{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Metaspace"}}"#,
                        containing: "Metaspace")
        try expectError(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel", "use_regex": true}}"#,
                        containing: "no token has id 1")
        try expectError(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}, "pre_tokenizer": {"type": "ByteLevel"}}"#,
                        containing: "model.merges[0]")
        try expectError(#"{"normalizer": {"type": "NFC"}, "model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}"#,
                        containing: "normalizer")
        // A ByteLevel vocabulary that lacks byte tokens cannot encode.
        try expectError(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}"#,
                        containing: "no token for byte")
    }

    @Test func unsupportedGGUFTokenizersAreRefusedByName() throws {
        let dir = temporaryDirectory()
        for (model, pre, needle) in [("llama", "default", "tokenizer.ggml.model"), ("gpt2", "llama-bpe", "tokenizer.ggml.pre")] {
            var w = DSFormatsWriterShim.writer(model: model, pre: pre)
            let path = dir.appendingPathComponent("\(model)-\(pre).gguf").path
            try w.write(to: path)
            #expect { try Tokenizer.load(path: path) } throws: { ($0 as? TokenizerError)?.description.contains(needle) == true }
            w.metadata = []
        }
    }
}

@Suite struct GPT2StyleTokenizerTests {
    struct Case: Decodable { var text: String; var ids: [TokenID] }

    /// A GPT-2-style tokenizer.json trained by HF tokenizers loads, and encodes as HF does.
    @Test func encodesLikeHFTokenizers() throws {
        let tok = try Tokenizer.load(path: goldenPath("hf-gpt2-style-tokenizer.json"))
        #expect(tok.preTokenizer == .gpt2)
        let lines = try String(contentsOfFile: goldenPath("hf-gpt2-style-golden.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count > 20)
        for line in lines {
            let c = try JSONDecoder().decode(Case.self, from: Data(line.utf8))
            #expect(tok.encode(c.text) == c.ids, "\(c.text.debugDescription)")
            #expect(try tok.decode(tok.encode(c.text)) == c.text)
        }
    }
}
