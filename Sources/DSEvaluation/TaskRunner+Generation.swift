import DSFormats
import DSGeneration
import DSModel
import DSTokenizer
import Foundation

extension TaskRunner {
    /// generate_until as lm-eval runs it: the few-shot prompt (no BOS), left-truncated to leave `max_gen_toks`
    /// of room; greedy decoding until a stop string (`until`, default the few-shot delimiter), end of sequence or
    /// `max_gen_toks`; the answer filter (regex extraction) if any; `exact_match` against the target.
    func runGeneration(_ t: EvaluationTask, limit: Int?, into r: inout Report, progress: ((Int, Int) -> Void)?) {
        let n = min(limit ?? t.questions.count, t.questions.count)
        var scores: [Double] = []
        for i in 0..<n {
            let q = t.questions[i]
            var ids = tokenizer.encode(prompt(t, i), addBOS: false, parseSpecial: false).map { Int32($0) }
            let room = max(1, model.maxSequence - t.maxGenTokens)
            if ids.count > room { ids = Array(ids.suffix(room)) }
            if ids.isEmpty { ids = [Int32(tokenizer.bosID ?? tokenizer.eosID ?? 0)] }
            var p = GenerateParameters.greedy(maxTokens: t.maxGenTokens)
            p.stop = t.stopSequences
            let (text, _, _) = generate(ids, p)
            let answer = t.filter.map { EvaluationMetrics.extract(text, filter: $0) } ?? text
            let em = EvaluationMetrics.exactMatch(answer, q.target, regexesToIgnore: t.regexesToIgnore,
                                                  ignoreCase: t.ignoreCase, ignorePunctuation: t.ignorePunctuation)
            scores.append(em)
            r.samples.append(JSONOut.object([("doc", .int(i)), ("line", .int(q.line)), ("prompt_tokens", .int(ids.count)),
                                             ("response", .string(text)), ("filtered", .string(answer)), ("target", .string(q.target)),
                                             ("exact_match", .number(em))]).text(layout: .spaced))
            progress?(i + 1, n)
        }
        r.count = n
        r.metrics = [("exact_match", scores.reduce(0, +) / Double(max(n, 1)), Self.stderr(scores))]
    }

    /// The paper's repetition ratio: each prompt through the chat template, greedy decoding for up to
    /// `max_gen_toks` tokens; a response that never reaches end of sequence and ends in a loop counts as repetitive.
    func runRepetition(_ t: EvaluationTask, limit: Int?, into r: inout Report, progress: ((Int, Int) -> Void)?) {
        let n = min(limit ?? t.questions.count, t.questions.count)
        var generations: [(ids: [Int32], endedWithEOS: Bool)] = []
        for i in 0..<n {
            let q = t.questions[i]
            var ids = tokenizer.encodeChat(q.messages).map { Int32($0) }
            let room = max(1, model.maxSequence - t.maxGenTokens)
            if ids.count > room { ids = Array(ids.suffix(room)) }
            let (text, out, eos) = generate(ids, .greedy(maxTokens: t.maxGenTokens))
            generations.append((out, eos))
            let looping = !eos && EvaluationMetrics.isRepetitive(out)
            r.samples.append(JSONOut.object([("doc", .int(i)), ("line", .int(q.line)), ("response", .string(text)), ("tokens", .int(out.count)),
                                             ("ended", .bool(eos)), ("repetitive", .bool(looping))]).text(layout: .spaced))
            progress?(i + 1, n)
        }
        r.count = n
        let ended = generations.map { $0.endedWithEOS ? 1.0 : 0.0 }
        let looping = generations.map { !$0.endedWithEOS && EvaluationMetrics.isRepetitive($0.ids) ? 1.0 : 0.0 }
        r.metrics = [("repetition_ratio", EvaluationMetrics.repetitionRatio(generations), Self.stderr(looping)),
                     ("eos_rate", ended.reduce(0, +) / Double(max(n, 1)), Self.stderr(ended)),
                     ("mean_tokens", Double(generations.map(\.ids.count).reduce(0, +)) / Double(max(n, 1)), nil)]
    }

    /// Greedy generation from a fresh cache: the visible text (stop strings cut), the generated ids (an end-of-
    /// sequence id excluded) and whether generation ended with end of sequence.
    func generate(_ prompt: [Int32], _ parameters: GenerateParameters) -> (text: String, ids: [Int32], endedWithEOS: Bool) {
        model.reset()
        let it = TokenIterator(model: model, tokenizer: tokenizer, prompt: prompt, parameters: parameters)
        var text = ""
        while let tok = it.next() { text += tok.text }
        text += it.flush()
        var ids = it.generated
        let eos = tokenizer.eosID.map { Int32($0) }
        let endedWithEOS = ids.last != nil && ids.last == eos
        if endedWithEOS { ids.removeLast() }
        return (text, ids, endedWithEOS)
    }
}
