import DSFormats
import DSModel
@testable import DSTraining
import Foundation
import Testing

/// Hand-written backward passes and AdamW against PyTorch autograd on transformers' LlamaForCausalLM
/// (tools/golden/make_train_golden.py): a tiny GQA model, f32.
@Suite struct GradientTests {
    struct Golden {
        let json: JSONValue
        var config: ModelConfig {
            let c = json["config"]!
            return ModelConfig(vocabularySize: c["vocab"]!.int!, hiddenSize: c["hidden"]!.int!, intermediateSize: c["ffn"]!.int!,
                               layerCount: c["layers"]!.int!, headCount: c["heads"]!.int!, kvHeadCount: c["kv_heads"]!.int!,
                               maxPositions: 64, rmsNormEps: Float(c["eps"]!.double!), ropeTheta: Float(c["theta"]!.double!))
        }
        func floats(_ section: String, _ name: String) -> [Float] { json[section]![name]!.array!.map { Float($0.double!) } }
        func ids(_ key: String) -> [Int32] { json[key]!.array!.map { Int32($0.int!) } }
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/train-golden.json")
        return Golden(json: try! JSONValue.parse(Array(try! Data(contentsOf: url))))
    }()

    static let bf16Golden: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/train-golden-bf16.json")
        return try! JSONValue.parse(Array(try! Data(contentsOf: url)))
    }()

    func loaded(precision: TrainingPrecision = .f32) -> (ParameterSlab, TrainingModel) {
        let g = Self.golden
        let slab = ParameterSlab(config: g.config)
        for t in slab.tensors {
            let w = g.floats("weights", t.name)
            precondition(w.count == t.count, "\(t.name): \(w.count) vs \(t.count)")
            slab.value(t.name).update(from: w, count: t.count)
        }
        return (slab, TrainingModel(slab: slab, batch: g.json["batch"]!.int!, seq: g.json["seq"]!.int!, threads: 2, precision: precision))
    }

    static func relativeError(_ a: UnsafePointer<Float>, _ b: [Float]) -> Float {
        let scale = b.map { abs($0) }.max()!
        var worst: Float = 0
        for i in b.indices { worst = max(worst, abs(a[i] - b[i])) }
        return worst / max(scale, 1e-12)
    }

    @Test func lossAndEveryGradientMatchPyTorch() {
        let g = Self.golden
        let (slab, model) = loaded()
        model.headChunk = 5  // several head chunks, one ragged
        let inputs = g.ids("inputs"), targets = g.ids("targets")
        let loss = model.forwardBackward(inputs: inputs, targets: targets) / Double(inputs.count)
        #expect(abs(loss - g.json["loss"]!.double!) < 1e-5 * abs(g.json["loss"]!.double!), "loss \(loss)")
        for t in slab.tensors {
            let err = Self.relativeError(slab.grad(t.name), g.floats("grads", t.name))
            #expect(err < 1e-4, "\(t.name): relative error \(err)")
        }
    }

    /// bf16 products (operands rounded to bf16, f32 accumulation) against a PyTorch replica whose every Linear
    /// rounds the same operands. The bf16 golden differs from the f32 one by far more than the tolerance, so the
    /// test tells the two modes apart.
    @Test func bf16LossAndGradientsMatchPyTorchReplica() {
        let g = Self.golden, b = Self.bf16Golden
        let (slab, model) = loaded(precision: .bf16)
        model.headChunk = 5
        let inputs = g.ids("inputs"), targets = g.ids("targets")
        let loss = model.forwardBackward(inputs: inputs, targets: targets) / Double(inputs.count)
        #expect(abs(loss - b["loss"]!.double!) < 1e-5 * b["loss"]!.double!, "bf16 loss \(loss) vs \(b["loss"]!.double!)")
        var worstVsF32: Float = 0
        for t in slab.tensors {
            let expected = b["grads"]![t.name]!.array!.map { Float($0.double!) }
            let err = Self.relativeError(slab.grad(t.name), expected)
            #expect(err < 2e-3, "\(t.name): relative error \(err) against the bf16 replica")
            worstVsF32 = max(worstVsF32, Self.relativeError(slab.grad(t.name), g.floats("grads", t.name)))
        }
        #expect(worstVsF32 > 5e-3, "bf16 gradients should differ from f32 ones (worst \(worstVsF32))")
    }

    @Test func clippingAndOneAdamWStepMatchTorch() {
        let g = Self.golden
        let (slab, model) = loaded()
        let inputs = g.ids("inputs"), targets = g.ids("targets")
        model.forwardBackward(inputs: inputs, targets: targets)
        let norm = GradientClipping.clip(slab, maxNorm: 1)
        #expect(abs(norm - Float(g.json["grad_norm"]!.double!)) < 1e-4 * norm)
        AdamW(slab: slab).update(lr: 1e-3)
        for t in slab.tensors {
            let expected = g.floats("after_adamw", t.name)
            var worst: Float = 0
            for i in 0..<t.count { worst = max(worst, abs(slab.value(t.name)[i] - expected[i])) }
            // One step moves each weight by ~lr; agreement to 1e-6 absolute is 0.1% of the step.
            #expect(worst < 1e-6, "\(t.name): worst absolute difference \(worst)")
        }
    }

    @Test func gradientAccumulationEqualsOneBigBatch() {
        let g = Self.golden
        let (slabA, modelA) = loaded()
        let inputs = g.ids("inputs"), targets = g.ids("targets")
        modelA.forwardBackward(inputs: inputs, targets: targets)
        // The same batch as two micro-batches of one sequence each, loss scaled by 1/2.
        let (slabB, _) = loaded()
        let seq = g.json["seq"]!.int!
        let half = TrainingModel(slab: slabB, batch: 1, seq: seq, threads: 2)
        for m in 0..<2 {
            half.forwardBackward(inputs: Array(inputs[(m * seq)..<((m + 1) * seq)]), targets: Array(targets[(m * seq)..<((m + 1) * seq)]),
                                 lossScale: 0.5)
        }
        var worst: Float = 0
        for i in 0..<slabA.count { worst = max(worst, abs(slabA.grads[i] - slabB.grads[i])) }
        #expect(worst < 1e-6)
    }

    @Test func schedulesFollowTheirDefinitions() {
        let s = LearningRateSchedule.multistep
        #expect(s.rate(step: 0, total: 100, warmup: 10, maxLR: 1) == 0.1)
        #expect(s.rate(step: 9, total: 100, warmup: 10, maxLR: 1) == 1)
        #expect(s.rate(step: 79, total: 100, warmup: 10, maxLR: 1) == 1)
        #expect(s.rate(step: 80, total: 100, warmup: 10, maxLR: 1) == 0.316)
        #expect(s.rate(step: 90, total: 100, warmup: 10, maxLR: 1) == 0.1)
        let c = LearningRateSchedule.cosine
        #expect(abs(c.rate(step: 10, total: 110, warmup: 10, maxLR: 1) - 1) < 1e-6)
        #expect(abs(c.rate(step: 110, total: 110, warmup: 10, maxLR: 1) - 0.1) < 1e-6)
    }
}

@Suite struct TrainingRunTests {
    /// 30 optimizer steps (2 micro-batches × 2 sequences × 8 tokens, multistep schedule with warmup 5, clipping)
    /// on the same token stream and initial weights as the PyTorch replica: every step's loss within 1e-4.
    @Test func thirtyStepsMatchThePyTorchReplica() throws {
        let g = GradientTests.golden
        let run = g.json["run"]!
        let slab = ParameterSlab(config: g.config)
        for t in slab.tensors { slab.value(t.name).update(from: g.floats("weights", t.name), count: t.count) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-train-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let shard = dir.appendingPathComponent("run.bin").path
        try TokenShard.write(run["tokens"]!.array!.map { UInt32($0.int!) }, to: shard)
        var o = Trainer.Options()
        o.microBatch = run["batch"]!.int!
        o.microBatches = run["micro_batches"]!.int!
        o.seq = run["seq"]!.int!
        o.steps = run["steps"]!.int!
        o.warmup = run["warmup"]!.int!
        o.maxLR = Float(run["max_lr"]!.double!)
        o.threads = 2
        let trainer = Trainer(slab: slab, data: try SequentialBatches(stream: TokenStream(paths: [shard], vocabularySize: 64), seq: o.seq),
                              options: o)
        let losses = run["losses"]!.array!.map { $0.double! }
        let lrs = run["lrs"]!.array!.map { $0.double! }
        let norms = run["grad_norms"]!.array!.map { $0.double! }
        for s in 0..<o.steps {
            let r = trainer.trainStep()
            #expect(abs(r.loss - losses[s]) <= 1e-4 * max(1, losses[s]), "step \(s + 1): loss \(r.loss) vs \(losses[s])")
            #expect(abs(Double(r.lr) - lrs[s]) <= 1e-9, "step \(s + 1): lr")
            #expect(abs(Double(r.gradNorm) - norms[s]) <= 1e-3 * norms[s], "step \(s + 1): grad norm \(r.gradNorm) vs \(norms[s])")
        }
    }

    @Test func badShardsFailBeforeTraining() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-shards-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.bin").path
        try TokenShard.write([1, 2, 3, 70], to: good)
        #expect(throws: FormatError.self) { try TokenStream(paths: [good], vocabularySize: 64) }  // 70 ≥ vocab
        do { _ = try TokenStream(paths: [good], vocabularySize: 64) } catch { #expect(error.description.contains("70")) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        bytes.removeLast(3)
        let truncated = dir.appendingPathComponent("truncated.bin").path
        try bytes.write(to: URL(fileURLWithPath: truncated))
        #expect(throws: FormatError.self) { try TokenStream(paths: [truncated], vocabularySize: 128) }
        bytes[0] = 0
        let badMagic = dir.appendingPathComponent("magic.bin").path
        try bytes.write(to: URL(fileURLWithPath: badMagic))
        #expect(throws: FormatError.self) { try TokenStream(paths: [badMagic], vocabularySize: 128) }
        #expect(throws: FormatError.self) { try TokenStream(paths: [dir.appendingPathComponent("missing.bin").path], vocabularySize: 128) }
        let stream = try TokenStream(paths: [good, good], vocabularySize: 128)
        #expect(stream.count == 8 && stream[4] == 1 && stream[3] == 70)
    }
}

@Suite struct CheckpointTests {
    /// A checkpoint is an HF directory the inference engine loads; its mean NLL on a sequence equals the training
    /// forward's loss on the same tokens, and the optimizer state round-trips exactly.
    @Test func checkpointLoadsForInferenceAndRoundTrips() throws {
        let g = GradientTests.golden
        let slab = ParameterSlab(config: g.config)
        slab.initialize(seed: 3, std: 0.05)
        let inputs = Array(g.ids("inputs").prefix(8)), targets = Array(g.ids("targets").prefix(8))
        let model = TrainingModel(slab: slab, batch: 1, seq: 8, threads: 2)
        let trainLoss = model.forwardBackward(inputs: inputs, targets: targets) / 8
        let opt = AdamW(slab: slab)
        opt.update(lr: 1e-3)
        let after = TrainingModel(slab: slab, batch: 1, seq: 8, threads: 2).forwardBackward(inputs: inputs, targets: targets) / 8
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-ckpt-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Checkpoint.saveInBackground(slab, optimizer: opt, state: .init(step: 1, seed: 3, sequencesPerStep: 1, seq: 8),
                                    runDirectory: dir, keep: 1).wait()
        let saved = try #require(Checkpoint.list(dir).last)
        let weights = try ModelWeights.load(path: saved)
        let nll = Transformer(weights: weights).meanNLL([inputs[0]] + targets)
        #expect(abs(nll - after) < 1e-5 * after, "inference \(nll) vs training \(after)")
        #expect(abs(after - trainLoss) > 0, "the update changed the model")
        let restored = ParameterSlab(config: g.config)
        let opt2 = AdamW(slab: restored)
        let state = try Checkpoint.load(saved, into: restored, optimizer: opt2)
        #expect(state.step == 1)
        #expect((0..<slab.count).allSatisfy { slab.values[$0] == restored.values[$0] && opt.m[$0] == opt2.m[$0] && opt.v[$0] == opt2.v[$0] })
        // A checkpoint for another shape is refused, naming the tensor.
        let other = ParameterSlab(config: ModelConfig(vocabularySize: 64, hiddenSize: 64, intermediateSize: 48, layerCount: 2,
                                                      headCount: 4, kvHeadCount: 2))
        #expect(throws: FormatError.self) { try Checkpoint.load(saved, into: other, optimizer: nil) }
    }

    /// The background checkpoint writes from the live slab (no copy); the optimizer's next update waits for it, so
    /// the files hold the snapshot of the moment of the call even when an update follows at once. A model of 2 M
    /// parameters (16 MB per file) keeps the writer busy while the update is attempted.
    @Test func checkpointIsTheSnapshotEvenIfAnUpdateFollowsAtOnce() throws {
        let c = ModelConfig(vocabularySize: 8192, hiddenSize: 128, intermediateSize: 256, layerCount: 2, headCount: 4, kvHeadCount: 2)
        let slab = ParameterSlab(config: c)
        slab.initialize(seed: 9, std: 0.02)
        for i in 0..<slab.count { slab.grads[i] = Float(i % 13) * 1e-3 - 6e-3 }
        let opt = AdamW(slab: slab)
        opt.update(lr: 1e-2)
        let values = Array(UnsafeBufferPointer(start: slab.values, count: slab.count))
        let (m, v) = (Array(UnsafeBufferPointer(start: opt.m, count: slab.count)), Array(UnsafeBufferPointer(start: opt.v, count: slab.count)))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-ckpt-live-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pending = Checkpoint.saveInBackground(slab, optimizer: opt, state: .init(step: 1, seed: 9, sequencesPerStep: 1, seq: 8),
                                                  runDirectory: dir, keep: 1)
        opt.update(lr: 1e-2)  // waits for the write, then changes every parameter and moment
        pending.wait()
        #expect(slab.values[0] != values[0], "the second update ran")
        let restored = ParameterSlab(config: c), opt2 = AdamW(slab: restored)
        _ = try Checkpoint.load(try #require(Checkpoint.list(dir).last), into: restored, optimizer: opt2)
        #expect((0..<slab.count).allSatisfy { restored.values[$0] == values[$0] && opt2.m[$0] == m[$0] && opt2.v[$0] == v[$0] })
    }
}
