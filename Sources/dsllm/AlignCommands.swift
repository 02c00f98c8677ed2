import ArgumentParser
import DSAlignment
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
    @Flag(help: "Activation checkpointing: recompute each layer's forward in the backward (less memory for long rows, about a third more compute).") var recompute = false

    /// The run-folder rule (see RunFolder) and the memory check, before any file is written: a folder holding a run
    /// is refused without --resume / --overwrite; --resume needs a finished checkpoint (in OUT, or OUT/stage1 for a
    /// two-stage SFT); the model's training memory must fit (`extraSlabs`: further model copies, e.g. DPO's --ref).
    func prepareRunFolder(checkpointFolders: [String], extraSlabs: Int = 0) throws {
        let intent = try checkTrainingRunFolder(out, resume: resume, overwrite: overwrite, checkpointFolders: checkpointFolders)
        let config: ModelConfig
        do { config = try ModelWeights.load(path: model, numerics: .reference).config } catch { throw CLIError("\(error)") }
        var estimate = MemoryEstimate.training(config, microBatch: microBatch, seq: maxLength, bf16: false, recompute: recompute)
        estimate.parts.append(("other model copies", extraSlabs * 4 * Int(MemoryEstimate.parameters(config))))
        try checkMemory(estimate, hint: recompute ? "lower --micro-batch / --max-length" : "lower --micro-batch / --max-length, or add --recompute")
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
        o.recompute = recompute
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

    /// The run loop's options (TrainingRun, shared with `dsllm train`): checkpoints with the tokenizer in them,
    /// samples at each checkpoint, the starting model reported before the first step, OUT/final at the end.
    func runOptions(title: String) -> TrainingRun.Options {
        var o = TrainingRun.Options(out: out, title: title)
        o.checkpointEvery = checkpointEvery
        o.evaluateEvery = evalEvery
        o.sampleEvery = checkpointEvery
        o.keep = keep
        o.resume = resume
        o.seed = seed
        o.checkpointFiles = tokenizerFiles()
        o.reportStartingModel = true
        o.linkFinal = true
        o.progress = .metrics
        return o
    }

    /// Greedy replies to --sample-prompt, each a user message rendered with the chat template.
    func sampling(_ slab: ParameterSlab, _ tok: Tokenizer) -> TrainingRun.Sampling {
        TrainingRun.Sampling(prompts: samplePrompt, display: { "User: \($0) → Assistant:" }) { prompt in
            let ids = tok.encodeChat([ChatMessage(role: .user, content: prompt)], addGenerationPrompt: true)
            return greedySample(slab, tok, ids, maxTokens: sampleTokens, threads: threads)
        }
    }

    /// Runs `trainer` in --out (see TrainingRun); a checkpoint that does not fit is a CLI error.
    func train(_ trainer: some StepTrainer, tokenizer: Tokenizer, command: String, evaluation: TrainingRun.Evaluation?) throws {
        let run = TrainingRun(options: runOptions(title: "dsllm \(command) — \(out)"))
        do { try run.run(trainer, evaluation: evaluation, sampling: sampling(trainer.slab, tokenizer)) } catch { throw CLIError("\(error)") }
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
