import ArgumentParser
import DSEvaluation
import DSFormats
import DSModel
import Foundation

/// `dsllm eval`: lm-evaluation-harness-style evaluation of a model on task files.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model: multiple choice (acc, acc_norm) and perplexity (word/byte perplexity, bits per byte).",
        discussion: """
            --task is a task file (YAML in JSON syntax) naming its data, e.g.
              {"name": "tiny-mc", "type": "multiple_choice", "data": "tiny-mc.jsonl", "shots": 0}
              data: {"context": "Question: …\\nAnswer:", "choices": ["yes", "no"], "gold": 0} per line
              {"name": "ppl", "type": "perplexity", "data": "wiki.txt", "window": 512, "stride": 512}
            Scores follow lm-eval: log p(target_delimiter + choice | context), acc_norm divides by the choice's length \
            in characters; perplexity uses lm-eval's rolling windows (stride = window) or overlapping ones.
            """)
    @OptionGroup var modelOption: ModelOption
    @Option(parsing: .singleValue, help: "A task file (repeatable).") var task: [String] = []
    @Option(help: "Perplexity of a text file (a shortcut for a perplexity task).") var text: String?
    @Option(help: "At most N questions / documents per task.") var limit: Int?
    @Option(help: "Few-shot examples (overrides the task's \"shots\").") var shots: Int?
    @Option(help: "Window for perplexity (default: the model's context).") var window: Int?
    @Option(help: "Stride for perplexity (default: the window: lm-eval's rolling windows).") var stride: Int?
    @Option(help: "Write results here (JSON); a Markdown table goes beside it (.md) and per-sample logs (.samples.jsonl).") var out: String?
    @Option(help: "Worker threads.") var threads: Int?

    func run() throws {
        guard !task.isEmpty || text != nil else { throw CLIError("give --task FILE or --text FILE") }
        let weights = try modelOption.loadWeights()
        guard let tokenizer = modelOption.loadTokenizer() else { throw CLIError("\(modelOption.model): no tokenizer found; give --tokenizer") }
        var tasks: [EvaluationTask] = []
        for path in task {
            do { tasks.append(try EvaluationTask.load(path)) } catch { throw CLIError(error.description) }
        }
        if let text {
            guard let s = try? String(contentsOfFile: text, encoding: .utf8) else { throw CLIError("\(text): cannot read (UTF-8)") }
            var t = EvaluationTask(name: (text as NSString).lastPathComponent, kind: .perplexity)
            t.documents = [s]
            tasks.append(t)
        }
        let model = Transformer(weights: weights, threads: threads)
        let runner = TaskRunner(model: model, tokenizer: tokenizer)
        var reports: [TaskRunner.Report] = []
        for var t in tasks {
            if let shots { t.shots = shots }
            if let window { t.window = window }
            if let stride { t.stride = stride }
            let start = Date()
            let r = runner.run(t, limit: limit) { done, total in
                FileHandle.standardError.write(Data("\r\(t.name): \(done)/\(total)".utf8))
            }
            FileHandle.standardError.write(Data(String(format: "\r%@: %d in %.1f s\n", t.name, r.count, Date().timeIntervalSince(start)).utf8))
            reports.append(r)
        }
        var md = "| task | n | metric | value | ± stderr |\n|---|---:|---|---:|---:|\n"
        var json = "{\"model\": \(jsonQuoted(modelOption.model)), \"results\": {"
        for (i, r) in reports.enumerated() {
            json += (i > 0 ? ", " : "") + "\(jsonQuoted(r.task)): {\"n\": \(r.count)"
            for m in r.metrics {
                md += "| \(r.task) | \(r.count) | \(m.name) | \(String(format: "%.4f", m.value)) | \(m.stderr.map { String(format: "%.4f", $0) } ?? "") |\n"
                json += ", \(jsonQuoted(m.name)): \(m.value)" + (m.stderr.map { ", \(jsonQuoted(m.name + "_stderr")): \($0)" } ?? "")
            }
            json += "}"
        }
        json += "}}\n"
        print(md, terminator: "")
        if let out {
            try writeAtomically(Data(json.utf8), to: out)
            let base = out.hasSuffix(".json") ? String(out.dropLast(5)) : out
            try writeAtomically(Data(md.utf8), to: base + ".md")
            let samples = reports.flatMap { r in r.samples.map { "{\"task\": \(jsonQuoted(r.task)), " + $0.dropFirst() } }.joined(separator: "\n")
            try writeAtomically(Data((samples + "\n").utf8), to: base + ".samples.jsonl")
            print("results: \(out), \(base).md, \(base).samples.jsonl")
        }
    }
}
