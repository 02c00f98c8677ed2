import DSTensor
import DSTraining
import Foundation

/// What alignment runs share: the optimizer step (clip, schedule, AdamW — torch semantics, from DSTraining).
public struct PostTrainingOptions: Sendable {
    public var seq = 512                   // row length (--max-length)
    public var microBatch = 4              // rows per forward/backward
    public var epochs = 1
    public var maxLR: Float = 1e-5
    public var warmup = 0
    public var schedule = LearningRateSchedule.cosine
    public var clip: Float = 1.0
    public var adamw = AdamW.Options()
    public var seed: UInt64 = 42
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Activation checkpointing per layer (TrainingModel.recompute).
    public var recompute = false
    public init() {}
}

extension AdamW {
    /// Clip, schedule, update: one optimizer step after the gradients are in the slab. The gradients stay
    /// unclipped in the slab: AdamW multiplies them by the clipping coefficient as it reads them.
    func alignmentStep(_ o: PostTrainingOptions, step: Int, total: Int, model: TrainingModel) -> (lr: Float, norm: Float) {
        let (norm, clipping) = GradientClipping.coefficient(slab, maxNorm: o.clip, range: 0..<slab.count, pool: pool) { $0 }
        let lr = o.schedule.rate(step: step, total: total, warmup: o.warmup, maxLR: o.maxLR)
        update(lr: lr, gradientScale: clipping, roundedCopy: model.roundedWeightBits)
        if model.roundedWeightBits != nil { model.weightsWereRounded() } else { model.weightsDidChange() }
        return (lr, norm)
    }
}

/// Seeded Fisher–Yates with SplitMix64 (the same order on every machine).
func shuffled<T>(_ a: [T], seed: UInt64) -> [T] {
    var a = a, rng = SplitMix64(seed: seed)
    if a.count > 1 { for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) } }
    return a
}
