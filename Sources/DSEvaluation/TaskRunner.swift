import DSModel
import DSTokenizer
import Foundation

/// Runs an `EvaluationTask` on a model: metrics as lm-eval names them, and one JSON line per sample.
public struct TaskRunner {
    public let model: Transformer
    public let tokenizer: Tokenizer
    /// Questions per scoring batch (packed into passes that fit the model's context); 1 = one at a time.
    public var batchSize: Int
    public init(model: Transformer, tokenizer: Tokenizer, batchSize: Int = 16) {
        self.model = model
        self.tokenizer = tokenizer
        self.batchSize = batchSize
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
            return q.context + t.targetDelimiter + (t.kind == .multipleChoice ? q.choices[q.gold] : q.target)
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
            // Requests: each question's choices grouped by their context ids (one group when the tokenization splits
            // cleanly at the context's end, the usual case), scored in packed batches of `batchSize` questions.
            var done = 0
            while done < n {
                let batch = done..<min(n, done + max(1, batchSize))
                var requests: [(context: [Int32], continuations: [[Int32]])] = []
                var place: [[(request: Int, slot: Int)]] = []
                for i in batch {
                    let q = t.questions[i]
                    let context = prompt(t, i)
                    let pairs = q.choices.map { encodePair(tokenizer, context: context, continuation: t.targetDelimiter + $0) }
                    var slots: [(Int, Int)] = []
                    var groups: [[Int32]: Int] = [:]
                    for p in pairs {
                        if let g = groups[p.context] {
                            slots.append((g, requests[g].continuations.count))
                            requests[g].continuations.append(p.continuation)
                        } else {
                            groups[p.context] = requests.count
                            slots.append((requests.count, 0))
                            requests.append((p.context, [p.continuation]))
                        }
                    }
                    place.append(slots)
                }
                let results = batchSize <= 1 && requests.count == 1
                    ? [scorer.score(context: requests[0].context, continuations: requests[0].continuations)]
                    : scorer.scoreBatch(requests)
                for (b, i) in batch.enumerated() {
                    let q = t.questions[i]
                    let lls = place[b].map { results[$0.0][$0.1].logLikelihood }
                    let m = EvaluationMetrics.multipleChoice(logLikelihoods: lls, choices: q.choices, gold: q.gold)
                    acc.append(m.acc)
                    accNorm.append(m.accNorm)
                    let lj = lls.map { String(format: "%.6f", $0) }.joined(separator: ", ")
                    r.samples.append("{\"doc\": \(i), \"line\": \(q.line), \"gold\": \(q.gold), \"loglikelihoods\": [\(lj)], \"acc\": \(m.acc), \"acc_norm\": \(m.accNorm)}")
                }
                done = batch.upperBound
                progress?(done, n)
            }
            r.count = n
            r.metrics = [("acc", acc.reduce(0, +) / Double(max(n, 1)), Self.stderr(acc)),
                         ("acc_norm", accNorm.reduce(0, +) / Double(max(n, 1)), Self.stderr(accNorm))]
        case .generateUntil:
            runGeneration(t, limit: limit, into: &r, progress: progress)
        case .repetition:
            runRepetition(t, limit: limit, into: &r, progress: progress)
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
