import DSTensor
import DSTraining
import Foundation

/// DPO (Rafailov et al.) with TRL's DPOTrainer semantics (sigmoid loss): a sequence's log-probability is the sum
/// over its completion tokens; δ = (π_c − ref_c) − (π_r − ref_r); loss = mean over pairs of −log σ(β·δ).
/// With label smoothing ε > 0 it is conservative DPO (cDPO): −(1 − ε)·log σ(βδ) − ε·log σ(−βδ). (TRL 1.16's
/// "sigmoid" loss has no smoothing; ε = 0 is its loss.) Reference log-probabilities are computed once up front.
///
/// Pairs are packed into micro-batches (several sequences per row, no cross-sequence attention), a pair's
/// chosen and rejected always in the same micro-batch: one forward gives both log-probabilities, the row weights
/// d(loss)/d(token cross-entropy) = ∓β·(σ(βδ) − (1 − ε))/N follow, and one backward applies them.
public final class DPOTrainer: StepTrainer, @unchecked Sendable {
    public struct Options: Sendable {
        public var base = PostTrainingOptions()
        public var pairsPerStep = 8
        public var beta: Double = 0.1
        public var labelSmoothing: Double = 0
        public init() {}
    }

    /// Per-pair numbers of one batch and their means (TRL's metric names).
    public struct PairStats: Sendable {
        public var loss = 0.0, chosenReward = 0.0, rejectedReward = 0.0, accuracy = 0.0, margin = 0.0, chosenLogp = 0.0, rejectedLogp = 0.0
        public var metrics: [(String, Double)] {
            [("rewards/chosen", chosenReward), ("rewards/rejected", rejectedReward), ("rewards/accuracies", accuracy),
             ("rewards/margins", margin), ("logps/chosen", chosenLogp), ("logps/rejected", rejectedLogp)]
        }
    }

    public let options: Options
    public let slab: ParameterSlab
    public let optimizer: AdamW
    let model: TrainingModel
    public let pairs: [PreferencePair]
    /// ref[i] = (chosen, rejected) summed completion log-probabilities of pair i under the reference model.
    public private(set) var reference: [(chosen: Double, rejected: Double)] = []
    let plan: [[Int]]   // pair indices of each optimizer step
    public var totalSteps: Int { plan.count }
    public private(set) var step = 0
    public private(set) var tokens = 0
    /// A checkpoint records pairs per step as its "rows" (a pair's two sequences share a micro-batch).
    public var sequencesPerStep: Int { options.pairsPerStep }
    public var sequenceLength: Int { options.base.seq }

    public init(slab: ParameterSlab, pairs: [PreferencePair], options: Options) {
        precondition(options.base.microBatch >= 2, "a pair needs up to two rows")
        precondition(pairs.allSatisfy { $0.prompt.count + max($0.chosen.count, $0.rejected.count) <= options.base.seq })
        self.options = options
        self.slab = slab
        self.pairs = pairs
        optimizer = AdamW(slab: slab, options: options.base.adamw, pool: WorkerPool(threads: max(1, options.base.threads)))
        model = TrainingModel(slab: slab, batch: options.base.microBatch, seq: options.base.seq, threads: options.base.threads,
                              recompute: options.base.recompute)
        var plan: [[Int]] = []
        for e in 0..<options.base.epochs {
            let order = shuffled(Array(pairs.indices), seed: options.base.seed &+ UInt64(e))
            for s in stride(from: 0, to: order.count, by: options.pairsPerStep) { plan.append(Array(order[s..<min(s + options.pairsPerStep, order.count)])) }
        }
        self.plan = plan
    }

    /// Micro-batches of whole pairs: each is packed rows plus, per pair, the spans of its two sequences.
    func microBatches(_ indices: [Int]) -> [(rows: PackedRows, pairs: [Int])] {
        Self.microBatches(pairs, indices, rows: options.base.microBatch, seq: options.base.seq)
    }

    static func microBatches(_ pairs: [PreferencePair], _ indices: [Int], rows B: Int, seq T: Int) -> [(rows: PackedRows, pairs: [Int])] {
        var out: [(PackedRows, [Int])] = []
        var current = PackedRows(seq: T), members: [Int] = []
        for i in indices {
            var trial = current
            trial.append(pairs[i].chosenSequence)
            trial.append(pairs[i].rejectedSequence)
            trial.finishRow()
            if trial.rows > B {
                current.padRows(toMultipleOf: B)
                out.append((current, members))
                current = PackedRows(seq: T)
                members = []
                current.append(pairs[i].chosenSequence)
                current.append(pairs[i].rejectedSequence)
            } else {
                current.append(pairs[i].chosenSequence)
                current.append(pairs[i].rejectedSequence)
            }
            members.append(i)
        }
        if !members.isEmpty {
            current.padRows(toMultipleOf: B)
            out.append((current, members))
        }
        return out
    }

    /// Summed completion log-probabilities (chosen, rejected) of each pair of a packed micro-batch, from the
    /// forward's per-row losses; spans come in pair order, chosen then rejected.
    static func logps(_ rows: PackedRows, count: Int, rowLosses: [Float]) -> [(Double, Double)] {
        (0..<count).map { k in
            func sum(_ span: (start: Int, count: Int)) -> Double {
                var s = 0.0
                for j in span.start..<(span.start + span.count) where rows.targets[j] >= 0 { s -= Double(rowLosses[j]) }
                return s
            }
            return (sum(rows.spans[2 * k]), sum(rows.spans[2 * k + 1]))
        }
    }

    /// The reference log-probabilities under the current weights (call before training), or under `referenceSlab`.
    public func computeReference(using referenceSlab: ParameterSlab? = nil) {
        reference = Self.logProbabilities(of: pairs, model: referenceSlab.map {
            TrainingModel(slab: $0, batch: options.base.microBatch, seq: options.base.seq, threads: options.base.threads,
                          recompute: options.base.recompute)
        } ?? model)
    }

    /// Summed completion log-probabilities (chosen, rejected) of every pair under `slab` (no optimizer state made).
    public static func logProbabilities(of pairs: [PreferencePair], slab: ParameterSlab, options o: PostTrainingOptions) -> [(chosen: Double, rejected: Double)] {
        // Forward only: with `recompute` it keeps one layer's activations, as the trainer's own model does.
        logProbabilities(of: pairs, model: TrainingModel(slab: slab, batch: o.microBatch, seq: o.seq, threads: o.threads,
                                                         recompute: o.recompute))
    }

    static func logProbabilities(of pairs: [PreferencePair], model: TrainingModel) -> [(chosen: Double, rejected: Double)] {
        var ref = [(chosen: Double, rejected: Double)](repeating: (0, 0), count: pairs.count)
        var losses = [Float](repeating: 0, count: model.batch * model.seq)
        for (rows, members) in microBatches(pairs, Array(pairs.indices), rows: model.batch, seq: model.seq) {
            model.forward(inputs: rows.inputs, targets: rows.targets, positions: rows.positions, rowLosses: &losses)
            for (k, lp) in Self.logps(rows, count: members.count, rowLosses: losses).enumerated() { ref[members[k]] = (lp.0, lp.1) }
        }
        return ref
    }

    /// Reference log-probabilities saved by an earlier run (resume).
    public func setReference(_ r: [(chosen: Double, rejected: Double)]) {
        precondition(r.count == pairs.count)
        reference = r
    }

    static func logSigmoid(_ x: Double) -> Double { x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)) }
    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

    /// Loss and metrics of pairs with policy log-probabilities `policy` and reference `ref`; `weights` gets
    /// d(mean loss over n pairs)/d(π_c) per pair (d/dπ_r is its negative).
    func stats(policy: [(Double, Double)], ref: [(Double, Double)], total n: Int, into s: inout PairStats) -> [Double] {
        let (beta, eps) = (options.beta, options.labelSmoothing)
        var dPolicy: [Double] = []
        for (p, r) in zip(policy, ref) {
            let z = beta * ((p.0 - r.0) - (p.1 - r.1))
            s.loss += (-(1 - eps) * Self.logSigmoid(z) - eps * Self.logSigmoid(-z)) / Double(n)
            let rc = beta * (p.0 - r.0), rr = beta * (p.1 - r.1)
            s.chosenReward += rc / Double(n)
            s.rejectedReward += rr / Double(n)
            s.accuracy += (rc > rr ? 1 : 0) / Double(n)
            s.margin += (rc - rr) / Double(n)
            s.chosenLogp += p.0 / Double(n)
            s.rejectedLogp += p.1 / Double(n)
            // dL/dz = σ(z) − (1 − ε); dz/dπ_c = β.
            dPolicy.append(beta * (Self.sigmoid(z) - (1 - eps)) / Double(n))
        }
        return dPolicy
    }

    /// Runs optimizer step `step + 1`.
    public func trainStep() -> StepRecord {
        precondition(reference.count == pairs.count, "computeReference() first")
        let t0 = Date()
        let indices = plan[step]
        slab.zeroGrads()
        var s = PairStats()
        var losses = [Float](repeating: 0, count: options.base.microBatch * options.base.seq)
        var seen = 0
        for (rows, members) in microBatches(indices) {
            model.forward(inputs: rows.inputs, targets: rows.targets, positions: rows.positions, rowLosses: &losses)
            let policy = Self.logps(rows, count: members.count, rowLosses: losses)
            let dPolicy = stats(policy: policy, ref: members.map { (reference[$0].chosen, reference[$0].rejected) }, total: indices.count, into: &s)
            // logp = −Σ cross-entropy, so d(loss)/d(CE_t) = −dL/dπ on chosen tokens and +dL/dπ on rejected ones.
            var w = [Float](repeating: 0, count: losses.count)
            for (k, d) in dPolicy.enumerated() {
                let (c, r) = (rows.spans[2 * k], rows.spans[2 * k + 1])
                for j in c.start..<(c.start + c.count) { w[j] = Float(-d) }
                for j in r.start..<(r.start + r.count) { w[j] = Float(d) }
                seen += c.count + r.count
            }
            model.backward(rowWeights: w)
        }
        let (lr, norm) = optimizer.alignmentStep(options.base, step: step, total: totalSteps, model: model)
        step += 1
        tokens += seen
        return StepRecord(step: step, loss: s.loss, lr: lr, gradNorm: norm, tokens: tokens, seconds: Date().timeIntervalSince(t0),
                          metrics: s.metrics)
    }

    /// Loss and metrics over `pairs` with the current weights (no update), against their reference log-probs.
    public func evaluate(_ evalPairs: [PreferencePair], reference ref: [(chosen: Double, rejected: Double)]) -> PairStats {
        var s = PairStats()
        var losses = [Float](repeating: 0, count: options.base.microBatch * options.base.seq)
        for (rows, members) in Self.microBatches(evalPairs, Array(evalPairs.indices), rows: options.base.microBatch, seq: options.base.seq) {
            model.forward(inputs: rows.inputs, targets: rows.targets, positions: rows.positions, rowLosses: &losses)
            let policy = Self.logps(rows, count: members.count, rowLosses: losses)
            _ = stats(policy: policy, ref: members.map { (ref[$0].chosen, ref[$0].rejected) }, total: evalPairs.count, into: &s)
        }
        return s
    }

    public func resume(atStep s: Int) {
        while step < s {
            for i in plan[step] { tokens += pairs[i].chosenSequence.ids.count + pairs[i].rejectedSequence.ids.count }
            step += 1
        }
        optimizer.restoreStep(s)
        model.weightsDidChange()
    }
}
