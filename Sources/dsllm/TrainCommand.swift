import ArgumentParser
import DSFormats
import DSGeneration
import DSModel
import DSTensor
import DSTokenizer
import DSTraining
import Foundation

/// `dsllm train`: pre-training with the paper's recipe (AdamW β 0.9/0.95, wd 0.1, clip 1.0, init std 0.006,
/// multistep schedule), f32 for now, llm.c token shards in sequential order, background checkpoints, exact resume.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Pre-train a DeepSeek-architecture model on token shards (llm.c format, uint32 tokens).",
        discussion: """
            Writes into --out: metrics.jsonl (one object per optimizer step: step, loss, lr, grad_norm, tokens, seconds), \
            checkpoints step-NNNNNNNN/ (model.safetensors + config.json, optimizer.safetensors, state.json), keeping the \
            last --keep, and loss.svg (the loss curve, validation dashed). --resume continues from the newest checkpoint \
            in --out with identical results.
            """)

    @Option(help: "Model preset (deepseek-llm-7b, deepseek-llm-67b) — or use --config.") var preset: String?
    @Option(help: "An HF config.json for the model shape.") var config: String?
    @Option(parsing: .upToNextOption, help: "Token shard files (llm.c header, uint32 tokens).") var data: [String]
    @Option(help: "Sequence length T.") var seqLen = 512
    @Option(help: "Sequences per forward/backward (B).") var microBatch = 4
    @Option(help: "Tokens per optimizer step (a multiple of micro-batch × seq-len; default one micro-batch).") var batchTokens: Int?
    @Option(help: "Peak learning rate.") var maxLR: Float = 4.2e-4
    @Option(help: "Optimizer steps.") var steps: Int?
    @Option(help: "Tokens to train on (instead of --steps).") var tokens: Int?
    @Option(help: "multistep (the paper's), cosine or constant.") var schedule = "multistep"
    @Option(help: "Warmup steps.") var warmup = 2000
    @Option(help: "Seed for the initial weights.") var seed: UInt64 = 1
    @Option(help: "Standard deviation of the initial weights (the paper's 0.006 is for d_model 4096, ≈ 0.38/√d).") var initStd: Float = 0.006
    @Option(help: "Matrix-product precision: f32, or bf16 (operands rounded to bf16, f32 accumulation and master weights; oneDNN's bf16 GEMM on AMX / AVX512-BF16 CPUs).") var precision = "f32"
    @Option(help: "Data order: sequential (llm.c's).") var dataOrder = "sequential"
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
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func modelConfig() throws -> ModelConfig {
        if let preset {
            guard let c = ModelConfig.presets[preset] else { throw CLIError("--preset \(preset): expected \(ModelConfig.presets.keys.sorted())") }
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
        guard let prec = TrainingPrecision(rawValue: precision) else { throw CLIError("--precision must be f32 or bf16") }
        guard dataOrder == "sequential" else { throw CLIError("--data-order \(dataOrder): only sequential is implemented so far") }
        guard let sched = LearningRateSchedule(rawValue: schedule) else { throw CLIError("--schedule must be multistep, cosine or constant") }
        let c = try modelConfig()
        let perMicro = microBatch * seqLen
        let stepTokens = batchTokens ?? perMicro
        guard stepTokens % perMicro == 0, stepTokens > 0 else {
            throw CLIError("--batch-tokens \(stepTokens) is not a multiple of micro-batch × seq-len (\(perMicro))")
        }
        let totalSteps = steps ?? tokens.map { max(1, $0 / stepTokens) } ?? 0
        guard totalSteps > 0 else { throw CLIError("give --steps or --tokens") }
        // Everything is checked before the first step: shards, vocabulary, config.
        let stream: TokenStream
        do { stream = try TokenStream(paths: data, vocabularySize: c.vocabularySize) } catch { throw CLIError(error.description) }
        let batches: SequentialBatches
        do { batches = try SequentialBatches(stream: stream, seq: seqLen) } catch { throw CLIError(error.description) }

        var sampler: (Tokenizer, [Int32])?
        if sampleEvery > 0 {
            let tok = try tokenizerOption.load()
            let ids = tok.encode(samplePrompt)
            guard !ids.isEmpty, let big = ids.max(), Int(big) < c.vocabularySize else {
                throw CLIError("--sample-prompt: its tokens (\(tok.source)) do not fit the model's vocabulary of \(c.vocabularySize)")
            }
            sampler = (tok, ids)
        }
        var o = Trainer.Options()
        o.microBatch = microBatch
        o.microBatches = stepTokens / perMicro
        o.seq = seqLen
        o.steps = totalSteps
        o.warmup = warmup
        o.maxLR = maxLR
        o.schedule = sched
        o.precision = prec
        guard o.microBatches % parallel.size == 0 else {
            throw CLIError("\(o.microBatches) micro-batches per step do not divide among \(parallel.size) ranks (raise --batch-tokens)")
        }
        if parallel.size > 1 && main {
            print("data parallel: \(parallel.size) ranks × \(o.microBatches / parallel.size) micro-batches per step, optimizer state sharded (ZeRO-1)")
        }
        if prec == .bf16 && main {
            print(Gemm.hasNativeBF16 ? "bf16 products on oneDNN's bf16 GEMM"
                  : "bf16 products: this CPU has no bf16 GEMM (AMX / AVX512-BF16), so bf16-rounded operands run through the f32 GEMM (same numbers, no speed-up)")
        }
        if let threads { o.threads = threads }
        let slab = ParameterSlab(config: c)
        if let initFrom {
            let w: ModelWeights
            do { w = try ModelWeights.load(path: initFrom) } catch { throw CLIError(error.description) }
            do { try slab.load(w) } catch { throw CLIError("--init-from \(error)") }
        } else {
            slab.initialize(seed: seed, std: initStd)
        }
        let trainer = Trainer(slab: slab, data: batches, options: o, parallel: parallel)
        var validation: SequentialBatches?
        if !valData.isEmpty {
            do { validation = try SequentialBatches(stream: TokenStream(paths: valData, vocabularySize: c.vocabularySize), seq: seqLen) } catch {
                throw CLIError(error.description)
            }
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let metricsPath = (out as NSString).appendingPathComponent("metrics.jsonl")
        if resume, let last = Checkpoint.list(out).last {
            let state: Checkpoint.State
            do { state = try Checkpoint.load(last, into: slab, optimizer: trainer.optimizer) } catch { throw CLIError("\(error)") }
            guard state.sequencesPerStep == o.sequencesPerStep, state.seq == seqLen else {
                throw CLIError("\(last): checkpoint was made with \(state.sequencesPerStep) sequences × \(state.seq) tokens per step")
            }
            trainer.resume(atStep: state.step)
            if main {
                try truncateMetrics(metricsPath, toStep: state.step)
                print("resumed from \(last) at step \(state.step)")
            }
        } else if !resume && main {
            try? FileManager.default.removeItem(atPath: metricsPath)
        }
        // Rank 0 logs and writes; the other ranks only compute.
        var metrics: FileHandle?
        if main {
            if !FileManager.default.fileExists(atPath: metricsPath) { FileManager.default.createFile(atPath: metricsPath, contents: nil) }
            metrics = try FileHandle(forWritingTo: URL(fileURLWithPath: metricsPath))
            metrics?.seekToEndOfFile()
        }
        var pending: Checkpoint.PendingWrite?
        let start = Date(), startStep = trainer.step
        let flopsPerToken = 6.0 * Double(c.parameterCount)
        while trainer.step < totalSteps {
            let r = trainer.trainStep()
            let checkpointNow = (checkpointEvery > 0 && r.step % checkpointEvery == 0) || r.step == totalSteps
            guard main else {
                if checkpointNow { _ = parallel.gatherMoments(trainer.optimizer) }  // a collective: every rank takes part
                continue
            }
            var line = String(format: "{\"step\": %d, \"loss\": %.7f, \"lr\": %.9g, \"grad_norm\": %.7f, \"tokens\": %d, \"seconds\": %.4f",
                              r.step, r.loss, r.lr, r.gradNorm, r.tokens, r.seconds)
            if parallel.size > 1 { line += String(format: ", \"comm_seconds\": %.4f", r.communicationSeconds) }
            if let validation, valEvery > 0, r.step % valEvery == 0 || r.step == totalSteps {
                let v = trainer.validationLoss(validation, batches: valBatches)
                line += String(format: ", \"val_loss\": %.7f", v)
                print(String(format: "step %d  validation loss %.4f", r.step, v))
            }
            line += "}\n"
            metrics?.write(Data(line.utf8))
            let rate = Double(stepTokens) / max(r.seconds, 1e-9)
            let eta = Double(totalSteps - r.step) * Date().timeIntervalSince(start) / Double(max(r.step - startStep, 1))
            print(String(format: "step %d/%d  loss %.4f  lr %.3g  grad norm %.3f  %.0f tok/s  %.2f GFLOP/s (6·N·tokens)  ETA %.0f s",
                         r.step, totalSteps, r.loss, r.lr, r.gradNorm, rate, rate * flopsPerToken / 1e9, eta))
            if let (tok, ids) = sampler, r.step % sampleEvery == 0 || r.step == totalSteps {
                let text = greedySample(slab, tok, ids, maxTokens: sampleTokens, threads: threads)
                print("step \(r.step) sample: \(samplePrompt)\(text.replacingOccurrences(of: "\n", with: "\\n"))")
                appendLine("{\"step\": \(r.step), \"prompt\": \(jsonQuoted(samplePrompt)), \"text\": \(jsonQuoted(text))}\n",
                           to: (out as NSString).appendingPathComponent("samples.jsonl"))
            }
            if checkpointNow {
                try? LossCurve.write(metrics: metricsPath, title: "dsllm train — \(out)")
                let moments = parallel.size > 1 ? parallel.gatherMoments(trainer.optimizer) : trainer.optimizer
                pending?.wait()
                pending = Checkpoint.saveInBackground(slab, optimizer: moments,
                                                      state: .init(step: r.step, seed: seed, sequencesPerStep: o.sequencesPerStep, seq: seqLen),
                                                      runDirectory: out, keep: keep)
            }
        }
        pending?.wait()
        try metrics?.close()
        if main { print("done: \(totalSteps) steps; checkpoint \(Checkpoint.list(out).last ?? "-")") }
    }
}

/// Drops metrics lines after `step` (a run killed after writing metrics but before its next checkpoint).
func truncateMetrics(_ path: String, toStep step: Int) throws {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
    let kept = text.split(separator: "\n").filter { line in
        guard let n = LossCurve.field("step", in: line) else { return false }
        return Int(n) <= step
    }
    try writeAtomically(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: path)
}
