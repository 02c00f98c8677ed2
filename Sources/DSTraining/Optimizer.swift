import DSTensor
import Foundation

/// torch.optim.AdamW semantics over the slab: decoupled weight decay (param ·= 1 − lr·wd) on 2-D matrices
/// only, bias-corrected moments, denominator √v̂ + ε. State (m, v, step) is one flat pair of slabs — or, under
/// data parallelism (ZeRO-1), of this rank's `range` of the flat slab only: m[i − range.lowerBound].
public final class AdamW: @unchecked Sendable {
    public struct Options: Sendable, Equatable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.95
        public var eps: Float = 1e-8
        public var weightDecay: Float = 0.1
        public init() {}
    }

    public let options: Options
    public let slab: ParameterSlab
    public let m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>
    /// Updates made (bias correction uses it). `update` advances it; `restoreStep` is the one way to set it.
    public private(set) var step = 0
    /// After loading m and v from a checkpoint (or gathering them): the number of steps they have seen.
    public func restoreStep(_ s: Int) { step = s }
    /// The part of the flat slab this optimizer owns and updates (all of it without sharding).
    public let range: Range<Int>
    private let decayMask: [Bool]  // per tensor

    let pool: WorkerPool

    public init(slab: ParameterSlab, options: Options = Options(), pool: WorkerPool = .shared, range: Range<Int>? = nil) {
        self.pool = pool
        self.slab = slab
        self.options = options
        self.range = range ?? 0..<slab.count
        let n = max(self.range.count, 1)
        m = .allocate(capacity: n)
        m.initialize(repeating: 0, count: n)
        v = .allocate(capacity: n)
        v.initialize(repeating: 0, count: n)
        decayMask = slab.tensors.map(\.isMatrix)
    }

    deinit {
        m.deallocate()
        v.deallocate()
    }

    /// A checkpoint being written from the slab and these moments: the next update waits for it.
    private var inFlightWrite: Checkpoint.PendingWrite?

    /// Makes the next `update` wait until `write` is on disk (it reads the parameters and moments in place).
    public func waitBeforeUpdate(for write: Checkpoint.PendingWrite) { inFlightWrite = write }

    /// One update with learning rate `lr` from the slab's gradients (after any checkpoint reading them is written).
    public func update(lr: Float) {
        if let w = inFlightWrite {
            w.wait()
            inFlightWrite = nil
        }
        step += 1
        let (b1, b2, eps) = (options.beta1, options.beta2, options.eps)
        let bc1 = 1 - powf(b1, Float(step)), bc2 = 1 - powf(b2, Float(step))
        let stepSize = lr / bc1
        let bc2Sqrt = bc2.squareRoot()
        let owned = range
        nonisolated(unsafe) let (p, g, m, v) = (slab.values, slab.grads, m - owned.lowerBound, v - owned.lowerBound)
        for (ti, t) in slab.tensors.enumerated() {
            let decay: Float = decayMask[ti] ? 1 - lr * options.weightDecay : 1
            let lo = max(t.offset, owned.lowerBound), hi = min(t.offset + t.count, owned.upperBound)
            guard lo < hi else { continue }
            // Elementwise and independent: split each tensor across the pool (small ones stay on one thread).
            pool.parallelFor(hi - lo, minimumChunk: 1 << 15) { range in
                for i in (lo + range.lowerBound)..<(lo + range.upperBound) {
                    p[i] *= decay
                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                    let denom = v[i].squareRoot() / bc2Sqrt + eps
                    p[i] -= stepSize * (m[i] / denom)
                }
            }
        }
    }
}

public enum GradientClipping {
    /// Global L2 norm of all gradients (before clipping), and scales them to `maxNorm` when above it —
    /// torch.nn.utils.clip_grad_norm_: coefficient maxNorm / (norm + 1e-6), clamped to 1.
    @discardableResult
    public static func clip(_ slab: ParameterSlab, maxNorm: Float) -> Float {
        clip(slab, maxNorm: maxNorm, range: 0..<slab.count) { $0 }
    }

    /// The same over this rank's `range` of the gradients; `sumAcrossRanks` turns the local sum of squares into
    /// the global one (an MPI all-reduce under data parallelism).
    public static func clip(_ slab: ParameterSlab, maxNorm: Float, range: Range<Int>, sumAcrossRanks: (Double) -> Double) -> Float {
        var ss = 0.0
        for i in range { ss += Double(slab.grads[i]) * Double(slab.grads[i]) }
        let norm = Float(sumAcrossRanks(ss).squareRoot())
        let coef = min(1, maxNorm / (norm + 1e-6))
        if coef < 1 { for i in range { slab.grads[i] *= coef } }
        return norm
    }
}

/// Learning-rate schedules; `step` is the 0-based optimizer step of `total`.
public enum LearningRateSchedule: String, Sendable, CaseIterable {
    /// The paper's: linear warmup to max over `warmup` steps, max until 80% of the steps, ×0.316 until 90%, then ×0.1.
    case multistep
    /// Same warmup, then cosine from max to 0.1·max at the last step.
    case cosine
    case constant

    public func rate(step s: Int, total: Int, warmup: Int, maxLR: Float) -> Float {
        if s < warmup && self != .constant { return maxLR * Float(s + 1) / Float(warmup) }
        switch self {
        case .constant: return maxLR
        case .multistep:
            if Double(s) < 0.8 * Double(total) { return maxLR }
            if Double(s) < 0.9 * Double(total) { return 0.316 * maxLR }
            return 0.1 * maxLR
        case .cosine:
            let span = max(total - warmup, 1)
            let progress = min(1, Double(s - warmup) / Double(span))
            return Float(0.1 + 0.9 * 0.5 * (1 + cos(Double.pi * progress))) * maxLR
        }
    }
}
