@testable import DSEvaluation
import DSFormats
import DSModel
import DSTokenizer
import Foundation
import Testing

/// Generation tasks, answer extraction, exact match, packed (batched) scoring and task export.
@Suite struct GenerationTaskTests {
    @Test func regexFilterFollowsLmEvalRegexFilter() {
        let gsm = EvaluationTask.AnswerFilter(regex: "#### (\\-?[0-9\\.\\,]+)")
        #expect(EvaluationMetrics.extract("3 + 4 = 7.\n#### 7", filter: gsm) == "7")
        #expect(EvaluationMetrics.extract("#### 1,200 and #### 5", filter: gsm) == "1,200")        // the first match
        #expect(EvaluationMetrics.extract("no answer here", filter: gsm) == "[invalid]")
        var last = gsm
        last.select = -1
        #expect(EvaluationMetrics.extract("#### 1,200 and #### 5", filter: last) == "5")
        // No capture group: the whole match; several groups: the first non-empty one; result stripped.
        #expect(EvaluationMetrics.extract("x = 42 ", filter: .init(regex: "[0-9]+ ")) == "42")
        #expect(EvaluationMetrics.extract("B", filter: .init(regex: "(A)|(B)")) == "B")
    }

    @Test func exactMatchAsHFEvaluate() {
        let gsmIgnore = [",", "\\$", "(?s).*#### ", "\\.$"]
        // GSM8K: the target's worked answer is deleted up to "#### ", commas and a final period too.
        #expect(EvaluationMetrics.exactMatch("1,200", "She has 3 + 4.\n#### 1200", regexesToIgnore: gsmIgnore) == 1)
        #expect(EvaluationMetrics.exactMatch("$7.", "#### 7", regexesToIgnore: gsmIgnore) == 1)
        #expect(EvaluationMetrics.exactMatch("8", "#### 7", regexesToIgnore: gsmIgnore) == 0)
        #expect(EvaluationMetrics.exactMatch("Paris", "paris") == 0)
        #expect(EvaluationMetrics.exactMatch("Paris", "paris", ignoreCase: true) == 1)
        #expect(EvaluationMetrics.exactMatch("it's (fine)!", "its fine", ignorePunctuation: true) == 1)
        #expect(EvaluationMetrics.exactMatch("a b", "ab", ignorePunctuation: true) == 0)   // spaces are not punctuation
    }

    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DSAlignmentTests/Golden")
    static let weights = try! ModelWeights.load(path: golden.appendingPathComponent("policy").path)
    static let tokenizer = try! Tokenizer.load(path: golden.appendingPathComponent("tokenizer.json").path)
    /// A fresh model per test (tests run in parallel; a Transformer holds its cache).
    static var model: (Transformer, Tokenizer) { (Transformer(weights: weights, threads: 1), tokenizer) }

    @Test func generationTaskScoresTheGreedyAnswer() {
        let (model, tokenizer) = Self.model
        let runner = TaskRunner(model: model, tokenizer: tokenizer)
        // The model's own greedy continuation (cut at the first newline) is the target of question 0; question 1
        // gets a target it does not produce. exact_match must be exactly 0.5, and the logged response must be the
        // greedy text.
        var t = EvaluationTask(name: "g", kind: .generateUntil)
        t.until = ["\n"]
        t.maxGenTokens = 8
        t.questions = [.init(context: "The cat", line: 1), .init(context: "A dog", target: "certainly not this", line: 2)]
        let ids = tokenizer.encode("The cat", addBOS: false, parseSpecial: false).map { Int32($0) }
        let greedy = model.greedy(prompt: ids, count: 8)
        let untilEOS = greedy.prefix { $0 != Int32(tokenizer.eosID ?? -1) }.map { Int($0) }
        let text = (try? tokenizer.decode(untilEOS.map { TokenID($0) })) ?? ""
        let cut = text.components(separatedBy: "\n")[0]
        t.questions[0].target = cut
        let r = runner.run(t)
        #expect(r.metrics.first { $0.name == "exact_match" }?.value == 0.5, "\(r.samples)")
        #expect(r.samples[0].contains(jsonQuoted(cut)))
    }

    @Test func repetitionTaskCountsLoopingResponses() {
        let (model, tokenizer) = Self.model
        var t = EvaluationTask(name: "rep", kind: .repetition)
        t.maxGenTokens = 24
        for p in ["Hello", "What is AI?", "Tell me a story."] {
            var q = EvaluationTask.Question(context: "")
            q.messages = [ChatMessage(role: .user, content: p)]
            t.questions.append(q)
        }
        let r = TaskRunner(model: model, tokenizer: tokenizer).run(t)
        // The ratio is the share of logged responses that neither ended nor stopped looping.
        let repetitive = r.samples.filter { $0.contains("\"repetitive\": true") }.count
        #expect(r.metrics[0].name == "repetition_ratio" && r.metrics[0].value == Double(repetitive) / 3)
        let ended = r.samples.filter { $0.contains("\"ended\": true") }.count
        #expect(r.metrics[1].value == Double(ended) / 3 && r.count == 3)
    }

    @Test func packedBatchEqualsOneAtATime() {
        let (model, tokenizer) = Self.model
        let scorer = LogLikelihoodScorer(model: model)
        let requests: [(context: [Int32], continuations: [[Int32]])] = [
            ([5, 17, 200, 3], [[7], [30, 31, 32], [44, 9]]),
            ([9, 9], [[1, 2, 3, 4], []]),
            ([100, 101, 102, 103, 104, 105], [[6, 7], [8]]),
        ]
        _ = tokenizer
        for perPass in [1, 2, .max] {
            let packed = scorer.scoreBatch(requests, maxRequestsPerPass: perPass)
            for (r, got) in zip(requests, packed) {
                let alone = scorer.score(context: r.context, continuations: r.continuations)
                for (a, b) in zip(alone, got) {
                    #expect(abs(a.logLikelihood - b.logLikelihood) < 1e-4 && a.isGreedy == b.isGreedy && a.tokens == b.tokens,
                            "\(perPass): \(a) vs \(b)")
                }
            }
        }
    }

    @Test func exportedTasksLoadBackAndLmEvalYAMLNamesTheColumns() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-export-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in EvaluationTask.builtinNames {
            let t = EvaluationTask.builtin(name)!
            let data = dir.appendingPathComponent(name + ".jsonl").path
            let files = t.exported(dataPath: data)
            try files.taskFile.write(toFile: dir.appendingPathComponent(name + ".json").path, atomically: true, encoding: .utf8)
            try files.data.write(toFile: data, atomically: true, encoding: .utf8)
            let back = try EvaluationTask.load(dir.appendingPathComponent(name + ".json").path)
            #expect(back.kind == t.kind && back.questions.count == t.questions.count && back.shots == t.shots)
            #expect(back.questions.map(\.context) == t.questions.map(\.context) && back.questions.map(\.target) == t.questions.map(\.target))
            #expect(back.questions.map(\.choices) == t.questions.map(\.choices) && back.questions.map(\.gold) == t.questions.map(\.gold))
            #expect(back.questions.map { $0.messages.map(\.content) } == t.questions.map { $0.messages.map(\.content) })
            #expect(back.stopSequences == t.stopSequences && back.filter?.regex == t.filter?.regex && back.regexesToIgnore == t.regexesToIgnore)
            if let yaml = files.lmEvalYAML {
                let o = try JSONSerialization.jsonObject(with: Data(yaml.utf8)) as? [String: Any]
                #expect(o?["doc_to_text"] as? String == "context" && o?["task"] as? String == t.lmEvalName)
                #expect(o?["num_fewshot"] as? Int == t.shots)
            } else {
                #expect(t.kind == .repetition)
            }
        }
    }

    @Test func builtinTasksAreWellFormedAndStable() {
        let mc = EvaluationTask.builtin("arithmetic-mc")!
        #expect(mc.questions.count == 200 && mc.questions.allSatisfy { Set($0.choices).count == $0.choices.count })
        // The right answer is the gold choice.
        let q = mc.questions[0]
        let parts = q.context.split(separator: " ")
        let a = Int(parts[3])!, b = Int(parts[5].dropLast(9))!
        #expect(Int(q.choices[q.gold]) == a + b)
        // Seeded: the same on every run and machine. Checked against values computed once and written here (a
        // change of generator, seed or Swift's shuffle fails it), not against a second call of the same builder.
        let copy = EvaluationTask.builtin("copy-mc")!
        #expect(copy.questions.count == 200)
        #expect(copy.questions[0].context == Self.expectedFirstCopyContext && copy.questions[0].choices == Self.expectedFirstCopyChoices
                && copy.questions[0].gold == Self.expectedFirstCopyGold, "\(copy.questions[0])")
        for (name, expected) in Self.expectedBuiltinFingerprints {
            let got = Self.fingerprint(EvaluationTask.builtin(name)!)
            #expect(got == expected, "\(name): fingerprint \(String(got, radix: 16)), expected \(String(expected, radix: 16))")
        }
        let gsm = EvaluationTask.builtin("arithmetic-gsm")!
        #expect(gsm.questions.allSatisfy { EvaluationMetrics.exactMatch(EvaluationMetrics.extract($0.target, filter: gsm.filter!), $0.target, regexesToIgnore: gsm.regexesToIgnore) == 1 })
    }

    /// FNV-1a (64-bit) over every question's context, choices, gold and target, fields separated by 0x1F, choices by
    /// 0x1E, questions ended by "\n". The constants below were computed once outside Swift: the same FNV-1a in Python
    /// over the JSONL that `dsllm eval --export DIR --task NAME` wrote (a missing gold is 0, a missing target "").
    static func fingerprint(_ t: EvaluationTask) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for q in t.questions {
            let record = q.context + "\u{1F}" + q.choices.joined(separator: "\u{1E}") + "\u{1F}\(q.gold)\u{1F}" + q.target + "\n"
            for b in record.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        return h
    }

    static let expectedFirstCopyContext = "ship window river coat mirror horse stone letter\nship window"
    static let expectedFirstCopyChoices = ["river", "ship", "window", "mirror"]
    static let expectedFirstCopyGold = 0
    static let expectedBuiltinFingerprints: [(String, UInt64)] = [
        ("arithmetic-mc", 0x554F_2D9C_9CA4_4CC0), ("arithmetic-gsm", 0x444D_D59A_95C6_6BFC), ("copy-mc", 0xDD9A_58D3_4E85_77F1),
    ]
}
