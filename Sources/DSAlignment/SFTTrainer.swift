import DSTensor
import DSTraining
import Foundation

/// Supervised fine-tuning: conversations packed into rows (no cross-conversation attention or loss), loss on
/// assistant tokens only, the mean over every label token of the optimizer step (HF / TRL's normalisation with
/// gradient accumulation: `num_items_in_batch`). Each epoch reshuffles the conversations (seed + epoch) and packs
/// them in that order; an epoch's last step may be short.
public final class SFTTrainer: StepTrainer, @unchecked Sendable {
    public let options: PostTrainingOptions
    public let slab: ParameterSlab
    public let optimizer: AdamW
    let model: TrainingModel
    /// Per epoch, the packed rows; `plan[s]` = (epoch, first row, rows, label tokens) of optimizer step s.
    let epochs: [PackedRows]
    let plan: [(epoch: Int, first: Int, rows: Int, labels: Int)]
    public var totalSteps: Int { plan.count }
    public private(set) var step = 0
    public private(set) var labelTokens = 0
    /// Rows of `options.seq` tokens per optimizer step (an epoch's last step may have fewer).
    public let sequencesPerStep: Int
    public var sequenceLength: Int { options.seq }

    /// `rowsPerStep`: rows of `options.seq` tokens per optimizer step (a multiple of the micro-batch).
    public init(slab: ParameterSlab, examples: [MaskedSequence], rowsPerStep: Int, options: PostTrainingOptions) {
        precondition(rowsPerStep % options.microBatch == 0 && !examples.isEmpty)
        self.options = options
        self.slab = slab
        sequencesPerStep = rowsPerStep
        optimizer = AdamW(slab: slab, options: options.adamw, pool: WorkerPool(threads: max(1, options.threads)))
        model = TrainingModel(slab: slab, batch: options.microBatch, seq: options.seq, threads: options.threads,
                              recompute: options.recompute)
        var packed: [PackedRows] = [], plan: [(Int, Int, Int, Int)] = []
        for e in 0..<options.epochs {
            var rows = PackedRows(shuffled(examples, seed: options.seed &+ UInt64(e)), seq: options.seq)
            rows.padRows(toMultipleOf: options.microBatch)
            for first in stride(from: 0, to: rows.rows, by: rowsPerStep) {
                let count = min(rowsPerStep, rows.rows - first)
                let labels = rows.targets[(first * options.seq)..<((first + count) * options.seq)].reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
                plan.append((e, first, count, labels))
            }
            packed.append(rows)
        }
        epochs = packed
        self.plan = plan
    }

    /// Runs optimizer step `step + 1`.
    public func trainStep() -> StepRecord {
        let t0 = Date()
        let (e, first, rows, labels) = plan[step]
        let packed = epochs[e]
        slab.zeroGrads()
        var lossSum = 0.0
        let weights = [Float](repeating: 1 / Float(max(labels, 1)), count: options.microBatch * options.seq)
        for m in stride(from: first, to: first + rows, by: options.microBatch) {
            let b = packed.slice(rows: m..<(m + options.microBatch))
            lossSum += model.forwardBackward(inputs: b.inputs, targets: b.targets, positions: b.positions, rowWeights: weights)
        }
        let (lr, norm) = optimizer.alignmentStep(options, step: step, total: totalSteps, model: model)
        step += 1
        labelTokens += labels
        return StepRecord(step: step, loss: lossSum / Double(max(labels, 1)), lr: lr, gradNorm: norm, tokens: labelTokens,
                          seconds: Date().timeIntervalSince(t0), metrics: [("epoch", Double(e + 1))])
    }

    /// Mean loss per label token over `examples` (packed the same way, no gradients).
    public func evaluate(_ examples: [MaskedSequence]) -> Double {
        var rows = PackedRows(examples, seq: options.seq)
        rows.padRows(toMultipleOf: options.microBatch)
        var total = 0.0
        for m in stride(from: 0, to: rows.rows, by: options.microBatch) {
            let b = rows.slice(rows: m..<(m + options.microBatch))
            total += model.loss(inputs: b.inputs, targets: b.targets, positions: b.positions)
        }
        return total / Double(max(rows.labelCount, 1))
    }

    /// After loading a checkpoint: the step counter, optimizer step and label tokens seen so far.
    public func resume(atStep s: Int) {
        while step < s {
            labelTokens += plan[step].labels
            step += 1
        }
        optimizer.restoreStep(s)
        model.weightsDidChange()
    }
}
