import Foundation

/// lm-evaluation-harness's metrics, with its exact definitions.
public enum EvaluationMetrics {
    /// Multiple choice: `acc` = the choice with the highest log-likelihood is the gold one; `acc_norm` = the same
    /// after dividing each log-likelihood by the choice's length in characters (lm-eval: `len(choice)` on the
    /// Python string of `doc_to_choice`, i.e. Unicode code points, without the target delimiter that the scored
    /// continuation starts with). Ties go to the first choice (numpy argmax).
    public static func multipleChoice(logLikelihoods ll: [Double], choices: [String], gold: Int) -> (acc: Double, accNorm: Double) {
        precondition(ll.count == choices.count && !ll.isEmpty)
        func argmax(_ v: [Double]) -> Int { v.indices.reduce(0) { v[$1] > v[$0] ? $1 : $0 } }
        let norm = zip(ll, choices).map { $0 / Double(max($1.unicodeScalars.count, 1)) }
        return (argmax(ll) == gold ? 1 : 0, argmax(norm) == gold ? 1 : 0)
    }

    /// Perplexity-style summaries of a rolling log-likelihood: lm-eval's word_perplexity (exp(−LL / words)),
    /// byte_perplexity (exp(−LL / UTF-8 bytes)) and bits_per_byte (−LL / bytes / ln 2); `token_perplexity` too.
    public static func perplexities(logLikelihood ll: Double, tokens: Int, words: Int, bytes: Int)
        -> (wordPerplexity: Double, bytePerplexity: Double, bitsPerByte: Double, tokenPerplexity: Double) {
        (exp(-ll / Double(max(words, 1))), exp(-ll / Double(max(bytes, 1))), -ll / Double(max(bytes, 1)) / log(2.0),
         exp(-ll / Double(max(tokens, 1))))
    }

    /// Words as lm-eval counts them for word_perplexity: `len(re.split(r"\s+", doc))`.
    public static func wordCount(_ text: String) -> Int {
        // re.split on \s+ yields one more piece than there are whitespace runs (empty pieces at the ends count).
        var runs = 0, inRun = false
        for u in text.unicodeScalars {
            let ws = u.properties.isWhitespace
            if ws && !inRun { runs += 1 }
            inRun = ws
        }
        return runs + 1
    }

    /// The paper's repetition ratio (§5; 3868 prompts at temperature 0): the share of responses that never end and
    /// loop. "Never ends" = the generation hit its token limit without EOS; "loops" = `isRepetitive` on its tail
    /// (the paper states no exact loop test: this one, an n-gram of 2–20 tokens repeated 3 times at the very end, is ours).
    public static func repetitionRatio(_ generations: [(ids: [Int32], endedWithEOS: Bool)]) -> Double {
        guard !generations.isEmpty else { return 0 }
        let looping = generations.filter { !$0.endedWithEOS && isRepetitive($0.ids) }.count
        return Double(looping) / Double(generations.count)
    }

    /// Whether the last tokens of `ids` are an n-gram (n in minNGram…maxNGram) repeated `repeats` times in a row.
    public static func isRepetitive(_ ids: [Int32], minNGram: Int = 2, maxNGram: Int = 20, repeats: Int = 3) -> Bool {
        guard ids.count >= minNGram * repeats else { return false }
        for n in minNGram...max(minNGram, min(maxNGram, ids.count / repeats)) {
            let tail = ids.suffix(n * repeats)
            let unit = Array(tail.prefix(n))
            var all = true
            for k in 1..<repeats where Array(tail.dropFirst(k * n).prefix(n)) != unit { all = false; break }
            if all { return true }
        }
        return false
    }
    /// lm-eval's `exact_match` (HF evaluate's): each regex of `regexesToIgnore` is deleted from both strings (in
    /// order), then lowercasing and deleting Python's `string.punctuation` if asked; 1 when the results are equal.
    public static func exactMatch(_ prediction: String, _ reference: String, regexesToIgnore: [String] = [],
                                  ignoreCase: Bool = false, ignorePunctuation: Bool = false) -> Double {
        func clean(_ s: String) -> String {
            var s = s
            for pattern in regexesToIgnore { s = substitute(pattern, in: s, with: "") }
            if ignoreCase { s = s.lowercased() }
            if ignorePunctuation { s = String(s.unicodeScalars.filter { !pythonPunctuation.contains($0) }.map(Character.init)) }
            return s
        }
        return clean(prediction) == clean(reference) ? 1 : 0
    }

    static let pythonPunctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)

    /// Python's `re.sub(pattern, replacement, text)` for patterns without back-references in the replacement.
    static func substitute(_ pattern: String, in text: String, with replacement: String) -> String {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return text }
        return re.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text),
                                           withTemplate: NSRegularExpression.escapedTemplate(for: replacement))
    }

    /// lm-eval's RegexFilter on one response: `re.findall`, the `select`-th match (negative from the end), its
    /// first non-empty capture group (the whole match when the pattern has no groups), stripped; else `fallback`.
    public static func extract(_ response: String, filter: EvaluationTask.AnswerFilter) -> String {
        guard let re = try? NSRegularExpression(pattern: filter.regex) else { return filter.fallback }
        let ns = response as NSString
        let matches = re.matches(in: response, range: NSRange(location: 0, length: ns.length))
        let i = filter.select < 0 ? matches.count + filter.select : filter.select
        guard matches.indices.contains(i) else { return filter.fallback }
        let m = matches[i]
        var value: String
        if m.numberOfRanges <= 1 {
            value = ns.substring(with: m.range)
        } else {
            let groups = (1..<m.numberOfRanges).map { m.range(at: $0) }.filter { $0.location != NSNotFound }.map { ns.substring(with: $0) }
            if m.numberOfRanges == 2 {
                value = groups.first ?? ""
            } else {
                guard let first = groups.first(where: { !$0.isEmpty }) else { return filter.fallback }
                value = first
            }
        }
        return value.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
