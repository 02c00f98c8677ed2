import DSFormats
import DSModel
import DSTensor
@testable import DSTraining
import Foundation
import Testing

/// TrainingRun, the one run loop of `dsllm train`, `sft` and `dpo`: metrics.jsonl's exact line format, the
/// cadences of evaluation, samples and checkpoints, OUT/final, and resume (metrics cut back, identical records).
@Suite struct RunLoopTests {
    static func folder(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-run-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// metrics.jsonl without the wall-clock field.
    static func withoutSeconds(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: #""(seconds|tokens_per_s|mfu)": [0-9.e+-]+"#, with: "", options: .regularExpression)
    }

    /// Pre-training's throughput fields: tokens_per_s from the step's wall time, and mfu = 6·N·tokens/s over the
    /// measured GEMM peak (absent without one); alignment runs have neither.
    @Test func throughputFieldsAndMFU() throws {
        let slab = ParameterSlab(config: Self.config)
        let r = StepRecord(step: 1, loss: 1, lr: 0.1, gradNorm: 1, tokens: 384, seconds: 0.5)
        var o = TrainingRun.Options(out: "unused", title: "t")
        o.progress = .throughput(tokensPerStep: 384, sequenceLength: 16, peakFLOPS: 1e9)
        let fields = TrainingRun(options: o).throughput(r, slab: slab)
        #expect(fields.map(\.0) == ["tokens_per_s", "mfu"])
        #expect(fields[0].1 == 768)
        let matmulParameters = Self.config.parameterCount - 64 * 32  // all but the embedding table
        let attention = 6 * 1 * (4 * 8) * 16  // layers × (heads × head dim) × seq
        #expect(abs(fields[1].1 - 768 * Double(6 * matmulParameters + attention) / 1e9) < 1e-12)
        o.progress = .throughput(tokensPerStep: 384, sequenceLength: 16)
        #expect(TrainingRun(options: o).throughput(r, slab: slab).map(\.0) == ["tokens_per_s"])
        o.progress = .metrics
        #expect(TrainingRun(options: o).throughput(r, slab: slab).isEmpty)
        // The peak itself: a positive rate wherever a GEMM library loaded.
        if Gemm.isAvailable { #expect((Gemm.measuredPeak(bf16: false, threads: 1) ?? 0) > 1e8) }
    }

    static let config = ModelConfig(vocabularySize: 64, hiddenSize: 32, intermediateSize: 48, layerCount: 1, headCount: 4, kvHeadCount: 2,
                                    maxPositions: 16)

    /// Byte for byte what tools/ and the CLI tests parse: fixed fields, comm_seconds, the step's metrics ("%.7g"),
    /// then the measured numbers in their format (pre-training's val_loss "%.7f").
    @Test func metricsLineFormat() throws {
        var r = StepRecord(step: 3, loss: 2.5, lr: 0.5, gradNorm: 1.25, tokens: 384, seconds: 0.5)
        #expect(r.metricsLine() == #"{"step": 3, "loss": 2.5000000, "lr": 0.5, "grad_norm": 1.2500000, "tokens": 384, "seconds": 0.5000}"# + "\n")
        r.communicationSeconds = 0.25
        #expect(r.metricsLine(measured: [("val_loss", 4.25)], measuredFormat: "%.7f")
                == #"{"step": 3, "loss": 2.5000000, "lr": 0.5, "grad_norm": 1.2500000, "tokens": 384, "seconds": 0.5000, "comm_seconds": 0.2500, "val_loss": 4.2500000}"# + "\n")
        r.communicationSeconds = nil
        r.metrics = [("epoch", 1), ("rewards/margins", 0.123456789)]
        let line = r.metricsLine(measured: [("eval_loss", 1.0 / 3)])
        #expect(line == #"{"step": 3, "loss": 2.5000000, "lr": 0.5, "grad_norm": 1.2500000, "tokens": 384, "seconds": 0.5000, "epoch": 1, "rewards/margins": 0.1234568, "eval_loss": 0.3333333}"# + "\n")
        let parsed = try JSONValue.parse(Array(line.utf8))
        #expect(parsed["rewards/margins"]?.double == 0.1234568 && parsed["step"]?.int == 3)
        #expect(LossCurve.field("eval_loss", in: Substring(line)) == 0.3333333)
    }

    /// A trainer whose steps cost nothing: the run loop's bookkeeping alone.
    final class CountingTrainer: StepTrainer {
        let slab = ParameterSlab(config: RunLoopTests.config)
        lazy var optimizer = AdamW(slab: slab)
        private(set) var step = 0
        let totalSteps: Int
        let sequencesPerStep: Int
        var sequenceLength: Int { 8 }
        init(totalSteps: Int, sequencesPerStep: Int = 2) {
            self.totalSteps = totalSteps
            self.sequencesPerStep = sequencesPerStep
        }
        func trainStep() -> StepRecord {
            step += 1
            return StepRecord(step: step, loss: 1 / Double(step), lr: 0.5, gradNorm: 1, tokens: 16 * step, seconds: 0, metrics: [("epoch", 1)])
        }
        func resume(atStep s: Int) {
            step = s
            optimizer.restoreStep(s)
        }
    }

    /// Alignment's cadences: samples and evaluation of the starting model, evaluation every 3 steps and at the end,
    /// samples at each checkpoint, the last `keep` checkpoints, OUT/final → the last one.
    @Test func cadencesAndFinalLink() throws {
        let out = try Self.folder("cadence")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var o = TrainingRun.Options(out: out, title: "test")
        o.checkpointEvery = 2
        o.sampleEvery = 2
        o.evaluateEvery = 3
        o.keep = 2
        o.reportStartingModel = true
        o.linkFinal = true
        let trainer = CountingTrainer(totalSteps: 5)
        nonisolated(unsafe) var evaluations = 0
        let evaluation = TrainingRun.Evaluation {
            evaluations += 1
            return [("eval_loss", Double(evaluations))]
        }
        let sampling = TrainingRun.Sampling(prompts: ["Hi"]) { _ in "there\n" }
        try TrainingRun(options: o).run(trainer, evaluation: evaluation, sampling: sampling)
        let metrics = try Self.lines(out + "/metrics.jsonl")
        #expect(metrics.count == 5)
        #expect(metrics.map { $0.contains("eval_loss") } == [false, false, true, false, true], "evaluated at steps 3 and 5")
        #expect(metrics[2].hasSuffix(#""epoch": 1, "eval_loss": 2}"#), "the starting model's evaluation was the first")
        let samples = try Self.lines(out + "/samples.jsonl")
        #expect(samples == [0, 2, 4, 5].map { #"{"step": \#($0), "prompt": "Hi", "text": "there\n"}"# })
        #expect(Checkpoint.list(out).map { ($0 as NSString).lastPathComponent } == ["step-00000004", "step-00000005"])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/final") == "step-00000005")
        #expect(FileManager.default.fileExists(atPath: out + "/loss.svg"))
        let state = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: out + "/step-00000005/state.json"))))
        #expect(state["sequencesPerStep"]?.int == 2 && state["seq"]?.int == 8 && state["step"]?.int == 5)
    }

    /// Pre-training on a tiny model: a run resumed from a middle checkpoint cuts metrics.jsonl back to it (the lines
    /// after it are dropped) and writes exactly the records of the uninterrupted run, validation included.
    @Test func resumeTruncatesMetricsAndRepeatsTheRecords() throws {
        let dir = try Self.folder("resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let shard = dir + "/train.bin"
        try TokenShard.write((0..<600).map { UInt32(($0 * 7 + $0 / 13) % 64) }, to: shard)
        func run(_ out: String, resume: Bool) throws -> Trainer {
            let slab = ParameterSlab(config: Self.config)
            slab.initialize(seed: resume ? 99 : 1)  // a resumed run's weights all come from the checkpoint
            var t = Trainer.Options()
            t.microBatch = 2
            t.microBatches = 2
            t.seq = 8
            t.steps = 6
            t.warmup = 1
            t.maxLR = 1e-2
            t.threads = 1
            let data = try SequentialBatches(stream: TokenStream(paths: [shard], vocabularySize: 64), seq: 8)
            let trainer = Trainer(slab: slab, data: data, options: t)
            var o = TrainingRun.Options(out: out, title: "resume")
            o.checkpointEvery = 2
            o.evaluateEvery = 3
            o.keep = 10
            o.resume = resume
            o.seed = 1
            o.progress = .throughput(tokensPerStep: t.tokensPerStep, sequenceLength: t.seq)
            let validation = TrainingRun.Evaluation(format: "%.7f") { [("val_loss", trainer.validationLoss(data, batches: 2))] }
            try TrainingRun(options: o).run(trainer, evaluation: validation)
            return trainer
        }
        let full = dir + "/full", resumed = dir + "/resumed"
        _ = try run(full, resume: false)
        #expect(try Self.lines(full + "/metrics.jsonl").count == 6)
        // The interrupted copy: checkpoints after step 2 lost, metrics written through step 6 (and a torn last line).
        try FileManager.default.copyItem(atPath: full, toPath: resumed)
        for step in [4, 6] { try FileManager.default.removeItem(atPath: resumed + String(format: "/step-%08d", step)) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: resumed + "/metrics.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"step": 7, "loss": 1.2"#.utf8))
        try handle.close()
        try RunLog.truncateMetrics(resumed + "/metrics.jsonl", toStep: 2)
        #expect(try Self.lines(resumed + "/metrics.jsonl").count == 2)
        let trainer = try run(resumed, resume: true)
        #expect(trainer.step == 6 && trainer.optimizer.step == 6)
        #expect(try Self.withoutSeconds(resumed + "/metrics.jsonl") == Self.withoutSeconds(full + "/metrics.jsonl"))
        #expect(try Self.lines(full + "/metrics.jsonl").map { $0.contains("\"val_loss\"") } == [false, false, true, false, false, true])
    }

    /// A checkpoint made with another batch shape is refused, naming it, before any step.
    @Test func resumeRefusesAnotherShape() throws {
        let out = try Self.folder("shape")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var o = TrainingRun.Options(out: out, title: "shape")
        try TrainingRun(options: o).run(CountingTrainer(totalSteps: 1))
        o.resume = true
        #expect { try TrainingRun(options: o).run(CountingTrainer(totalSteps: 2, sequencesPerStep: 4)) } throws: { error in
            "\(error)".hasSuffix("step-00000001: checkpoint was made with 2 rows × 8 tokens per step")
        }
    }
}
