@testable import DSEvaluation
import DSModel
import Foundation
import Testing

@Suite struct ScoringTests {
    static let weights: ModelWeights = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-eval-tests-\(getpid())").path
        try! RandomModel.write(RandomModel.tinyConfig(vocabularySize: 512, maxPositions: 64), to: dir, seed: 9, scale: 0.5)
        return try! ModelWeights.load(path: dir)
    }()

    /// Σ log p(ids[i] | ids[..<i]) for i in `range`, from one fresh prefill (the unshared reference).
    static func naive(_ ids: [Int32], _ range: Range<Int>) -> Double {
        let m = Transformer(weights: weights, threads: 1)
        var total = 0.0
        m.prefill(Array(ids.dropLast())) { t, logits in if range.contains(t + 1) { total += logSoftmax(logits, at: Int(ids[t + 1])) } }
        return total
    }

    @Test func sharedContextEqualsScoringEachChoiceAlone() {
        let scorer = LogLikelihoodScorer(model: Transformer(weights: Self.weights, threads: 1))
        let context: [Int32] = [5, 17, 200, 3, 44, 9]
        let choices: [[Int32]] = [[7], [300, 301, 302], [44, 9, 44, 9, 1], [2, 2]]
        let results = scorer.score(context: context, continuations: choices)
        for (c, r) in zip(choices, results) {
            let want = Self.naive(context + c, context.count..<(context.count + c.count))
            #expect(abs(r.logLikelihood - want) < 1e-4 * max(1, abs(want)), "\(c): \(r.logLikelihood) vs \(want)")
            #expect(r.tokens == c.count)
        }
    }

    @Test func greedyContinuationIsFlaggedGreedy() {
        let model = Transformer(weights: Self.weights, threads: 1)
        let context: [Int32] = [1, 2, 3]
        let greedy = model.greedy(prompt: context, count: 5)
        var other = greedy
        other[2] = (other[2] + 1) % 512
        let r = LogLikelihoodScorer(model: model).score(context: context, continuations: [greedy, other])
        #expect(r[0].isGreedy && !r[1].isGreedy)
        #expect(r[0].logLikelihood > r[1].logLikelihood)
    }

    @Test func rollingWindowsScoreEveryTokenOnce() {
        let model = Transformer(weights: Self.weights, threads: 1)
        let scorer = LogLikelihoodScorer(model: model)
        let tokens: [Int32] = (0..<150).map { Int32(($0 * 37 + 11) % 512) }
        let prefix: Int32 = 0
        // lm-eval's get_rolling_token_windows (context_len 1): windows predict 64 new tokens each from the previous
        // token on; the last one takes a full window of context: input token_list[end − 64 − 1 ..< end − 1].
        let disjoint = scorer.rolling(tokens, prefix: prefix)
        let all = [prefix] + tokens   // all[i + 1] = tokens[i]
        var want = 0.0
        var predicted = 0
        while predicted < tokens.count {
            let end = predicted + min(tokens.count - predicted, 64)
            let start = max(0, end - 64)             // in `all`: inputs all[start ..< end] predict tokens[start ..< end]
            want += Self.naive(Array(all[start...end]), (predicted - start + 1)..<(end - start + 1))
            predicted = end
        }
        #expect(disjoint.tokens == 150 && abs(disjoint.logLikelihood - want) < 1e-3, "\(disjoint.logLikelihood) vs \(want)")
        // Overlapping windows: more context per token, so (on this model) a different total, every token still once.
        let sliding = scorer.rolling(tokens, prefix: prefix, window: 64, stride: 16)
        var want2 = 0.0
        var scored = 0
        while scored < tokens.count {
            let end = min(scored + 16, tokens.count), start = max(0, end - 64)
            want2 += Self.naive(Array(all[start...end]), (scored - start + 1)..<(end - start + 1))
            scored = end
        }
        #expect(abs(sliding.logLikelihood - want2) < 1e-3 && abs(sliding.logLikelihood - disjoint.logLikelihood) > 1e-3)
        // A text shorter than the window is one prefill: its mean NLL is Transformer.meanNLL's.
        let short = scorer.rolling(Array(tokens.prefix(20)), prefix: prefix)
        #expect(abs(-short.logLikelihood / 20 - Transformer(weights: Self.weights, threads: 1).meanNLL([prefix] + tokens.prefix(20))) < 1e-5)
    }

    @Test func multipleChoiceMetricsAsLmEvalDefinesThem() {
        // acc takes the raw maximum; acc_norm divides by the choice's characters (code points, no delimiter).
        var m = EvaluationMetrics.multipleChoice(logLikelihoods: [-4, -6], choices: ["ab", "abcdefghijklmnop"], gold: 1)
        #expect(m.acc == 0 && m.accNorm == 1)   // −4/2 = −2 < −6/16 = −0.375
        m = EvaluationMetrics.multipleChoice(logLikelihoods: [-4, -6], choices: ["ab", "abcdefghijklmnop"], gold: 0)
        #expect(m.acc == 1 && m.accNorm == 0)
        m = EvaluationMetrics.multipleChoice(logLikelihoods: [-3, -3, -9], choices: ["x", "y", "z"], gold: 1)
        #expect(m.acc == 0 && m.accNorm == 0)    // ties go to the first choice
        // The delimiter is not counted: −2/1 < −5/3 picks "abc" (with a leading space, −2/2 > −5/4 would pick "a").
        m = EvaluationMetrics.multipleChoice(logLikelihoods: [-2, -5], choices: ["a", "abc"], gold: 1)
        #expect(m.acc == 0 && m.accNorm == 1)
        // "é" is one character, two UTF-8 bytes: −1.9/1 < −3/2 (by bytes, −1.9/2 > −3/2 would pick "é").
        m = EvaluationMetrics.multipleChoice(logLikelihoods: [-1.9, -3], choices: ["é", "ee"], gold: 0)
        #expect(m.accNorm == 0 && m.acc == 1)
    }

    @Test func perplexityUnits() {
        #expect(EvaluationMetrics.wordCount("a b  c") == 3 && EvaluationMetrics.wordCount(" a") == 2 && EvaluationMetrics.wordCount("a\n") == 2)
        let p = EvaluationMetrics.perplexities(logLikelihood: -100, tokens: 50, words: 20, bytes: 80)
        #expect(abs(p.wordPerplexity - exp(5)) < 1e-9 && abs(p.bytePerplexity - exp(1.25)) < 1e-9)
        #expect(abs(p.bitsPerByte - 1.25 / log(2.0)) < 1e-12 && abs(p.tokenPerplexity - exp(2)) < 1e-9)
    }

    @Test func repetitionDetection() {
        #expect(EvaluationMetrics.isRepetitive([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 7, 8, 7, 8, 7, 8]))
        #expect(EvaluationMetrics.isRepetitive([5, 1, 2, 3, 1, 2, 3, 1, 2, 3]))
        #expect(!EvaluationMetrics.isRepetitive([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]))
        #expect(!EvaluationMetrics.isRepetitive([1, 2, 1, 2]))
        // Only responses that never end count: a loop that stopped with EOS is not one.
        let loop: [Int32] = [9, 1, 2, 3, 1, 2, 3, 1, 2, 3]
        #expect(EvaluationMetrics.repetitionRatio([(loop, false), (loop, true), ([1, 2, 3, 4], false), ([5, 6], true)]) == 0.25)
    }
}
