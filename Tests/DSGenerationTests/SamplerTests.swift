@testable import DSGeneration
import Foundation
import Testing

@Suite struct SamplerTests {
    func logits(_ values: [Float]) -> [Float] { values }

    func draw(_ p: GenerateParameters, _ l: [Float], times: Int = 1, history: [Int32] = []) -> [Int32] {
        let s = Sampler(parameters: p, vocabularySize: l.count)
        s.accept(history)
        return l.withUnsafeBufferPointer { b in (0..<times).map { _ in s.sample(b) } }
    }

    @Test func greedyIsArgmaxWithLowestIdOnTies() {
        var p = GenerateParameters.greedy(maxTokens: 1)
        #expect(draw(p, [0.1, 3, 2, 3]) == [1])
        p.logitBias = [1: -10]
        #expect(draw(p, [0.1, 3, 2, 3]) == [3])
    }

    @Test func sameSeedSameTokensDifferentSeedDifferentTokens() {
        var p = GenerateParameters()
        p.temperature = 1; p.topK = 0; p.topP = 1; p.minP = 0
        let l = (0..<1000).map { Float($0 % 17) * 0.1 }
        p.seed = 42
        let a = draw(p, l, times: 50), b = draw(p, l, times: 50)
        p.seed = 43
        let c = draw(p, l, times: 50)
        #expect(a == b)
        #expect(a != c)
    }

    /// Frequencies of a temperature-1 draw follow softmax (chi-square-ish bound over 20k draws).
    @Test func samplingFollowsTheSoftmax() {
        var p = GenerateParameters()
        p.temperature = 1; p.topK = 0; p.topP = 1; p.minP = 0; p.seed = 7
        let l: [Float] = [0, 1, 2, 0.5]
        let n = 20000
        var counts = [Int](repeating: 0, count: 4)
        for id in draw(p, l, times: n) { counts[Int(id)] += 1 }
        let z = l.map { exp(Double($0)) }.reduce(0, +)
        for i in 0..<4 {
            let expected = exp(Double(l[i])) / z * Double(n)
            #expect(abs(Double(counts[i]) - expected) < 4 * expected.squareRoot() + 5, "token \(i): \(counts[i]) vs \(expected)")
        }
    }

    @Test func topKTopPMinPKeepTheRightSets() {
        let l: [Float] = [5, 4, 3, 2, 1, 0, -1, -2]
        func survivors(_ configure: (inout GenerateParameters) -> Void) -> Set<Int32> {
            var p = GenerateParameters()
            p.temperature = 1; p.topK = 0; p.topP = 1; p.minP = 0; p.seed = 1
            configure(&p)
            return Set(draw(p, l, times: 3000))
        }
        #expect(survivors { $0.topK = 2 } == [0, 1])
        // softmax mass: 0.636, 0.234, 0.086, ... → p = 0.8 needs tokens 0 and 1 (0.870).
        #expect(survivors { $0.topP = 0.8 } == [0, 1])
        #expect(survivors { $0.topP = 0.9 } == [0, 1, 2])
        // minP 0.1: keep p_i ≥ 0.1·p_0 → logit ≥ 5 + ln 0.1 = 2.70 → tokens 0, 1, 2.
        #expect(survivors { $0.minP = 0.1 } == [0, 1, 2])
    }

    /// Top-p over a large vocabulary agrees with a full sort (the heap grows when 256 tokens are not enough).
    @Test func topPOnALargeFlatVocabularyMatchesAFullSort() {
        var gen = SeededGenerator(seed: 3)
        let l = (0..<20000).map { _ in Float(gen.unit() * 0.01) }  // nearly flat: needs thousands of tokens
        let s = Sampler(parameters: { var p = GenerateParameters(); p.temperature = 1; p.topK = 0; p.minP = 0; p.topP = 0.5; return p }(),
                        vocabularySize: l.count)
        var c = Candidates(ids: .allocate(capacity: 2 * l.count), logits: .allocate(capacity: 2 * l.count), count: l.count,
                           sorted: false, dense: true, scratchIDs: .allocate(capacity: l.count), scratchLogits: .allocate(capacity: l.count))
        for i in 0..<l.count { c.ids[i] = Int32(i); c.logits[i] = l[i] }
        TopPProcessor(p: 0.5).process(&c, history: s.history)
        let order = l.indices.sorted { l[$0] > l[$1] || (l[$0] == l[$1] && $0 < $1) }
        let z = l.map { exp(Double($0 - l.max()!)) }.reduce(0, +)
        var mass = 0.0, keep = 0
        for i in order { mass += exp(Double(l[i] - l.max()!)); keep += 1; if mass >= 0.5 * z { break } }
        #expect(c.count == keep)
        #expect(Set((0..<c.count).map { Int(c.ids[$0]) }) == Set(order.prefix(keep)))
    }

    @Test func penaltiesFollowLlamaCpp() {
        var p = GenerateParameters.greedy(maxTokens: 1)
        // Token 0 leads, but it was seen twice: frequency 0.6 × 2 + presence 0.5 → 3 - 1.7 = 1.3 < 2.
        p.frequencyPenalty = 0.6; p.presencePenalty = 0.5
        #expect(draw(p, [3, 2, 0], history: [0, 0]) == [1])
        // Repetition 2: positive logit halves (3 → 1.5 < 2).
        p = .greedy(maxTokens: 1); p.repetitionPenalty = 2
        #expect(draw(p, [3, 2, 0], history: [0]) == [1])
        // Outside the window nothing happens.
        p.penaltyLastN = 1
        #expect(draw(p, [3, 2, 0], history: [0, 2]) == [0])
    }

    @Test func stopStringsAcrossPiecesAreHeldAndCut() {
        var m = StopMatcher(["</s>", "\n\n"])
        #expect(m.feed("Hello <") == "Hello ")
        #expect(m.feed("/") == "")
        #expect(m.feed("x") == "</x")  // not a stop after all: released
        #expect(m.feed(" end\n") == " end")
        #expect(m.feed("\nmore") == "")
        #expect(m.stopped)
        #expect(m.feed("ignored") == "")
        var n = StopMatcher(["ab"])
        #expect(n.feed("xa") == "x")
        #expect(n.flush() == "a")
        var r = StopMatcher(["\n"])
        #expect(r.feed("line\r\nnext") == "line\r")
    }

    @Test func validationNamesTheField() {
        var p = GenerateParameters()
        p.topP = 0
        #expect(throws: GenerationError.self) { try p.validate() }
        do { try p.validate() } catch { #expect(error.description.contains("top_p")) }
    }

    @Test func logprobsAreNormalised() {
        let l: [Float] = [1, 2, 3]
        let (lp, top) = l.withUnsafeBufferPointer { LogProbs.compute($0, chosen: 2, top: 2) }
        let z = log(exp(1.0) + exp(2.0) + exp(3.0))
        #expect(abs(Double(lp) - (3 - z)) < 1e-5)
        #expect(top.map(\.0) == [2, 1])
    }
}
