@testable import DSAlignment
import DSFormats
import DSModel
import DSTokenizer
import DSTraining
import Foundation
import Testing

/// SFT and DPO against transformers and TRL 1.16 (tools/golden/make_alignment_golden.py): a tiny Llama, a 384-token
/// tokenizer with the DeepSeek chat template.
@Suite struct AlignmentGoldenTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
    static let golden = try! JSONValue.parse(Array(try! Data(contentsOf: URL(fileURLWithPath: dir + "/alignment-golden.json"))))
    static let encoder = ChatEncoder(tokenizer: try! Tokenizer.load(tokenizerJSON: dir + "/tokenizer.json"))

    static func ids(_ v: JSONValue?) -> [Int32] { v!.array!.map { Int32($0.int!) } }
    static func messages(_ v: JSONValue?) -> [ChatMessage] {
        v!.array!.map { ChatMessage(role: .init(rawValue: $0["role"]!.string!)!, content: $0["content"]!.string!) }
    }
    static func tensors(_ file: String) -> [String: [Float]] {
        let f = try! SafetensorsFile(path: dir + "/" + file)
        var out: [String: [Float]] = [:]
        for t in f.tensors { out[t.name] = Array(f.data(of: t).bindMemory(to: Float.self)) }
        return out
    }
    static func worstRelative(_ slab: ParameterSlab, _ base: UnsafeMutablePointer<Float>, _ expected: [String: [Float]]) -> (Float, String) {
        var worst: (Float, String) = (0, "")
        for t in slab.tensors {
            let e = expected[t.name]!
            let scale = max(e.map { abs($0) }.max()!, 1e-12)
            for i in e.indices {
                let err = abs(base[t.offset + i] - e[i]) / scale
                if err > worst.0 { worst = (err, t.name) }
            }
        }
        return worst
    }

    @Test func chatTokenizationAndAssistantMasksMatchTRLRule() {
        let sft = Self.golden["sft"]!
        for (k, conv) in sft["messages"]!.array!.enumerated() {
            let seq = Self.encoder.sft(Self.messages(conv))!
            #expect(seq.ids == Self.ids(sft["ids"]!.array![k]), "conversation \(k) ids")
            #expect(seq.mask == sft["masks"]!.array![k].array!.map { $0.int! == 1 }, "conversation \(k) mask")
        }
        let dpo = Self.golden["dpo"]!
        for (k, pair) in dpo["pairs"]!.array!.enumerated() {
            let p = Self.encoder.preference(prompt: Self.messages(pair["prompt"]), chosen: Self.messages(pair["chosen"]),
                                            rejected: Self.messages(pair["rejected"]))
            #expect(p.prompt == Self.ids(dpo["prompt_ids"]!.array![k]))
            #expect(p.chosen == Self.ids(dpo["chosen_ids"]!.array![k]))
            #expect(p.rejected == Self.ids(dpo["rejected_ids"]!.array![k]))
        }
        for pair in Self.golden["plain"]!.array! {
            let p = Self.encoder.preference(prompt: pair["prompt"]!.string!, chosen: pair["chosen"]!.string!, rejected: pair["rejected"]!.string!)
            #expect(p == PreferencePair(prompt: Self.ids(pair["prompt_ids"]), chosen: Self.ids(pair["chosen_ids"]), rejected: Self.ids(pair["rejected_ids"])))
        }
    }

    func sftGradients(seq: Int, microBatch: Int) -> (ParameterSlab, Double) {
        let sft = Self.golden["sft"]!
        let examples = sft["ids"]!.array!.indices.map {
            MaskedSequence(ids: Self.ids(sft["ids"]!.array![$0]), mask: sft["masks"]!.array![$0].array!.map { $0.int! == 1 })
        }
        let slab = try! ParameterSlab.loading(Self.dir + "/policy")
        var rows = PackedRows(examples, seq: seq)
        rows.padRows(toMultipleOf: microBatch)
        let model = TrainingModel(slab: slab, batch: microBatch, seq: seq, threads: 2)
        model.headChunk = 7
        let labels = rows.labelCount
        slab.zeroGrads()
        var loss = 0.0
        for m in stride(from: 0, to: rows.rows, by: microBatch) {
            let b = rows.slice(rows: m..<(m + microBatch))
            loss += model.forwardBackward(inputs: b.inputs, targets: b.targets, positions: b.positions,
                                          rowWeights: [Float](repeating: 1 / Float(labels), count: microBatch * seq))
        }
        return (slab, loss / Double(labels))
    }

    /// The masked loss and every gradient equal HF's (labels -100 outside replies, one padded batch), whether the
    /// conversations are packed into one row or spread over rows and micro-batches.
    @Test(arguments: [(256, 1), (128, 1), (128, 3)])
    func sftLossAndGradientsMatchHF(seq: Int, microBatch: Int) {
        let (slab, loss) = sftGradients(seq: seq, microBatch: microBatch)
        let expected = Self.golden["sft"]!["loss"]!.double!
        #expect(abs(loss - expected) < 1e-5 * expected, "loss \(loss) vs \(expected)")
        let (err, name) = Self.worstRelative(slab, slab.grads, Self.tensors("sft-grads.safetensors"))
        #expect(err < 1e-4, "\(name): relative error \(err)")
    }

    func dpoTrainer(smoothing: Double = 0) -> (DPOTrainer, ParameterSlab) {
        let dpo = Self.golden["dpo"]!
        let pairs = dpo["prompt_ids"]!.array!.indices.map {
            PreferencePair(prompt: Self.ids(dpo["prompt_ids"]!.array![$0]), chosen: Self.ids(dpo["chosen_ids"]!.array![$0]),
                           rejected: Self.ids(dpo["rejected_ids"]!.array![$0]))
        }
        let slab = try! ParameterSlab.loading(Self.dir + "/policy")
        var o = DPOTrainer.Options()
        o.base.seq = 80
        o.base.microBatch = 2
        o.base.maxLR = Float(dpo["lr"]!.double!)
        o.base.schedule = .constant
        o.base.adamw.beta2 = 0.95
        o.base.adamw.weightDecay = 0.1
        o.base.threads = 2
        o.pairsPerStep = pairs.count
        o.beta = dpo["beta"]!.double!
        o.labelSmoothing = smoothing
        let trainer = DPOTrainer(slab: slab, pairs: pairs, options: o)
        trainer.computeReference(using: try! ParameterSlab.loading(Self.dir + "/ref"))
        return (trainer, slab)
    }

    /// Loss, every logged metric, the clipped gradient and the weights after one AdamW step equal TRL's.
    @Test func dpoStepMatchesTRL() {
        let dpo = Self.golden["dpo"]!
        let (trainer, slab) = dpoTrainer()
        #expect(trainer.microBatches(Array(trainer.pairs.indices)).count >= 2, "pairs should span micro-batches")
        let r = trainer.trainStep()
        #expect(abs(r.loss - dpo["loss"]!.double!) < 1e-5, "loss \(r.loss) vs \(dpo["loss"]!.double!)")
        for (name, value) in r.metrics {
            let want = dpo["metrics"]![name]!.double!
            #expect(abs(value - want) < 1e-5 * max(1, abs(want)), "\(name): \(value) vs \(want)")
        }
        #expect(abs(Double(r.gradNorm) - dpo["grad_norm"]!.double!) < 1e-4 * dpo["grad_norm"]!.double!, "grad norm \(r.gradNorm)")
        // The slab keeps the unclipped gradients: AdamW applies the clipping coefficient as it reads them.
        let coefficient = min(1, Float(trainer.options.base.clip) / (r.gradNorm + 1e-6))
        let clipped = UnsafeMutablePointer<Float>.allocate(capacity: slab.count)
        defer { clipped.deallocate() }
        for i in 0..<slab.count { clipped[i] = slab.grads[i] * coefficient }
        let (gErr, gName) = Self.worstRelative(slab, clipped, Self.tensors("dpo-clipped-grads.safetensors"))
        #expect(gErr < 1e-4, "\(gName): gradient relative error \(gErr)")
        // AdamW's first step is lr·g/(|g| + ε): where |g| is near ε = 1e-8 a gradient's last digits (summation order)
        // move the update by a fraction of lr. So: 2e-6 where TRL's gradient is ≥ 1e-6, 5% of lr everywhere.
        let after = Self.tensors("dpo-after-step.safetensors"), trlGrads = Self.tensors("dpo-clipped-grads.safetensors")
        var worstLarge: Float = 0, worstAll: Float = 0
        for t in slab.tensors {
            for (i, e) in after[t.name]!.enumerated() {
                let diff = abs(slab.values[t.offset + i] - e)
                worstAll = max(worstAll, diff)
                if abs(trlGrads[t.name]![i]) >= 1e-6 { worstLarge = max(worstLarge, diff) }
            }
        }
        #expect(worstLarge < 2e-6, "weights after the step differ by \(worstLarge) where |g| ≥ 1e-6")
        #expect(worstAll < 0.05 * Float(dpo["lr"]!.double!), "weights after the step differ by \(worstAll)")
    }

    /// cDPO's row weights are the derivative of its loss: finite differences in the policy log-probabilities.
    @Test func labelSmoothedLossGradientIsItsDerivative() {
        let (trainer, _) = dpoTrainer(smoothing: 0.2)
        let ref = [(-50.0, -90.0), (-10.0, -20.0)]
        func loss(_ p: [(Double, Double)]) -> Double {
            var s = DPOTrainer.PairStats()
            _ = trainer.stats(policy: p, ref: ref, total: 2, into: &s)
            return s.loss
        }
        let policy = [(-48.0, -91.0), (-12.0, -15.0)]
        var s = DPOTrainer.PairStats()
        let d = trainer.stats(policy: policy, ref: ref, total: 2, into: &s)
        for k in 0..<2 {
            var up = policy, down = policy
            up[k].0 += 1e-4
            down[k].0 -= 1e-4
            let numeric = (loss(up) - loss(down)) / 2e-4
            #expect(abs(numeric - d[k]) < 1e-6, "pair \(k): \(d[k]) vs finite difference \(numeric)")
            var upR = policy, downR = policy
            upR[k].1 += 1e-4
            downR[k].1 -= 1e-4
            #expect(abs((loss(upR) - loss(downR)) / 2e-4 + d[k]) < 1e-6)
        }
        // ε = 0.2 at δ = 0 gives log 2 whatever ε; away from 0 it differs from plain DPO.
        #expect(abs(loss(ref) - log(2.0)) < 1e-12)
    }
}
