import ArgumentParser
import DSData
import DSGeneration
import DSModel
import DSTensor
import DSTokenizer
import DSTraining
import Foundation

/// `dsllm train`: pre-training with the paper's recipe (AdamW β 0.9/0.95, wd 0.1, clip 1.0, init std 0.006,
/// multistep schedule), f32 or bf16 matrix products (--precision; f32 master weights either way), llm.c token
/// shards in sequential order, data parallel under mpirun. The command parses options and prepares data and model;
/// TrainingRun (DSTraining) runs the steps: metrics, validation, samples, background checkpoints, exact resume.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Pre-train a DeepSeek-architecture model on token shards (llm.c format, uint32 tokens).",
        discussion: """
            Writes into --out: metrics.jsonl (one object per optimizer step: step, loss, lr, grad_norm, tokens, seconds, tokens_per_s, mfu), \
            checkpoints step-NNNNNNNN/ (model.safetensors + config.json, optimizer.safetensors, state.json), keeping the \
            last --keep, and loss.svg (the loss curve, validation dashed). --resume continues from the newest checkpoint \
            in --out with identical results; a folder that already holds a run is refused unless --resume or --overwrite \
            is given. Checkpoints carry the tokenizer (tokenizer.json), so `generate --prompt` and `chat` load them.
            Your own text in one command: dsllm train --text notes.txt book.txt --out my-run (ingest, token shards with a \
            validation split, the tiny preset, one epoch; --train-tokenizer 4096 trains a vocabulary on the text first).
            """)

    @Option(help: "Model preset: tiny (4 × 256), small (8 × 512), deepseek-llm-7b, deepseek-llm-67b — or use --config (default with --text: tiny).") var preset: String?
    @Option(help: "An HF config.json for the model shape.") var config: String?
    @Option(parsing: .upToNextOption, help: "Token shard files (llm.c header, uint32 tokens).") var data: [String] = []
    @Option(parsing: .upToNextOption, help: "Train on these text or JSONL files instead of shards: ingested, tokenized into OUT/data with a validation split.")
    var text: [String] = []
    @Option(help: "With --text: train a BPE tokenizer of this many ids on the text (default: the embedded DeepSeek vocabulary or --tokenizer).")
    var trainTokenizer: Int?
    @Option(help: "With --text: fraction of the documents held out for validation.") var valFraction = 0.05
    @Option(help: "With --text: quality filters to run (gopher-quality, gopher-repetition, c4; default none: it is your text).")
    var textFilters: String?
    @Option(help: "Sequence length T.") var seqLen = 512
    @Option(help: "Sequences per forward/backward (B).") var microBatch = 4
    @Option(help: "Tokens per optimizer step (a multiple of micro-batch × seq-len; default one micro-batch).") var batchTokens: Int?
    @Option(help: "Peak learning rate.") var maxLR: Float = 4.2e-4
    @Option(help: "Optimizer steps (default with --text: one pass over the training tokens).") var steps: Int?
    @Option(help: "Tokens to train on (instead of --steps).") var tokens: Int?
    @Option(help: "Learning-rate schedule: multistep (the paper's), cosine or constant.") var schedule: LearningRateSchedule = .multistep
    @Option(help: "Warmup steps (default: 2000, or 10% of the steps when that is less).") var warmup: Int?
    @Option(help: "Seed for the initial weights.") var seed: UInt64 = 1
    @Option(help: "Standard deviation of the initial weights (the paper's 0.006 is for d_model 4096, ≈ 0.38/√d).") var initStd: Float = 0.006
    @Option(help: "Matrix-product precision: f32, or bf16 (operands rounded to bf16, f32 accumulation and master weights; oneDNN's bf16 GEMM on AMX / AVX512-BF16 CPUs).") var precision: TrainingPrecision = .f32
    @Flag(help: "Activation checkpointing: keep only each layer's input and recompute the layer's forward in the backward (about a third more compute; activation memory of one layer plus one row of inputs per layer — for long sequences).") var recompute = false
    @Option(help: "Data order: sequential (llm.c's).") var dataOrder: DataOrder = .sequential
    @Option(help: "Start from these weights (an HF directory or GGUF) instead of a random init.") var initFrom: String?
    @Option(parsing: .upToNextOption, help: "Validation shards (same format).") var valData: [String] = []
    @Option(help: "Validation loss every K steps (0: never; needs --val-data).") var valEvery = 0
    @Option(help: "Micro-batches per validation.") var valBatches = 4
    @Option(help: "Print a greedy sample every K steps and append it to samples.jsonl (0: never).") var sampleEvery = 0
    @Option(help: "Prompt of the samples.") var samplePrompt = "The"
    @Option(help: "Tokens per sample.") var sampleTokens = 32
    @OptionGroup var tokenizerOption: TokenizerOption
    @Option(help: "Run folder.") var out: String
    @Option(help: "Checkpoint every N steps (0: only at the end).") var checkpointEvery = 0
    @Option(help: "Checkpoints to keep.") var keep = 2
    @Flag(help: "Continue from the newest checkpoint in --out.") var resume = false
    @Flag(help: "Replace the run already in --out (its files are removed first).") var overwrite = false
    @Flag(help: "No progress lines while preparing --text data.") var quiet = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    /// The shape from --preset or --config; `vocabulary` (the tokenizer's, with --text) sizes the small presets.
    func modelConfig(vocabulary: Int? = nil) throws -> ModelConfig {
        if let preset = preset ?? (config == nil && !text.isEmpty ? "tiny" : nil) {
            if let c = ModelConfig.smallPreset(preset, vocabularySize: vocabulary ?? 102400, context: seqLen) { return c }
            guard let c = ModelConfig.presets[preset] else { throw CLIError("--preset \(preset): expected one of \(ModelConfig.presetNames.joined(separator: ", "))") }
            return c
        }
        guard let config else { throw CLIError("give --preset or --config") }
        do { return try ModelConfig.load(configJSON: config) } catch { throw CLIError(error.description) }
    }

    func run() throws {
        let parallel: DataParallel
        do { parallel = try DataParallel.start() } catch { throw CLIError("\(error)") }
        do {
            try train(parallel)
        } catch {
            guard parallel.size > 1 else { throw error }
            // One rank failing alone would leave the others blocked in a collective: stop the whole job.
            FileHandle.standardError.write(Data("rank \(parallel.rank): \(error)\n".utf8))
            parallel.abort(1)
        }
        parallel.finish()
    }

    func train(_ parallel: DataParallel) throws {
        let main = parallel.isMain
        guard data.isEmpty != text.isEmpty else { throw CLIError("give --data (token shards) or --text (text files), one of them") }
        guard text.isEmpty || parallel.size == 1 else { throw CLIError("--text prepares data in one process: run `dsllm train --text` once, then mpirun with --data OUT/data/shards/train-*.bin") }
        // The run folder first: an earlier run in it is refused before any work (nothing of it is touched).
        let intent = try checkTrainingRunFolder(out, resume: resume, overwrite: overwrite, checkpointFolders: [out], checkFolder: main)
        let textData = text.isEmpty ? nil : TextTrainingData(out: out)
        var filterKinds: [QualityFilterKind] = []
        for name in (textFilters ?? "").split(separator: ",") {
            guard let k = QualityFilterKind(rawValue: String(name)) else {
                throw CLIError("--text-filters: unknown filter \(name) (gopher-quality, gopher-repetition, c4)")
            }
            filterKinds.append(k)
        }
        // The tokenizer: trained on the text (its size known now, its ids after ingest), a resumed run's, or --tokenizer / embedded.
        var tok: Tokenizer? = nil
        if let textData, resume, FileManager.default.fileExists(atPath: textData.tokenizerPath) {
            do { tok = try Tokenizer.load(path: textData.tokenizerPath) } catch { throw CLIError("\(error)") }
        } else if trainTokenizer == nil && (textData != nil || sampleEvery > 0 || tokenizerOption.tokenizer != nil) {
            tok = try tokenizerOption.load()
        }
        var c = try modelConfig(vocabulary: textData == nil ? nil : (tok?.vocabularySize ?? trainTokenizer))
        let perMicro = microBatch * seqLen
        let stepTokens = batchTokens ?? perMicro
        guard stepTokens % perMicro == 0, stepTokens > 0 else {
            throw CLIError("--batch-tokens \(stepTokens) is not a multiple of micro-batch × seq-len (\(perMicro))")
        }
        guard steps != nil || tokens != nil || textData != nil else { throw CLIError("give --steps or --tokens") }
        // Given shards are checked first (mapped, nothing allocated): a wrong path is named before any other complaint.
        var givenStream: TokenStream? = nil
        if textData == nil {
            do { givenStream = try TokenStream(paths: data, vocabularySize: c.vocabularySize) } catch { throw CLIError(error.description) }
        }
        // Memory is checked before anything is allocated or written.
        try checkMemory(MemoryEstimate.training(c, microBatch: microBatch, seq: seqLen, bf16: precision == .bf16, optimizerShards: parallel.size,
                                                recompute: recompute),
                        hint: recompute ? "lower --micro-batch / --seq-len or choose a smaller model"
                                        : "lower --micro-batch / --seq-len, add --recompute, or choose a smaller model")
        if main { try makeRunFolder(out, intent: intent) }
        var (trainShards, validationShards) = (data, valData)
        if let textData {
            if resume, let shards = textData.existingShards() {
                (trainShards, validationShards) = shards
            } else {
                try textData.ingest(text, quiet: quiet)
                if !filterKinds.isEmpty { try textData.filter(filterKinds, quiet: quiet) }
                if let n = trainTokenizer { tok = try textData.trainTokenizer(vocabularySize: n, threads: threads ?? defaultThreadCount()) }
                (trainShards, validationShards) = try textData.tokenize(tok!, validationFraction: valFraction, quiet: quiet)
            }
            c = try modelConfig(vocabulary: tok!.vocabularySize)  // the small presets take the vocabulary's real size
            guard tok!.vocabularySize <= c.vocabularySize else {
                throw CLIError("--config: vocab_size \(c.vocabularySize) is smaller than the tokenizer's \(tok!.vocabularySize) ids")
            }
        }
        // Everything is checked before the first step: shards, vocabulary, config.
        let stream: TokenStream
        do { stream = try givenStream ?? TokenStream(paths: trainShards, vocabularySize: c.vocabularySize) } catch { throw CLIError("\(error)") }
        let batches: SequentialBatches
        do { batches = try SequentialBatches(stream: stream, seq: seqLen) } catch { throw CLIError(error.description) }
        let totalSteps = steps ?? tokens.map { max(1, $0 / stepTokens) } ?? max(1, stream.count / stepTokens)
        guard totalSteps > 0 else { throw CLIError("--steps must be at least 1") }
        if textData != nil {
            print("training: \(c.layerCount) layers × \(c.hiddenSize), vocabulary \(c.vocabularySize), \(totalSteps) steps of \(stepTokens) tokens (\(stream.count) training tokens)")
        }

        var sampler: (Tokenizer, [Int32])?
        if sampleEvery > 0, let tok {
            let ids = tok.encode(samplePrompt)
            guard !ids.isEmpty, let big = ids.max(), Int(big) < c.vocabularySize else {
                throw CLIError("--sample-prompt: its tokens (\(tok.source)) do not fit the model's vocabulary of \(c.vocabularySize)")
            }
            sampler = (tok, ids)
        }
        // Checkpoints are complete model folders when the tokenizer fits the model.
        let checkpointFiles = tok.map { $0.vocabularySize <= c.vocabularySize ? tokenizerFiles($0) : [:] } ?? [:]
        var o = Trainer.Options()
        o.microBatch = microBatch
        o.microBatches = stepTokens / perMicro
        o.seq = seqLen
        o.steps = totalSteps
        o.warmup = warmup ?? min(2000, totalSteps / 10)
        o.maxLR = maxLR
        o.schedule = schedule
        o.precision = precision
        o.recompute = recompute
        guard o.microBatches % parallel.size == 0 else {
            throw CLIError("\(o.microBatches) micro-batches per step do not divide among \(parallel.size) ranks (raise --batch-tokens)")
        }
        if parallel.size > 1 && main {
            print("data parallel: \(parallel.size) ranks × \(o.microBatches / parallel.size) micro-batches per step, optimizer state sharded (ZeRO-1)")
        }
        if precision == .bf16 && main {
            print(Gemm.hasNativeBF16 ? "bf16 products on oneDNN's bf16 GEMM"
                  : "bf16 products: this CPU has no bf16 GEMM (AMX / AVX512-BF16), so bf16-rounded operands run through the f32 GEMM (same numbers, no speed-up)")
        }
        if let threads { o.threads = threads }
        let slab = ParameterSlab(config: c)
        if let initFrom {
            let w: ModelWeights
            do { w = try ModelWeights.load(path: initFrom, numerics: .reference) } catch { throw CLIError(error.description) }
            do { try slab.load(w) } catch { throw CLIError("--init-from \(error)") }
        } else {
            slab.initialize(seed: seed, std: initStd)
        }
        let trainer = Trainer(slab: slab, data: batches, options: o, parallel: parallel)
        var validation: SequentialBatches?
        if !validationShards.isEmpty {
            let held: TokenStream
            do { held = try TokenStream(paths: validationShards, vocabularySize: c.vocabularySize) } catch { throw CLIError(error.description) }
            if textData != nil && held.count <= seqLen {
                // A small text's held-out part may not fill one sequence: train without validation rather than fail.
                if main { print("validation: \(held.count) held-out tokens cannot fill one sequence of \(seqLen) + 1; no validation loss (raise --val-fraction or lower --seq-len)") }
            } else {
                do { validation = try SequentialBatches(stream: held, seq: seqLen) } catch { throw CLIError(error.description) }
            }
        }
        let validateEvery = valEvery > 0 || textData == nil ? valEvery : max(1, totalSteps / 5)
        var r = TrainingRun.Options(out: out, title: "dsllm train — \(out)")
        r.checkpointEvery = checkpointEvery
        r.evaluateEvery = validateEvery
        r.sampleEvery = sampleEvery
        r.keep = keep
        r.resume = resume
        r.seed = seed
        r.checkpointFiles = checkpointFiles
        // MFU's denominator: the GEMM this precision runs through, measured now (~0.3 s), on rank 0 (it logs).
        var peak: Double?
        if main, let p = Gemm.measuredPeak(bf16: precision == .bf16, threads: o.threads) {
            peak = p
            print(String(format: "GEMM peak %.1f GFLOP/s (%@, %@, %d threads): MFU = (6 × non-embedding parameters + 6 × layers × width × seq) × tokens/s over it",
                         p / 1e9, precision == .bf16 && Gemm.hasNativeBF16 ? "bf16" : "f32", Gemm.backend, o.threads))
        }
        r.progress = .throughput(tokensPerStep: stepTokens, sequenceLength: seqLen, peakFLOPS: peak)
        // val_loss keeps its "%.7f" in metrics.jsonl; the measurement prints its own line, as it always has.
        var evaluation: TrainingRun.Evaluation?
        if let validation, validateEvery > 0 {
            evaluation = .init(format: "%.7f") {
                let v = trainer.validationLoss(validation, batches: valBatches)
                print(String(format: "step %d  validation loss %.4f", trainer.step, v))
                return [("val_loss", v)]
            }
        }
        let sampling = sampler.map { (tok, ids) in
            TrainingRun.Sampling(prompts: [samplePrompt]) { _ in greedySample(slab, tok, ids, maxTokens: sampleTokens, threads: threads) }
        }
        do { try TrainingRun(options: r, parallel: parallel).run(trainer, evaluation: evaluation, sampling: sampling) } catch {
            throw CLIError("\(error)")
        }
    }
}

/// `--data-order`: llm.c's sequential order is the one implemented (resume depends on it).
enum DataOrder: String, CaseIterable, ExpressibleByArgument {
    case sequential
}
