@testable import DSTokenizer
import Foundation
import Testing

@Suite struct LlamaCppVectorTests {
    /// All 46 of llama.cpp's DeepSeek LLM test vectors (tests/test-tokenizer-0, no BOS).
    @Test func allVectorsPassExactly() throws {
        let cases = try llamaCppVectors()
        #expect(cases.count == 46)
        for (text, expected) in cases {
            let ids = deepseek.encode(text, parseSpecial: false)
            #expect(ids == expected, "text \(text.debugDescription)")
            #expect(try deepseek.decode(ids) == text)
        }
    }

    @Test func knownIDs() throws {
        #expect(deepseek.encode("Führer") == [37, 100014, 71, 6245])
        #expect(deepseek.encode("333") == [18, 18, 18])
        #expect(deepseek.encode("Hello", addBOS: true) == [100000, 17464])
        // Control tokens are parsed from text only when asked.
        #expect(deepseek.encode("<｜end▁of▁sentence｜>", parseSpecial: true) == [100001])
        #expect(deepseek.encode("<｜end▁of▁sentence｜>", parseSpecial: false).count > 1)
        // User-defined tokens always match, including the padding names.
        #expect(deepseek.encode("[PAD100020]", parseSpecial: false) == [100020])
    }
}

@Suite struct LlamaCppGoldenTests {
    struct Case: Decodable { var text: String; var ids: [TokenID] }

    /// The large golden set produced by llama.cpp's own tokenizer (tools/golden/make_tokenizer_golden.py).
    @Test func goldenSetMatchesLlamaCpp() throws {
        let path = goldenPath("llamacpp-deepseek-golden.jsonl")
        let data = try String(contentsOfFile: path, encoding: .utf8)
        var count = 0
        var failures = 0
        for line in data.split(separator: "\n") {
            let c = try JSONDecoder().decode(Case.self, from: Data(line.utf8))
            count += 1
            let ids = deepseek.encode(c.text, parseSpecial: false)
            if ids != c.ids {
                failures += 1
                if failures <= 10 { Issue.record("mismatch for \(c.text.unicodeScalars.map { String($0.value, radix: 16) }.prefix(40)): got \(ids.prefix(30)) expected \(c.ids.prefix(30))") }
            }
            let back = try deepseek.decode(ids)
            #expect(Array(back.utf8) == Array(c.text.utf8), "round trip \(c.text.debugDescription)")
        }
        #expect(count >= 1000)
        #expect(failures == 0, "\(failures) of \(count) golden cases differ")
    }
}

@Suite struct EncodeBehaviourTests {
    @Test func invalidUTF8IsAnErrorWithOffsetOrReplaced() throws {
        let bytes: [UInt8] = Array("abc".utf8) + [0xE4, 0xB8] + Array(" ok".utf8)
        #expect(throws: TokenizerError.invalidUTF8(offset: 3)) { try deepseek.encode(bytes: bytes) }
        let replaced = try deepseek.encode(bytes: bytes, invalidUTF8: .replace)
        // llama.cpp replaces each invalid byte with U+FFFD
        let expected = deepseek.encode("abc\u{FFFD}\u{FFFD} ok")
        #expect(replaced == expected)
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x80]] {
            #expect(throws: TokenizerError.invalidUTF8(offset: 1)) { try deepseek.encode(bytes: [0x41] + bad) }
        }
    }

    @Test func heapAndLinearBPEAgreeOnLongPieces() throws {
        var rng = SeededRandom(seed: 7)
        let letters = Array("abcdefghijklmnopqrstuvwxyzéèàüöñçßθλπжщ")
        var state = EncoderState()
        for _ in 0..<200 {
            let n = Int.random(in: 2...300, using: &rng)
            let word = String((0..<n).map { _ in letters.randomElement(using: &rng)! })
            var bytes = Array(word.utf8)
            var linear: [TokenID] = [], heap: [TokenID] = []
            bytes.withUnsafeMutableBufferPointer { b in
                deepseek.model.encodeForTesting(b.baseAddress!, b.count, into: &linear, work: &state.work, useHeap: false)
                deepseek.model.encodeForTesting(b.baseAddress!, b.count, into: &heap, work: &state.work, useHeap: true)
            }
            #expect(linear == heap, "\(word)")
            #expect(try deepseek.decode(heap) == word)
        }
    }

    @Test func randomTextRoundTrips() throws {
        var rng = SeededRandom(seed: 42)
        for _ in 0..<300 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...80, using: &rng) {
                let block = [0x20, 0x41, 0x61, 0xC0, 0x370, 0x400, 0x600, 0x900, 0xE00, 0x3040, 0x4E00, 0xAC00, 0xFF00,
                             0x1F300, 0x1D400, 0x2000, 0x3000].randomElement(using: &rng)!
                if let s = Unicode.Scalar(UInt32(block + Int.random(in: 0..<96, using: &rng))) { scalars.append(s) }
            }
            let text = String(scalars)
            let ids = deepseek.encode(text, parseSpecial: false)
            #expect(Array(try deepseek.decode(ids).utf8) == Array(text.utf8))
        }
    }

    @Test func parallelEncodingIsIndependentOfThreadCount() throws {
        var text = ""
        var rng = SeededRandom(seed: 3)
        let lines = ["The quick brown fox jumps over the lazy dog.", "深度求索 2024年", "  indented\tcode()  ",
                     "Привет мир", "", "emoji 👩🏽‍💻 ok", "ü and [PAD100015] and <｜end▁of▁sentence｜>", "   "]
        while text.utf8.count < 3_000_000 { text += lines.randomElement(using: &rng)! + (Bool.random(using: &rng) ? "\n" : "\r\n") }
        let bytes = Array(text.utf8)
        let reference = deepseek.encode(text)
        for threads in [1, 2, 3, 8] {
            let ids = try bytes.withUnsafeBufferPointer { (b) throws(TokenizerError) in
                try deepseek.encodeParallel(bytes: b, threads: threads)
            }
            #expect(ids == reference, "threads \(threads)")
        }
        let cuts = bytes.withUnsafeBufferPointer { deepseek.chunkBoundaries($0, threads: 2) }
        #expect(cuts.count > 3)
        for c in cuts.dropFirst().dropLast() { #expect(bytes[c - 1] == 0x0A) }
    }

    @Test func loadsQuickly() throws {
        // The benchmark reports the real number; this only guards against an order-of-magnitude regression.
        let start = Date()
        let t = try Tokenizer.embeddedDeepSeek()
        let seconds = Date().timeIntervalSince(start)
        #expect(t.vocabularySize == 102400)
        #expect(seconds < 1.0, "loading took \(seconds) s")
    }
}
