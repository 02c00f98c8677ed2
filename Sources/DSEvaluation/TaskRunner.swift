import DSModel
import DSTokenizer
import Foundation

/// Runs an `EvaluationTask` on a model: metrics as lm-eval names them, and one JSON line per sample.
public struct TaskRunner {
    public let model: Transformer
    public let tokenizer: Tokenizer
    public init(model: Transformer, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    public struct Report: Sendable {
        public var task: String
        public var metrics: [(name: String, value: Double, stderr: Double?)] = []
        public var samples: [String] = []
        public var count = 0
    }

    /// lm-eval's standard error of a mean: sample standard deviation (ddof 1) / √n.
    static func stderr(_ xs: [Double]) -> Double? {
        guard xs.count > 1 else { return nil }
        let m = xs.reduce(0, +) / Double(xs.count)
        return (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1) / Double(xs.count)).squareRoot()
    }

    /// The prompt of question `i`: description, `shots` solved examples (the task's first questions other than
    /// this one, in file order), then the question's context.
    func prompt(_ t: EvaluationTask, _ i: Int) -> String {
        let shots = t.questions.indices.filter { $0 != i }.prefix(t.shots).map { k -> String in
            let q = t.questions[k]
            return q.context + t.targetDelimiter + q.choices[q.gold]
        }
        return t.description + (shots + [t.questions[i].context]).joined(separator: t.fewshotDelimiter)
    }

    public func run(_ t: EvaluationTask, limit: Int? = nil, progress: ((Int, Int) -> Void)? = nil) -> Report {
        var r = Report(task: t.name)
        let scorer = LogLikelihoodScorer(model: model)
        switch t.kind {
        case .multipleChoice:
            let n = min(limit ?? t.questions.count, t.questions.count)
            var acc: [Double] = [], accNorm: [Double] = []
            for i in 0..<n {
                let q = t.questions[i]
                let context = prompt(t, i)
                let pairs = q.choices.map { encodePair(tokenizer, context: context, continuation: t.targetDelimiter + $0) }
                // Every choice shares the context's ids when the tokenization splits cleanly there (the usual case):
                // prefill it once; otherwise score that choice with its own context.
                var lls = [Double](repeating: 0, count: pairs.count)
                let shared = pairs.indices.filter { pairs[$0].context == pairs[0].context }
                for (k, res) in zip(shared, scorer.score(context: pairs[0].context, continuations: shared.map { pairs[$0].continuation })) {
                    lls[k] = res.logLikelihood
                }
                for k in pairs.indices where !shared.contains(k) {
                    lls[k] = scorer.score(context: pairs[k].context, continuations: [pairs[k].continuation])[0].logLikelihood
                }
                let m = EvaluationMetrics.multipleChoice(logLikelihoods: lls, choices: q.choices.map { t.targetDelimiter + $0 }, gold: q.gold)
                acc.append(m.acc)
                accNorm.append(m.accNorm)
                let lj = lls.map { String(format: "%.6f", $0) }.joined(separator: ", ")
                r.samples.append("{\"doc\": \(i), \"line\": \(q.line), \"gold\": \(q.gold), \"loglikelihoods\": [\(lj)], \"acc\": \(m.acc), \"acc_norm\": \(m.accNorm)}")
                progress?(i + 1, n)
            }
            r.count = n
            r.metrics = [("acc", acc.reduce(0, +) / Double(max(n, 1)), Self.stderr(acc)),
                         ("acc_norm", accNorm.reduce(0, +) / Double(max(n, 1)), Self.stderr(accNorm))]
        case .perplexity:
            let docs = Array(t.documents.prefix(limit ?? t.documents.count))
            let prefix = Int32(tokenizer.bosID ?? tokenizer.eosID ?? 0)
            var ll = 0.0, tokens = 0, words = 0, bytes = 0
            for (i, d) in docs.enumerated() {
                let ids = tokenizer.encode(d, addBOS: false, parseSpecial: false).map { Int32($0) }
                let res = ids.isEmpty ? (logLikelihood: 0.0, tokens: 0) : scorer.rolling(ids, prefix: prefix, window: t.window, stride: t.stride)
                ll += res.logLikelihood
                tokens += res.tokens
                words += EvaluationMetrics.wordCount(d)
                bytes += d.utf8.count
                r.samples.append(String(format: "{\"doc\": %d, \"loglikelihood\": %.6f, \"tokens\": %d, \"bytes\": %d}", i, res.logLikelihood, res.tokens, d.utf8.count))
                progress?(i + 1, docs.count)
            }
            let p = EvaluationMetrics.perplexities(logLikelihood: ll, tokens: tokens, words: words, bytes: bytes)
            r.count = docs.count
            r.metrics = [("word_perplexity", p.wordPerplexity, nil), ("byte_perplexity", p.bytePerplexity, nil),
                         ("bits_per_byte", p.bitsPerByte, nil), ("token_perplexity", p.tokenPerplexity, nil)]
        }
        return r
    }
}
