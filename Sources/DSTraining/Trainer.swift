import DSModel
import DSTensor
import Foundation

/// Pre-training's optimizer step: micro-batches accumulated into one step, clipping, the schedule, AdamW, and one
/// StepRecord per step (TrainingRun drives the run). Data is llm.c's sequential order, so a run can be replayed
/// by other tools.
public final class Trainer: StepTrainer, @unchecked Sendable {
    public struct Options: Sendable {
        public var microBatch = 4            // B: sequences per forward/backward
        public var microBatches = 1          // gradient accumulation steps per optimizer step
        public var seq = 512                 // T
        public var steps = 100               // S
        public var warmup = 2000
        public var maxLR: Float = 4.2e-4
        public var schedule = LearningRateSchedule.multistep
        public var clip: Float = 1.0
        public var adamw = AdamW.Options()
        public var threads = ProcessInfo.processInfo.activeProcessorCount
        public var precision = TrainingPrecision.f32
        /// Activation checkpointing per layer (TrainingModel.recompute).
        public var recompute = false
        public init() {}
        /// Sequences per optimizer step (G) and tokens per step.
        public var sequencesPerStep: Int { microBatch * microBatches }
        public var tokensPerStep: Int { sequencesPerStep * seq }
    }

    public let options: Options
    public let slab: ParameterSlab
    public let optimizer: AdamW
    public let data: SequentialBatches
    let model: TrainingModel
    /// Data parallelism (one rank without mpirun): which micro-batches are ours, and which part of the optimizer.
    public let parallel: DataParallel
    /// Optimizer steps done (the next step is `step + 1`).
    public private(set) var step = 0
    public var totalSteps: Int { options.steps }
    public var sequencesPerStep: Int { options.sequencesPerStep }
    public var sequenceLength: Int { options.seq }
    public var sequenceNoun: String { "sequences" }

    public init(slab: ParameterSlab, data: SequentialBatches, options: Options, parallel: DataParallel = .single) {
        precondition(data.seq == options.seq)
        precondition(options.microBatches % parallel.size == 0, "micro-batches per step must divide among the ranks")
        self.options = options
        self.slab = slab
        self.data = data
        self.parallel = parallel
        optimizer = AdamW(slab: slab, options: options.adamw, pool: WorkerPool(threads: max(1, options.threads)),
                          range: parallel.shard(of: slab.count))
        model = TrainingModel(slab: slab, batch: options.microBatch, seq: options.seq, threads: options.threads,
                              precision: options.precision, recompute: options.recompute)
    }

    /// Runs optimizer step `step + 1`.
    public func trainStep() -> StepRecord {
        let t0 = Date()
        let o = options
        slab.zeroGrads()
        var lossSum = 0.0
        let scale = 1 / Float(o.microBatches)
        // This rank's contiguous share of the global batch's micro-batches (all of them on one rank).
        let perRank = o.microBatches / parallel.size
        // Data parallel: the last micro-batch's backward hands each finished layer to the reduce-scatter thread.
        let overlap = parallel.size > 1 ? DataParallel.OverlappedReduceScatter(parallel, data: slab.grads, count: slab.count) : nil
        for m in (parallel.rank * perRank)..<((parallel.rank + 1) * perRank) {
            let first = step * o.sequencesPerStep + m * o.microBatch
            let (x, y) = data.batch(first: first, count: o.microBatch)
            let last = m == (parallel.rank + 1) * perRank - 1
            lossSum += model.forwardBackward(inputs: x, targets: y, lossScale: scale,
                                             gradientsReady: last ? overlap.map { o in { o.enqueue($0) } } : nil)
        }
        var comm = 0.0
        func timed<T>(_ body: () -> T) -> T {
            let t = Date()
            defer { comm += Date().timeIntervalSince(t) }
            return body()
        }
        // What is left of the reduce-scatter after the backward is the exposed communication.
        timed { overlap?.wait() }
        if let overlap { precondition(overlap.covered == slab.count, "the backward reported \(overlap.covered) of \(slab.count) gradients") }
        lossSum = timed { parallel.sum(lossSum) }
        let (norm, clipping) = GradientClipping.coefficient(slab, maxNorm: o.clip, range: optimizer.range, pool: optimizer.pool) { x in
            timed { parallel.sum(x) }
        }
        let lr = o.schedule.rate(step: step, total: o.steps, warmup: o.warmup, maxLR: o.maxLR)
        // One rank updates every weight, so the bf16 copy can be rounded in the same pass; ranks that gather the
        // others' shards re-round after the gather.
        let rounded = parallel.size == 1 ? model.roundedWeightBits : nil
        optimizer.update(lr: lr, gradientScale: clipping, roundedCopy: rounded)
        timed { parallel.allGather(slab.values, count: slab.count) }
        if rounded != nil { model.weightsWereRounded() } else { model.weightsDidChange() }
        step += 1
        return StepRecord(step: step, loss: lossSum / Double(o.tokensPerStep), lr: lr, gradNorm: norm,
                          tokens: step * o.tokensPerStep, seconds: Date().timeIntervalSince(t0),
                          communicationSeconds: parallel.size > 1 ? comm : nil)
    }

    /// Mean token cross-entropy over the first `batches` micro-batches of a validation stream (same B and T).
    public func validationLoss(_ data: SequentialBatches, batches: Int) -> Double {
        var total = 0.0
        for m in 0..<batches {
            let (x, y) = data.batch(first: m * options.microBatch, count: options.microBatch)
            total += model.loss(inputs: x, targets: y)
        }
        return total / Double(batches * options.microBatch * options.seq)
    }

    /// Restores the step counter after loading a checkpoint (data position follows from it).
    public func resume(atStep s: Int) {
        step = s
        model.weightsDidChange()
        optimizer.restoreStep(s)
    }
}
