import ArgumentParser
import DSAlignment
import DSFormats
import DSGeneration
import DSModel
import DSTokenizer
import DSTraining
import Foundation

/// Options `dsllm sft` and `dsllm dpo` share: the starting model, the run folder, the optimizer and schedule.
struct AlignmentRunOptions: ParsableArguments {
    @Option(help: "Starting model: a directory (config.json + safetensors, e.g. a dsllm train checkpoint) or a .gguf.") var model: String
    @Option(help: "Tokenizer (.gguf, tokenizer.json or a directory; default: the model's own, else the embedded DeepSeek one).") var tokenizer: String?
    @Option(help: "Run folder: metrics.jsonl, loss.svg, samples.jsonl, checkpoints step-N/ (complete model folders), final → last.") var out: String
    @Option(help: "Epochs over the data.") var epochs: Int?
    @Option(help: "Peak learning rate.") var lr: Float?
    @Option(help: "Learning-rate schedule: cosine (to 0.1·peak), multistep or constant.") var schedule: LearningRateSchedule = .cosine
    @Option(help: "Warmup steps.") var warmup = 0
    @Option(help: "Tokens per row; longer examples are truncated (keep the start).") var maxLength = 512
    @Option(help: "Rows per forward/backward.") var microBatch = 4
    @Option(help: "AdamW weight decay (2-D matrices only).") var weightDecay: Float = 0.0
    @Option(help: "AdamW β2.") var beta2: Float = 0.95
    @Option(help: "Clip the global gradient norm to this.") var clip: Float = 1.0
    @Option(help: "Shuffling seed (epoch e uses seed + e).") var seed: UInt64 = 42
    @Option(help: "Checkpoint every N steps (0: only at the end).") var checkpointEvery = 0
    @Option(help: "Checkpoints to keep.") var keep = 2
    @Option(help: "Evaluate every N steps (with --eval-data; 0: only at the end).") var evalEvery = 0
    @Option(parsing: .singleValue, help: "A user message to answer greedily with the chat template before training and at each checkpoint (repeatable).") var samplePrompt: [String] = []
    @Option(help: "Tokens per sample.") var sampleTokens = 48
    @Flag(help: "Continue from the newest checkpoint in --out.") var resume = false
    @Flag(help: "Replace the run already in --out (its files are removed first).") var overwrite = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    /// The run-folder rule (see RunFolder) and the memory check, before any file is written: a folder holding a run
    /// is refused without --resume / --overwrite; --resume needs a finished checkpoint (in OUT, or OUT/stage1 for a
    /// two-stage SFT); the model's training memory must fit (`extraSlabs`: further model copies, e.g. DPO's --ref).
    func prepareRunFolder(checkpointFolders: [String], extraSlabs: Int = 0) throws {
        let intent = try checkTrainingRunFolder(out, resume: resume, overwrite: overwrite, checkpointFolders: checkpointFolders)
        let config: ModelConfig
        do { config = try ModelWeights.load(path: model, numerics: .reference).config } catch { throw CLIError("\(error)") }
        var estimate = MemoryEstimate.training(config, microBatch: microBatch, seq: maxLength, bf16: false)
        estimate.parts.append(("other model copies", extraSlabs * 4 * Int(MemoryEstimate.parameters(config))))
        try checkMemory(estimate, hint: "lower --micro-batch / --max-length")
        try makeRunFolder(out, intent: intent)
    }

    func base(epochs defaultEpochs: Int, lr defaultLR: Float) throws -> PostTrainingOptions {
        guard maxLength >= 8, microBatch >= 1 else { throw CLIError("--max-length must be ≥ 8 and --micro-batch ≥ 1") }
        var o = PostTrainingOptions()
        o.seq = maxLength
        o.microBatch = microBatch
        o.epochs = epochs ?? defaultEpochs
        o.maxLR = lr ?? defaultLR
        o.schedule = schedule
        o.warmup = warmup
        o.clip = clip
        o.adamw.weightDecay = weightDecay
        o.adamw.beta2 = beta2
        o.seed = seed
        if let threads { o.threads = threads }
        return o
    }

    /// --tokenizer, else the model's own (a corrupt one is an error naming where, never a silent fallback), else the
    /// embedded DeepSeek vocabulary.
    func loadTokenizer() throws -> Tokenizer {
        let option = try ModelOption.parse(["--model", model] + (tokenizer.map { ["--tokenizer", $0] } ?? []))
        if let t = try option.loadTokenizer() { return t }
        do { return try Tokenizer.embeddedDeepSeek() } catch { throw CLIError("\(error)") }
    }

    func loadSlab(_ path: String) throws -> ParameterSlab {
        do { return try ParameterSlab.loading(path) } catch { throw CLIError("\(error)") }
    }

    /// tokenizer.json + tokenizer_config.json to put into every checkpoint (when the tokenizer came from files).
    func tokenizerFiles() -> [String: Data] {
        var dir = tokenizer ?? model
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue { dir = (dir as NSString).deletingLastPathComponent }
        var files: [String: Data] = [:]
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            if let d = FileManager.default.contents(atPath: (dir as NSString).appendingPathComponent(name)) { files[name] = d }
        }
        return files
    }
}

/// The run loop both commands share: resume, metrics.jsonl, evaluation, samples, checkpoints, loss.svg.
struct AlignmentRun {
    let options: AlignmentRunOptions
    let out: String
    let title: String

    var metricsPath: String { (out as NSString).appendingPathComponent("metrics.jsonl") }

    func sample(_ slab: ParameterSlab, _ tok: Tokenizer, step: Int) {
        for prompt in options.samplePrompt {
            let ids = tok.encodeChat([ChatMessage(role: .user, content: prompt)], addGenerationPrompt: true)
            let text = greedySample(slab, tok, ids, maxTokens: options.sampleTokens, threads: options.threads)
            print("step \(step) sample: User: \(prompt) → Assistant:\(text.replacingOccurrences(of: "\n", with: "\\n"))")
            appendLine("{\"step\": \(step), \"prompt\": \(jsonQuoted(prompt)), \"text\": \(jsonQuoted(text))}\n",
                       to: (out as NSString).appendingPathComponent("samples.jsonl"))
        }
    }

    /// Runs `step()` until `total`, starting after `startStep`; `evaluate` gives extra metrics (eval loss) when due.
    func run(slab: ParameterSlab, optimizer: AdamW, tokenizer: Tokenizer, startStep: Int, total: Int, rowsPerStep: Int,
             step: () -> AlignmentStepRecord, evaluate: (() -> [(String, Double)])?) throws {
        if startStep == 0 {
            try? FileManager.default.removeItem(atPath: metricsPath)
            try? FileManager.default.removeItem(atPath: (out as NSString).appendingPathComponent("samples.jsonl"))
            sample(slab, tokenizer, step: 0)
            if let evaluate { print("before training: " + evaluate().map { String(format: "%@ %.4f", $0.0, $0.1) }.joined(separator: "  ")) }
        }
        if !FileManager.default.fileExists(atPath: metricsPath) { FileManager.default.createFile(atPath: metricsPath, contents: nil) }
        let metrics = try FileHandle(forWritingTo: URL(fileURLWithPath: metricsPath))
        metrics.seekToEndOfFile()
        var pending: Checkpoint.PendingWrite?
        let extra = options.tokenizerFiles()
        let start = Date()
        for _ in startStep..<total {
            let r = step()
            var fields = r.metrics
            let checkpointNow = (options.checkpointEvery > 0 && r.step % options.checkpointEvery == 0) || r.step == total
            if let evaluate, (options.evalEvery > 0 && r.step % options.evalEvery == 0) || r.step == total { fields += evaluate() }
            var line = String(format: "{\"step\": %d, \"loss\": %.7f, \"lr\": %.9g, \"grad_norm\": %.7f, \"tokens\": %d, \"seconds\": %.4f",
                              r.step, r.loss, r.lr, r.gradNorm, r.tokens, r.seconds)
            for (k, v) in fields { line += String(format: ", %@: %.7g", jsonQuoted(k), v) }
            metrics.write(Data((line + "}\n").utf8))
            let eta = Double(total - r.step) * Date().timeIntervalSince(start) / Double(max(r.step - startStep, 1))
            print(String(format: "step %d/%d  loss %.4f  lr %.3g  grad norm %.3f  %@  ETA %.0f s", r.step, total, r.loss, r.lr, r.gradNorm,
                         fields.map { String(format: "%@ %.4g", $0.0, $0.1) }.joined(separator: "  "), eta))
            if checkpointNow {
                sample(slab, tokenizer, step: r.step)
                try? LossCurve.write(metrics: metricsPath, title: title)
                pending?.wait()
                pending = Checkpoint.saveInBackground(slab, optimizer: optimizer,
                                                      state: .init(step: r.step, seed: options.seed, sequencesPerStep: rowsPerStep, seq: options.maxLength),
                                                      runDirectory: out, keep: options.keep, extraFiles: extra)
            }
        }
        pending?.wait()
        try metrics.close()
        if let last = Checkpoint.list(out).last {
            let link = (out as NSString).appendingPathComponent("final"), temp = link + ".tmp"
            try? FileManager.default.removeItem(atPath: temp)
            try FileManager.default.createSymbolicLink(atPath: temp, withDestinationPath: (last as NSString).lastPathComponent)
            guard rename(temp, link) == 0 else { throw CLIError("\(link): could not link the final checkpoint") }
            print("done: \(total) steps; model \(link) → \(last)")
        }
    }

    /// The step to continue after (0 for a fresh run); loads the newest checkpoint's weights and moments.
    func resumeStep(_ slab: ParameterSlab, _ optimizer: AdamW, rowsPerStep: Int) throws -> Int {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // No checkpoint on --resume happens only for the second SFT stage after a finished first one: it starts fresh.
        guard options.resume, let last = Checkpoint.list(out).last else { return 0 }
        let state: Checkpoint.State
        do { state = try Checkpoint.load(last, into: slab, optimizer: optimizer) } catch { throw CLIError("\(error)") }
        guard state.sequencesPerStep == rowsPerStep, state.seq == options.maxLength else {
            throw CLIError("\(last): checkpoint was made with \(state.sequencesPerStep) rows × \(state.seq) tokens per step")
        }
        try truncateMetrics(metricsPath, toStep: state.step)
        print("resumed from \(last) at step \(state.step)")
        return state.step
    }
}

/// A greedy continuation by the inference engine, reading the f32 master weights in place.
func greedySample(_ slab: ParameterSlab, _ tok: Tokenizer, _ prompt: [Int32], maxTokens: Int, threads: Int?) -> String {
    let weights = ModelWeights.borrowing(config: slab.config, source: "training", owner: slab) { UnsafePointer(slab.value($0)) }
    let model = Transformer(weights: weights, maxSequence: min(slab.config.maxPositions, prompt.count + maxTokens), threads: threads)
    var params = GenerateParameters.greedy(maxTokens: maxTokens)
    if let eos = tok.eosID { params.stopIDs = [eos] }
    let it = TokenIterator(model: model, tokenizer: tok, prompt: prompt, parameters: params)
    var text = ""
    for t in it { text += t.text }
    return text + it.flush()
}

func appendLine(_ line: String, to path: String) {
    if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
    guard let h = FileHandle(forWritingAtPath: path) else { return }
    h.seekToEndOfFile()
    h.write(Data(line.utf8))
    try? h.close()
}
