@testable import DSGeneration
import DSFormats
import DSTokenizer
import Foundation
import Testing

let deepSeekTokenizer: Tokenizer = try! Tokenizer.embeddedDeepSeek()

@Suite struct GrammarMaskTests {
    /// The allowed set by walking the trie equals the set from advancing every token's bytes on its own.
    func expectMaskMatchesBruteForce(_ g: TokenGrammar, after prefix: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let m = g.makeMatcher()
        #expect(m.accept(bytes: prefix), sourceLocation: sourceLocation)
        let mask = m.allowedTokens()
        var expected: [Int32] = []
        for id in 0..<Int32(deepSeekTokenizer.vocabularySize) {
            switch deepSeekTokenizer.tokenType(id) {
            case .control, .unknown, .unused: continue
            default: break
            }
            let bytes = deepSeekTokenizer.tokenBytes(id)
            if !bytes.isEmpty, g.advance(m.state, bytes) >= 0 { expected.append(id) }
        }
        #expect(mask.allowedIDs == expected, sourceLocation: sourceLocation)
        #expect(mask.count == expected.count, sourceLocation: sourceLocation)
    }

    @Test func trieWalkEqualsTokenByTokenCheck() throws {
        let schema = try JSONValue.parse(Array(#"""
            {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 18, "maximum": 130},
             "tags": {"type": "array", "items": {"enum": ["naïve", "日本", "x\"y"]}}}, "required": ["name"]}
            """#.utf8))
        let g = try JSONSchemaGrammar.grammar(for: schema, strict: true, tokenizer: deepSeekTokenizer)
        for prefix in ["", "{", "{\"name\": \"ab", "{\"name\": \"ab\", \"age\": 1", "{\"name\":\"\",\"tags\":[\"", "{\"name\":\"\",\"tags\":[\"na",
                       "{\"name\":\"\",\"tags\":[\"日"] {
            expectMaskMatchesBruteForce(g, after: Array(prefix.utf8))
        }
        // Inside a multi-byte character (the first byte of 日 only).
        expectMaskMatchesBruteForce(g, after: Array("{\"name\":\"\",\"tags\":[\"".utf8) + [0xE6])
    }

    @Test func completeGrammarAllowsOnlyStopIDs() throws {
        let g = try TokenGrammar(gbnf: #"root ::= "{}""#, tokenizer: deepSeekTokenizer)
        let m = g.makeMatcher()
        #expect(!m.isAccepting && !m.isComplete)
        #expect(m.accept(text: "{}"))
        #expect(m.isComplete && m.allowedTokens().count == 0 && m.allowedTokens().accepting)
        var logits = [Float](repeating: 1, count: 102400)
        let raw = logits
        raw.withUnsafeBufferPointer { r in m.apply(to: &logits, count: 102400, raw: r, stopIDs: [100001]) }
        #expect(logits.indices.filter { logits[$0] > -.infinity } == [100001])
    }

    @Test func stopIDsAreMaskedUntilTheGrammarAccepts() throws {
        let g = try TokenGrammar(gbnf: #"root ::= "a"+"#, tokenizer: deepSeekTokenizer)
        let m = g.makeMatcher()
        var logits = [Float](repeating: 0, count: 102400)
        let raw = logits
        raw.withUnsafeBufferPointer { r in m.apply(to: &logits, count: 102400, raw: r, stopIDs: [100001]) }
        #expect(logits[100001] == -.infinity && logits[Int(deepSeekTokenizer.encode("a")[0])] == 0)
        #expect(m.accept(text: "aa"))
        logits = raw
        raw.withUnsafeBufferPointer { r in m.apply(to: &logits, count: 102400, raw: r, stopIDs: [100001]) }
        #expect(logits[100001] == 0)
    }

    @Test func samplerMasksBeforeTheChainAndOnlyGeneratedTokensAdvance() throws {
        var p = GenerateParameters()
        p.topK = 1
        p.seed = 1
        p.stopIDs = [100001]
        p.grammar = try TokenGrammar(gbnf: #"root ::= "z""#, tokenizer: deepSeekTokenizer)
        var logits = [Float](repeating: 0, count: 102400)
        logits[5] = 10  // the unconstrained favourite, which top-k 1 would keep if it ran first
        let s = Sampler(parameters: p, vocabularySize: 102400)
        s.accept(deepSeekTokenizer.encode("z z z"))  // the prompt: context only
        #expect(s.grammar?.isComplete == false)
        let id = logits.withUnsafeBufferPointer { s.sample($0) }
        #expect(Array(deepSeekTokenizer.tokenBytes(id)) == Array("z".utf8))
        s.accept(id)
        #expect(s.grammar?.isComplete == true)
        #expect(logits.withUnsafeBufferPointer { s.sample($0) } == 100001)
        s.accept(100001)  // a stop id is not text: the grammar stays complete
        #expect(s.grammar?.isComplete == true)
    }

    /// Mask cost at typical JSON states on the 102400-token vocabulary: the first computation of a state (one trie
    /// walk) and a cached one. Printed for the record; the assertion is loose enough for any CI machine.
    @Test func maskCostOnTheDeepSeekVocabulary() throws {
        let schema = try JSONValue.parse(Array(#"""
            {"type": "object", "properties": {"title": {"type": "string"}, "year": {"type": "integer"},
             "rating": {"type": "number"}, "genres": {"type": "array", "items": {"type": "string"}}}, "required": ["title", "year"]}
            """#.utf8))
        let states = ["", "{\"", "{\"title\": \"The Gr", "{\"title\": \"x\", \"year\": 19", "{\"title\": \"x\", \"year\": 1999, \"genres\": [\"dra"]
        var report: [String] = []
        var worstCached = 0.0
        for prefix in states {
            let g = try TokenGrammar(gbnf: try JSONSchemaGrammar.gbnf(for: schema, strict: true), tokenizer: deepSeekTokenizer)
            let m = g.makeMatcher()
            _ = m.accept(text: prefix)
            var t = Date()
            let mask = m.allowedTokens()
            let first = Date().timeIntervalSince(t)
            t = Date()
            for _ in 0..<100 { _ = m.allowedTokens() }
            let cached = Date().timeIntervalSince(t) / 100
            // Applying the mask to the logits (what the sampler does every step).
            var logits = [Float](repeating: 0, count: 102400)
            let raw = logits
            t = Date()
            for _ in 0..<100 { raw.withUnsafeBufferPointer { r in m.apply(to: &logits, count: 102400, raw: r, stopIDs: [100001]) } }
            let apply = Date().timeIntervalSince(t) / 100
            worstCached = max(worstCached, cached + apply)
            report.append(String(format: "%-45@ allowed %6d  first %7.2f ms  cached %6.3f ms  apply %6.3f ms", "\(prefix.debugDescription)" as NSString,
                                 mask.count, first * 1e3, cached * 1e3, apply * 1e3))
        }
        print("grammar mask on \(TokenVocabulary.of(deepSeekTokenizer).nodeCount) trie nodes:\n" + report.joined(separator: "\n"))
        #expect(worstCached < 0.02)
    }
}

