import ArgumentParser
import DSAlignment
import DSTokenizer
import DSTraining
import Foundation

/// `dsllm sft`: supervised fine-tuning on chat JSONL, loss on assistant tokens only, conversations packed.
struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning on chat JSONL ({\"messages\": [{\"role\", \"content\"}, …]}), DeepSeek chat template.",
        discussion: """
            Loss on assistant replies only (" reply<EOS>" after "Assistant:", TRL's completion rule), the mean over the \
            step's reply tokens; conversations packed into --max-length rows without attention or loss across them; \
            over-long conversations truncated (keep the start; skipped when no reply token is left). Bad lines are \
            counted and reported with their numbers. Paper recipe: 7B 4 epochs at 1e-5, 67B 2 epochs at 5e-6. \
            --stage2-data runs a second stage from the first one's result (the 7B's repetition fix) into OUT/stage2.
            """)
    @OptionGroup var common: AlignmentRunOptions
    @Option(help: "Chat JSONL (plain, .gz or .zst).") var data: String
    @Option(help: "Held-out chat JSONL: loss per reply token as eval_loss.") var evalData: String?
    @Option(help: "Tokens per optimizer step (a multiple of micro-batch × max-length; default one micro-batch).") var batchTokens: Int?
    @Option(help: "Second stage: another chat JSONL, trained after the first from its result.") var stage2Data: String?
    @Option(help: "Second stage epochs.") var stage2Epochs = 1
    @Option(help: "Second stage peak learning rate (default: the first's).") var stage2LR: Float?

    func run() throws {
        let firstOut = stage2Data == nil ? common.out : (common.out as NSString).appendingPathComponent("stage1")
        try common.prepareRunFolder(checkpointFolders: [firstOut])
        try stage(data: data, model: common.model, out: firstOut, epochs: nil, lr: nil)
        if let stage2Data {
            try stage(data: stage2Data, model: (firstOut as NSString).appendingPathComponent("final"),
                      out: (common.out as NSString).appendingPathComponent("stage2"), epochs: stage2Epochs, lr: stage2LR ?? common.lr ?? 1e-5)
        }
    }

    func stage(data: String, model: String, out: String, epochs: Int?, lr: Float?) throws {
        var r = common
        r.model = model
        r.out = out
        if let epochs { r.epochs = epochs }
        if let lr { r.lr = lr }
        let o = try r.base(epochs: 4, lr: 1e-5)
        let perMicro = o.microBatch * o.seq
        let stepTokens = batchTokens ?? perMicro
        guard stepTokens > 0, stepTokens % perMicro == 0 else {
            throw CLIError("--batch-tokens \(stepTokens) is not a multiple of micro-batch × max-length (\(perMicro))")
        }
        let tok = try r.loadTokenizer()
        let encoder = ChatEncoder(tokenizer: tok)
        let slab = try r.loadSlab(model)
        let (examples, report) = try AlignmentData.readChat(data, encoder: encoder, maxLength: o.seq)
        print(report)
        guard !examples.isEmpty else { throw CLIError("\(data): no usable conversation") }
        if let bad = examples.first(where: { $0.ids.contains { Int($0) >= slab.config.vocabularySize } }) {
            throw CLIError("\(data): token \(bad.ids.max()!) is outside the model's vocabulary of \(slab.config.vocabularySize) (wrong --tokenizer?)")
        }
        var held: [MaskedSequence] = []
        if let evalData {
            let (e, rep) = try AlignmentData.readChat(evalData, encoder: encoder, maxLength: o.seq)
            print(rep)
            held = e
        }
        let trainer = SFTTrainer(slab: slab, examples: examples, rowsPerStep: stepTokens / o.seq, options: o)
        let labels = examples.reduce(0) { $0 + $1.labelCount }
        print("sft: \(examples.count) conversations, \(labels) reply tokens; \(trainer.totalSteps) steps of \(stepTokens / o.seq) rows × \(o.seq) tokens, \(o.epochs) epochs")
        try r.train(trainer, tokenizer: tok, command: "sft",
                    evaluation: held.isEmpty ? nil : .init { [("eval_loss", trainer.evaluate(held))] })
    }
}

/// `dsllm dpo`: direct preference optimization with TRL's sigmoid loss and metric names.
struct DPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpo",
        abstract: "Direct preference optimization on preference JSONL ({\"prompt\" | \"messages\", \"chosen\", \"rejected\"}).",
        discussion: """
            Sigmoid DPO loss on summed completion log-probs, reference log-probs computed once up front (saved in \
            OUT/reference-logps.json for --resume), metrics as TRL names them (rewards/chosen, rewards/rejected, \
            rewards/accuracies, rewards/margins, logps/chosen, logps/rejected). --label-smoothing ε > 0 is \
            conservative DPO: −(1−ε)·log σ(βδ) − ε·log σ(−βδ). Paper recipe: 1 epoch, lr 5e-6, batch 512, warmup + cosine. \
            Truncation is TRL's keep_start: prompt + completion cut at --max-length; pairs whose prompt fills it are skipped.
            """)
    @OptionGroup var common: AlignmentRunOptions
    @Option(help: "Preference JSONL (plain, .gz or .zst).") var data: String
    @Option(help: "Held-out preference JSONL (eval_loss, eval_rewards/accuracies).") var evalData: String?
    @Option(help: "Reference model (default: the starting model).") var ref: String?
    @Option(help: "β, the strength of the KL constraint.") var beta: Double = 0.1
    @Option(help: "Label smoothing ε (conservative DPO); 0 is TRL's sigmoid loss.") var labelSmoothing: Double = 0
    @Option(help: "Preference pairs per optimizer step.") var batchPairs = 8

    func run() throws {
        var o = DPOTrainer.Options()
        o.base = try common.base(epochs: 1, lr: 5e-6)
        guard o.base.microBatch >= 2 else { throw CLIError("--micro-batch must be ≥ 2 for DPO (a pair may need two rows)") }
        guard (0..<0.5).contains(labelSmoothing), beta > 0, batchPairs > 0 else { throw CLIError("need β > 0, 0 ≤ ε < 0.5, --batch-pairs ≥ 1") }
        try common.prepareRunFolder(checkpointFolders: [common.out], extraSlabs: ref == nil ? 0 : 1)
        o.beta = beta
        o.labelSmoothing = labelSmoothing
        o.pairsPerStep = batchPairs
        let tok = try common.loadTokenizer()
        let encoder = ChatEncoder(tokenizer: tok)
        let slab = try common.loadSlab(common.model)
        let (pairs, report) = try AlignmentData.readPreferences(data, encoder: encoder, maxLength: o.base.seq)
        print(report)
        guard !pairs.isEmpty else { throw CLIError("\(data): no usable preference pair") }
        let vocab = slab.config.vocabularySize
        if pairs.contains(where: { ($0.prompt + $0.chosen + $0.rejected).contains { Int($0) >= vocab } }) {
            throw CLIError("\(data): tokens outside the model's vocabulary of \(vocab) (wrong --tokenizer?)")
        }
        var held: [PreferencePair] = []
        if let evalData {
            let (e, rep) = try AlignmentData.readPreferences(evalData, encoder: encoder, maxLength: o.base.seq)
            print(rep)
            held = e
        }
        let trainer = DPOTrainer(slab: slab, pairs: pairs, options: o)
        // The reference log-probs come from the starting (or --ref) model, before any checkpoint is loaded.
        let refSlab = try ref.map { try common.loadSlab($0) }
        let refPath = (common.out as NSString).appendingPathComponent("reference-logps.json")
        let source: DPOTrainer.ReferenceSource
        do { source = try trainer.loadOrComputeReference(cache: refPath, reuse: common.resume, using: refSlab) } catch { throw CLIError("\(error)") }
        if case .computed(let seconds) = source { print(String(format: "reference log-probs of %d pairs in %.1f s", pairs.count, seconds)) }
        let heldRef = held.isEmpty ? [] : DPOTrainer.logProbabilities(of: held, slab: refSlab ?? slab, options: o.base)
        print("dpo: \(pairs.count) pairs; \(trainer.totalSteps) steps of \(batchPairs) pairs, β \(beta), ε \(labelSmoothing)")
        try common.train(trainer, tokenizer: tok, command: "dpo", evaluation: held.isEmpty ? nil : .init {
            let s = trainer.evaluate(held, reference: heldRef)
            return [("eval_loss", s.loss), ("eval_rewards/accuracies", s.accuracy), ("eval_rewards/margins", s.margin)]
        })
    }
}
