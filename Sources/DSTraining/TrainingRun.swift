import DSFormats
import DSModel
import Foundation

/// A trainer the run loop drives: pre-training's `Trainer`, and DSAlignment's `SFTTrainer` and `DPOTrainer`.
public protocol StepTrainer: AnyObject {
    var slab: ParameterSlab { get }
    var optimizer: AdamW { get }
    /// Optimizer steps done (the next step is `step + 1`) and the run's total.
    var step: Int { get }
    var totalSteps: Int { get }
    /// What a checkpoint records and a resume checks: sequences (rows; DPO: pairs) per optimizer step, their length.
    var sequencesPerStep: Int { get }
    var sequenceLength: Int { get }
    /// The word the resume check uses for `sequencesPerStep` ("rows" unless a trainer says otherwise).
    var sequenceNoun: String { get }
    /// Runs optimizer step `step + 1`.
    func trainStep() -> StepRecord
    /// After a checkpoint's weights and moments are loaded: the step counter, AdamW's step, the data position.
    func resume(atStep: Int)
}

extension StepTrainer {
    public var sequenceNoun: String { "rows" }
}

/// One training run in a run folder, the same for `dsllm train`, `sft` and `dpo`: resume from the newest
/// checkpoint (metrics truncated to it), the step loop to the trainer's total, one metrics.jsonl line per step,
/// evaluation and samples at their cadence, checkpoints written in the background (the last `keep` kept) with
/// loss.svg redrawn, a progress line per step, and for alignment runs OUT/final → the last checkpoint.
/// Under data parallelism only rank 0 logs and writes; the other ranks compute and join the collectives.
public struct TrainingRun {
    /// The run's folder, cadences and reporting; shared by pre-training and alignment.
    public struct Options: Sendable {
        public var out: String                      // the run folder
        public var title: String                    // loss.svg's title
        /// Cadences in optimizer steps; each also fires at the last step, and 0 means only there.
        public var checkpointEvery = 0
        public var evaluateEvery = 0
        public var sampleEvery = 0
        public var keep = 2                         // checkpoints kept
        public var resume = false                   // continue from the newest checkpoint in `out` (none: start fresh)
        public var seed: UInt64 = 0                 // recorded in each checkpoint's state.json
        /// Files put into every checkpoint (tokenizer.json …), so each is a complete model folder.
        public var checkpointFiles: [String: Data] = [:]
        /// Samples and evaluation of the starting model before the first step ("step 0 sample", "before training").
        public var reportStartingModel = false
        /// OUT/final → the last checkpoint at the end (an alignment run's result; the next stage's --model).
        public var linkFinal = false
        public var progress = Progress.metrics

        public init(out: String, title: String) {
            self.out = out
            self.title = title
        }
    }

    /// What the per-step progress line shows between the gradient norm and the ETA.
    public enum Progress: Sendable {
        /// Tokens per second and 6·N·tokens FLOP/s at `tokensPerStep` of sequences of `sequenceLength` (pre-training);
        /// with `peakFLOPS` (the GEMM's, measured at start-up for the precision in use) also the model FLOPs
        /// utilisation, in metrics.jsonl too.
        case throughput(tokensPerStep: Int, sequenceLength: Int, peakFLOPS: Double? = nil)
        /// The step's named metrics and the evaluation's numbers (alignment).
        case metrics
    }

    /// Numbers measured on held-out data at the evaluation cadence (val_loss; eval_loss, eval_rewards/…).
    public struct Evaluation {
        public var measure: () -> [(String, Double)]
        /// metrics.jsonl's printf format of these numbers (see StepRecord.metricsLine).
        public var format: String

        public init(format: String = "%.7g", measure: @escaping () -> [(String, Double)]) {
            self.format = format
            self.measure = measure
        }
    }

    /// Greedy samples at the sample cadence, printed and appended to samples.jsonl. The caller generates them
    /// (sampling needs the inference engine and a tokenizer, which this module does not depend on).
    public struct Sampling {
        public var prompts: [String]
        /// The continuation of a prompt by the current weights.
        public var continuation: (String) -> String
        /// How the console line shows a prompt before its continuation (e.g. "User: … → Assistant:").
        public var display: (String) -> String

        public init(prompts: [String], display: @escaping (String) -> String = { $0 }, continuation: @escaping (String) -> String) {
            self.prompts = prompts
            self.display = display
            self.continuation = continuation
        }
    }

    public let options: Options
    public let parallel: DataParallel
    public var metricsPath: String { (options.out as NSString).appendingPathComponent("metrics.jsonl") }
    public var samplesPath: String { (options.out as NSString).appendingPathComponent("samples.jsonl") }
    var isMain: Bool { parallel.isMain }

    public init(options: Options, parallel: DataParallel = .single) {
        self.options = options
        self.parallel = parallel
    }

    /// Runs `trainer` to its total step count: resumes first when asked (and a checkpoint exists), else starts the
    /// logs afresh. Throws when the newest checkpoint does not fit the trainer or a file cannot be written.
    public func run(_ trainer: some StepTrainer, evaluation: Evaluation? = nil, sampling: Sampling? = nil) throws {
        if isMain { try FileManager.default.createDirectory(atPath: options.out, withIntermediateDirectories: true) }
        let startStep = try resumeOrStartFresh(trainer)
        if isMain && startStep == 0 && options.reportStartingModel {
            sample(sampling, step: 0)
            if let evaluation {
                print("before training: " + evaluation.measure().map { String(format: "%@ %.4f", $0.0, $0.1) }.joined(separator: "  "))
            }
        }
        let metrics = isMain ? try RunLog.openForAppending(metricsPath) : nil
        let total = trainer.totalSteps
        func due(_ every: Int, _ step: Int) -> Bool { (every > 0 && step % every == 0) || step == total }
        var pending: Checkpoint.PendingWrite?
        let start = Date()
        while trainer.step < total {
            let r = trainer.trainStep()
            let checkpointNow = due(options.checkpointEvery, r.step)
            guard isMain else {
                if checkpointNow { _ = parallel.gatherMoments(trainer.optimizer) }  // a collective: every rank takes part
                continue
            }
            let measured = evaluation.map { due(options.evaluateEvery, r.step) ? $0.measure() : [] } ?? []
            var record = r
            record.metrics += throughput(r, slab: trainer.slab)
            metrics?.write(Data(record.metricsLine(measured: measured, measuredFormat: evaluation?.format ?? "%.7g").utf8))
            let eta = Double(total - r.step) * Date().timeIntervalSince(start) / Double(max(r.step - startStep, 1))
            print(progressLine(r, total: total, measured: measured, eta: eta, slab: trainer.slab))
            if due(options.sampleEvery, r.step) { sample(sampling, step: r.step) }
            if checkpointNow {
                try? LossCurve.write(metrics: metricsPath, title: options.title)
                let moments = parallel.size > 1 ? parallel.gatherMoments(trainer.optimizer) : trainer.optimizer
                pending?.wait()
                pending = Checkpoint.saveInBackground(
                    trainer.slab, optimizer: moments, guarding: trainer.optimizer,
                    state: .init(step: r.step, seed: options.seed, sequencesPerStep: trainer.sequencesPerStep, seq: trainer.sequenceLength),
                    runDirectory: options.out, keep: options.keep, extraFiles: options.checkpointFiles)
            }
        }
        pending?.wait()
        try metrics?.close()
        if isMain { try finish(total: total) }
    }

    /// The step to continue after: the newest checkpoint's (weights, moments and trainer restored, metrics.jsonl
    /// cut back to it) on --resume, else 0 with metrics.jsonl and samples.jsonl removed. --resume without a
    /// checkpoint starts fresh too (a second SFT stage after a finished first one).
    func resumeOrStartFresh(_ trainer: some StepTrainer) throws -> Int {
        guard options.resume, let last = Checkpoint.list(options.out).last else {
            if isMain {
                try? FileManager.default.removeItem(atPath: metricsPath)
                try? FileManager.default.removeItem(atPath: samplesPath)
            }
            return 0
        }
        let state = try Checkpoint.load(last, into: trainer.slab, optimizer: trainer.optimizer)
        guard state.sequencesPerStep == trainer.sequencesPerStep, state.seq == trainer.sequenceLength else {
            throw TrainingError("\(last): checkpoint was made with \(state.sequencesPerStep) \(trainer.sequenceNoun) × \(state.seq) tokens per step")
        }
        trainer.resume(atStep: state.step)
        if isMain {
            try RunLog.truncateMetrics(metricsPath, toStep: state.step)
            print("resumed from \(last) at step \(state.step)")
        }
        return state.step
    }

    /// "step 12/300  loss 4.1723  lr 0.0003  grad norm 1.263  <throughput or metrics>  ETA 17 s".
    func progressLine(_ r: StepRecord, total: Int, measured: [(String, Double)], eta: Double, slab: ParameterSlab) -> String {
        switch options.progress {
        case .throughput(let tokensPerStep, let seq, let peak):
            let rate = Double(tokensPerStep) / max(r.seconds, 1e-9)
            let flops = rate * 6.0 * Double(slab.config.parameterCount)
            let mfu = peak.map { String(format: "  MFU %.1f%%", 100 * rate * Self.modelFLOPsPerToken(slab.config, sequenceLength: seq) / $0) } ?? ""
            return String(format: "step %d/%d  loss %.4f  lr %.3g  grad norm %.3f  %.0f tok/s  %.2f GFLOP/s (6·N·tokens)%@  ETA %.0f s",
                          r.step, total, r.loss, r.lr, r.gradNorm, rate, flops / 1e9, mfu, eta)
        case .metrics:
            let fields = (r.metrics + measured).map { String(format: "%@ %.4g", $0.0, $0.1) }.joined(separator: "  ")
            return String(format: "step %d/%d  loss %.4f  lr %.3g  grad norm %.3f  %@  ETA %.0f s", r.step, total, r.loss, r.lr, r.gradNorm, fields, eta)
        }
    }

    /// Pre-training's throughput fields of metrics.jsonl: tokens_per_s, and mfu (matrix-product FLOPs per second over
    /// the measured GEMM peak) when a peak was measured. Wall-clock numbers, like "seconds".
    func throughput(_ r: StepRecord, slab: ParameterSlab) -> [(String, Double)] {
        guard case .throughput(let tokensPerStep, let seq, let peak) = options.progress else { return [] }
        let rate = Double(tokensPerStep) / max(r.seconds, 1e-9)
        var fields = [("tokens_per_s", rate)]
        if let peak { fields.append(("mfu", rate * Self.modelFLOPsPerToken(slab.config, sequenceLength: seq) / peak)) }
        return fields
    }

    /// Training FLOPs per token of the model (MFU's numerator, PaLM's definition with the paper's causal attention
    /// term): 6 × the parameters of every matrix but the embedding table (a lookup, no product; counting it would
    /// flatter a large vocabulary), plus attention's score and value products, 6 · layers · (heads · head dim) · seq
    /// — the paper's `6 n_layer d_model l_seq` in M, which counts the causal half of the T × T products.
    static func modelFLOPsPerToken(_ c: ModelConfig, sequenceLength seq: Int) -> Double {
        6.0 * Double(c.parameterCount - c.vocabularySize * c.hiddenSize) + 6.0 * Double(c.layerCount * c.queryDim * seq)
    }

    func sample(_ sampling: Sampling?, step: Int) {
        guard let sampling else { return }
        for prompt in sampling.prompts {
            let text = sampling.continuation(prompt)
            print("step \(step) sample: \(sampling.display(prompt))\(text.replacingOccurrences(of: "\n", with: "\\n"))")
            RunLog.append(RunLog.sampleLine(step: step, prompt: prompt, text: text), to: samplesPath)
        }
    }

    /// The closing line, and for alignment runs the atomic OUT/final link (a temporary link renamed over it).
    func finish(total: Int) throws {
        let last = Checkpoint.list(options.out).last
        guard options.linkFinal else {
            print("done: \(total) steps; checkpoint \(last ?? "-")")
            return
        }
        guard let last else { return }
        let link = (options.out as NSString).appendingPathComponent("final"), temp = link + ".tmp"
        try? FileManager.default.removeItem(atPath: temp)
        try FileManager.default.createSymbolicLink(atPath: temp, withDestinationPath: (last as NSString).lastPathComponent)
        guard rename(temp, link) == 0 else { throw TrainingError("\(link): could not link the final checkpoint") }
        print("done: \(total) steps; model \(link) → \(last)")
    }
}
