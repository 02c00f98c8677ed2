import Foundation
import Testing

/// `dsllm eval` as a user runs it: perplexity agrees with `dsllm score`, multiple choice writes results and per-sample
/// logs, bad task files name the file and line.
@Suite struct EvalCLITests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DSAlignmentTests/Golden")
    var model: [String] { ["--model", Self.golden.appendingPathComponent("policy").path, "--tokenizer", Self.golden.appendingPathComponent("tokenizer.json").path] }

    func tempDir(_ name: String) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-eval-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    @Test func perplexityEqualsScoreAndMultipleChoiceWritesResults() throws {
        let dir = try tempDir("ok")
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("t.txt")
        try "The quick brown fox jumps over the lazy dog. A cat sat on the mat.".write(to: text, atomically: true, encoding: .utf8)
        let score = try runDSLLM(["score"] + model + ["--text-file", text.path, "--json"])
        #expect(score.status == 0, "\(score.err)")
        let ppl = (try JSONSerialization.jsonObject(with: Data(score.out.utf8)) as? [String: Any])?["ppl"] as? Double ?? -1
        try """
            {"context": "Question: What is the sky?\\nAnswer:", "choices": ["blue", "a very long and unlikely answer"], "gold": 0}
            {"context": "Question: 2 + 2?\\nAnswer:", "choices": ["4", "5", "22"], "gold": 0}
            """.write(to: dir.appendingPathComponent("mc.jsonl"), atomically: true, encoding: .utf8)
        try #"{"name": "mc", "type": "multiple_choice", "data": "mc.jsonl", "shots": 1}"#.write(to: dir.appendingPathComponent("mc.json"), atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("res.json")
        let r = try runDSLLM(["eval"] + model + ["--task", dir.appendingPathComponent("mc.json").path, "--text", text.path, "--out", out.path])
        #expect(r.status == 0, "\(r.err)")
        let res = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any]
        let results = res?["results"] as? [String: [String: Any]]
        let tokenPPL = results?["t.txt"]?["token_perplexity"] as? Double ?? 0
        #expect(abs(tokenPPL - ppl) < 1e-6 * ppl, "eval \(tokenPPL) vs score \(ppl)")
        let acc = results?["mc"]?["acc"] as? Double ?? -1
        #expect(results?["mc"]?["n"] as? Int == 2)
        let samples = try String(contentsOf: dir.appendingPathComponent("res.samples.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(samples.count == 3 && samples[0].contains("\"loglikelihoods\""))
        // The same accuracy computed another way: each choice's log-likelihood from whole-sequence `dsllm score`
        // runs (prompt + " " + choice, minus the prompt's prefix of it: lm-eval's rule), argmax against gold.
        let sky = "Question: What is the sky?\nAnswer:", sum = "Question: 2 + 2?\nAnswer:"
        let expected = try Self.independentAccuracy(model: model, tokenizer: Self.golden.appendingPathComponent("tokenizer.json").path, questions: [
            (sum + " 4\n\n" + sky, ["blue", "a very long and unlikely answer"], 0),  // 1 shot: the other question, solved
            (sky + " blue\n\n" + sum, ["4", "5", "22"], 0),
        ])
        #expect(acc == expected.acc, "eval acc \(acc), recomputed \(expected.acc) from \(expected.logLikelihoods)")
        for (k, lls) in expected.logLikelihoods.enumerated() {
            let logged = (try? JSONSerialization.jsonObject(with: Data(samples[k].utf8)) as? [String: Any])?["loglikelihoods"] as? [Double] ?? []
            #expect(logged.count == lls.count && zip(logged, lls).allSatisfy { abs($0 - $1) < 1e-3 }, "\(logged) vs \(lls)")
        }
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("res.md").path))
    }

    /// Accuracy of multiple-choice questions (full prompt, choices, gold) from `dsllm tokenize` and `dsllm score` only:
    /// log p(choice | prompt) = total NLL of the prompt's tokens − total NLL of prompt + " " + choice.
    static func independentAccuracy(model: [String], tokenizer: String, questions: [(prompt: String, choices: [String], gold: Int)])
        throws -> (acc: Double, logLikelihoods: [[Double]]) {
        func ids(_ text: String) throws -> [String] {
            let r = try runDSLLM(["tokenize", "--tokenizer", tokenizer, "--no-parse-special"], stdin: Array(text.utf8))
            #expect(r.status == 0, "\(r.err)")
            return r.out.split(whereSeparator: \.isWhitespace).map(String.init)
        }
        func totalNLL(_ ids: [String]) throws -> Double {
            let r = try runDSLLM(["score"] + model + ["--ids", ids.joined(separator: " "), "--json"])
            #expect(r.status == 0, "\(r.err)")
            let o = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
            return (o?["mean_nll"] as? Double ?? .nan) * Double(ids.count - 1)
        }
        var correct = 0
        var all: [[Double]] = []
        for q in questions {
            let promptCount = try ids(q.prompt).count
            let lls = try q.choices.map { choice -> Double in
                let whole = try ids(q.prompt + " " + choice)
                return try totalNLL(Array(whole[..<promptCount])) - totalNLL(whole)
            }
            all.append(lls)
            if lls.indices.max(by: { lls[$0] < lls[$1] }) == q.gold { correct += 1 }
        }
        return (Double(correct) / Double(questions.count), all)
    }

    @Test func badTaskFilesNameFileAndLine() throws {
        let dir = try tempDir("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "{\"context\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n{\"context\": \"q\", \"choices\": [\"a\"], \"gold\": 0}\n"
            .write(to: dir.appendingPathComponent("d.jsonl"), atomically: true, encoding: .utf8)
        try #"{"type": "multiple_choice", "data": "d.jsonl"}"#.write(to: dir.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
        var r = try runDSLLM(["eval"] + model + ["--task", dir.appendingPathComponent("t.json").path])
        #expect(r.status != 0 && r.err.contains("d.jsonl") && r.err.contains("line 2"), "\(r.err)")
        try #"{"type": "mystery", "data": "d.jsonl"}"#.write(to: dir.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
        r = try runDSLLM(["eval"] + model + ["--task", dir.appendingPathComponent("t.json").path])
        #expect(r.status != 0 && r.err.contains("t.json") && r.err.contains("\"type\""), "\(r.err)")
    }
}

/// Built-in tasks, --export and generation tasks through the CLI.
@Suite struct EvalCLIBuiltinTests {
    var model: [String] { EvalCLITests().model }

    @Test func listExportAndRunBuiltinTasks() throws {
        let dir = try EvalCLITests().tempDir("builtin")
        defer { try? FileManager.default.removeItem(at: dir) }
        let list = try runDSLLM(["eval", "--list"])
        #expect(list.status == 0 && list.out.contains("arithmetic-gsm\tgenerate_until") && list.out.contains("chat-repetition"), "\(list.err)")
        let ex = try runDSLLM(["eval", "--export", dir.path, "--limit", "5", "--task", "arithmetic-gsm", "--task", "chat-repetition"])
        #expect(ex.status == 0, "\(ex.err)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("lm-eval/dsllm_arithmetic_gsm.yaml").path))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("lm-eval/dsllm_chat_repetition.yaml").path))
        let lines = try String(contentsOf: dir.appendingPathComponent("arithmetic-gsm.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 5)
        // The exported file and the built-in name give the same results.
        let a = try runDSLLM(["eval"] + model + ["--task", dir.appendingPathComponent("arithmetic-gsm.json").path, "--out", dir.appendingPathComponent("a.json").path])
        let b = try runDSLLM(["eval"] + model + ["--task", "arithmetic-gsm", "--limit", "5", "--task", "chat-repetition", "--out", dir.appendingPathComponent("b.json").path])
        #expect(a.status == 0 && b.status == 0, "\(a.err) \(b.err)")
        let sa = try String(contentsOf: dir.appendingPathComponent("a.samples.jsonl"), encoding: .utf8).split(separator: "\n")
        let sb = try String(contentsOf: dir.appendingPathComponent("b.samples.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(sa.count == 5 && Array(sb.prefix(5)) == sa)
        #expect(sb.count == 10 && sb[9].contains("\"repetitive\""))
        #expect(b.out.contains("| arithmetic-gsm | 5 | exact_match |") && b.out.contains("repetition_ratio"))
    }

    @Test func badGenerationTaskFields() throws {
        let dir = try EvalCLITests().tempDir("badgen")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "{\"context\": \"q\", \"target\": \"a\"}\n{\"context\": \"q\"}\n".write(to: dir.appendingPathComponent("g.jsonl"), atomically: true, encoding: .utf8)
        try #"{"type": "generate_until", "data": "g.jsonl"}"#.write(to: dir.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
        var r = try runDSLLM(["eval"] + model + ["--task", dir.appendingPathComponent("t.json").path])
        #expect(r.status != 0 && r.err.contains("g.jsonl") && r.err.contains("line 2") && r.err.contains("target"), "\(r.err)")
        try #"{"type": "generate_until", "data": "g.jsonl", "filter": {"regex": "(unclosed"}}"#.write(to: dir.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
        r = try runDSLLM(["eval"] + model + ["--task", dir.appendingPathComponent("t.json").path])
        #expect(r.status != 0 && r.err.contains("t.json") && r.err.contains("regular expression"), "\(r.err)")
        try #"{"type": "generate_until", "data": "g.jsonl", "until": "\n"}"#.write(to: dir.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
        r = try runDSLLM(["eval"] + model + ["--task", dir.appendingPathComponent("t.json").path])
        #expect(r.status != 0 && r.err.contains("\"until\""), "\(r.err)")
        r = try runDSLLM(["eval"] + model + ["--task", "no-such-task"])
        #expect(r.status != 0 && r.err.contains("no-such-task") && r.err.contains("arithmetic-mc"), "\(r.err)")
    }
}
