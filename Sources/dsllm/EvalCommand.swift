import ArgumentParser
import DSEvaluation
import DSFormats
import DSModel
import Foundation

/// `dsllm eval`: lm-evaluation-harness-style evaluation of a model on task files.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model as lm-evaluation-harness does: multiple choice (acc, acc_norm), generation (exact match), perplexity, repetition ratio.",
        discussion: """
            --task is a built-in task (arithmetic-mc, arithmetic-gsm, copy-mc, chat-repetition) or a task file (YAML in \
            JSON syntax) naming its data, e.g.
              {"name": "tiny-mc", "type": "multiple_choice", "data": "tiny-mc.jsonl", "shots": 0}
              data: {"context": "Question: …\\nAnswer:", "choices": ["yes", "no"], "gold": 0} per line
              {"name": "sums", "type": "generate_until", "data": "sums.jsonl", "until": ["\\n\\n"], "max_gen_toks": 32,
               "filter": {"regex": "#### (\\\\-?[0-9\\\\.\\\\,]+)"}, "regexes_to_ignore": [",", "(?s).*#### "]}
              data: {"context": "Question: …\\nAnswer:", "target": "… #### 12"} per line
              {"name": "ppl", "type": "perplexity", "data": "wiki.txt", "window": 512, "stride": 512}
              {"name": "rep", "type": "repetition", "data": "prompts.jsonl", "max_gen_toks": 512}   data: {"prompt": "…"}
            Scores follow lm-eval: log p(target_delimiter + choice | context), acc_norm divides by the choice's length \
            in characters; greedy generation until a stop string, regex extraction, exact_match; perplexity uses \
            lm-eval's rolling windows (stride = window) or overlapping ones. --export writes tasks as files and as \
            lm-eval YAML (docs/evaluation.md).
            """)
    @Option(help: ArgumentHelp("A model directory (config.json + *.safetensors or PyTorch .bin shards, as the deepseek-ai repos ship) or a .gguf file (default: models/default; not needed for --list, --export).", valueName: "path"))
    var model: String?
    @Option(help: ArgumentHelp("Tokenizer (.gguf, tokenizer.json or a directory) when the model ships none.", valueName: "path"))
    var tokenizer: String?
    @Option(parsing: .singleValue, help: "A task file (repeatable).") var task: [String] = []
    @Option(help: "Perplexity of a text file (a shortcut for a perplexity task).") var text: String?
    @Option(help: "At most N questions / documents per task.") var limit: Int?
    @Option(help: "Few-shot examples (overrides the task's \"shots\").") var shots: Int?
    @Option(help: "Window for perplexity (default: the model's context).") var window: Int?
    @Option(help: "Stride for perplexity (default: the window: lm-eval's rolling windows).") var stride: Int?
    @Option(help: "Write results here (JSON); a Markdown table goes beside it (.md) and per-sample logs (.samples.jsonl).") var out: String?
    @Option(help: "Worker threads.") var threads: Int?
    @Option(help: "Questions scored per batch: packed into passes that fit the model's context (1: one at a time).") var batchSize = 16
    @Option(help: "Write the tasks as dsllm task files and lm-evaluation-harness YAML (DIR/lm-eval) instead of evaluating.") var export: String?
    @Flag(help: "List the built-in tasks.") var list = false
    @OptionGroup var replacing: OverwriteOption

    /// Results already at --out (the JSON, its .md and .samples.jsonl) and a used --export folder are earlier work:
    /// kept unless --overwrite.
    func checkOutputs() throws {
        if let out {
            let base = out.hasSuffix(".json") ? String(out.dropLast(5)) : out
            for path in [out, base + ".md", base + ".samples.jsonl"] { try replacing.checkFile(path) }
        }
        if let export { try replacing.prepareFolder(export, dryRun: true) }
    }

    func run() throws {
        if list {
            for name in EvaluationTask.builtinNames {
                let t = EvaluationTask.builtin(name)!
                print("\(name)\t\(t.kind.rawValue)\t\(t.questions.count) questions\t\(t.shots) shots")
            }
            return
        }
        guard !task.isEmpty || text != nil else { throw CLIError("give --task NAME|FILE or --text FILE (built-in tasks: --list)") }
        var tasks: [EvaluationTask] = []
        for path in task {
            do { tasks.append(try EvaluationTask.load(path)) } catch { throw CLIError(error.description) }
        }
        try checkOutputs()
        if let export { return try exportTasks(tasks, to: export) }
        let modelOption = try ModelOption.parse(["--model", model ?? defaultModelPath()] + (tokenizer.map { ["--tokenizer", $0] } ?? []))
        let weights = try modelOption.loadWeights()
        let tokenizer = try modelOption.requireTokenizer(for: "eval")
        if let text {
            guard let s = try? String(contentsOfFile: text, encoding: .utf8) else { throw CLIError("\(text): cannot read (UTF-8)") }
            var t = EvaluationTask(name: (text as NSString).lastPathComponent, kind: .perplexity)
            t.documents = [s]
            tasks.append(t)
        }
        try checkInferenceMemory(weights.config, positions: weights.config.maxPositions, cache: .defaultFor(weights), hint: "the model's context is \(weights.config.maxPositions) tokens")
        let transformer = Transformer(weights: weights, threads: threads)
        let runner = TaskRunner(model: transformer, tokenizer: tokenizer, batchSize: batchSize)
        var reports: [TaskRunner.Report] = []
        for var t in tasks {
            if let shots { t.shots = shots }
            if let window { t.window = window }
            if let stride { t.stride = stride }
            let start = Date()
            let bar = ProgressBar(label: t.name)
            let unit = t.kind == .perplexity ? "docs" : "questions"
            let r = runner.run(t, limit: limit) { done, total in bar.update(done, of: total, unit: unit) }
            bar.finish(String(format: "%@: %d in %.1f s", t.name, r.count, Date().timeIntervalSince(start)))
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

    func exportTasks(_ tasks: [EvaluationTask], to dir: String) throws {
        try replacing.prepareFolder(dir)
        let lmDir = (dir as NSString).appendingPathComponent("lm-eval")
        try FileManager.default.createDirectory(atPath: lmDir, withIntermediateDirectories: true)
        let absolute = URL(fileURLWithPath: dir).standardizedFileURL.path
        for var t in tasks {
            if let shots { t.shots = shots }
            if let limit { t.questions = Array(t.questions.prefix(limit)); t.documents = Array(t.documents.prefix(limit)) }
            let dataPath = (absolute as NSString).appendingPathComponent(t.name + ".jsonl")
            let files = t.exported(dataPath: dataPath)
            try writeAtomically(Data(files.taskFile.utf8), to: (dir as NSString).appendingPathComponent(t.name + ".json"))
            try writeAtomically(Data(files.data.utf8), to: dataPath)
            if let yaml = files.lmEvalYAML {
                try writeAtomically(Data(yaml.utf8), to: (lmDir as NSString).appendingPathComponent(t.lmEvalName + ".yaml"))
            }
            print("\(t.name): \(dir)/\(t.name).json" + (files.lmEvalYAML != nil ? ", lm-eval task \(t.lmEvalName) in \(lmDir)" : " (no lm-eval equivalent)"))
        }
    }
}
