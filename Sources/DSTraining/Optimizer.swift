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

    /// The threads the update (and the clipping norm) run on.
    public let pool: WorkerPool

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

    /// One update with learning rate `lr` from the slab's gradients times `gradientScale` (the clipping
    /// coefficient, folded in here instead of a separate pass over the gradients), after any checkpoint reading
    /// the parameters is written. With `roundedCopy`, each updated parameter's bf16 bits are also stored at its
    /// index there (the bf16 GEMM's weights, without a second pass over the slab).
    public func update(lr: Float, gradientScale: Float = 1, roundedCopy: UnsafeMutablePointer<UInt16>? = nil) {
        precondition(roundedCopy == nil || range == 0..<slab.count, "a sharded optimizer cannot round every weight")
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
        nonisolated(unsafe) let bits = roundedCopy
        for (ti, t) in slab.tensors.enumerated() {
            let decay: Float = decayMask[ti] ? 1 - lr * options.weightDecay : 1
            let lo = max(t.offset, owned.lowerBound), hi = min(t.offset + t.count, owned.upperBound)
            guard lo < hi else { continue }
            // Elementwise and independent: split each tensor across the pool (small ones stay on one thread).
            // The 16-lane body and the scalar tail do the same operations in the same order (torch's values).
            pool.parallelFor(hi - lo, minimumChunk: 1 << 15) { range in
                var i = lo + range.lowerBound
                let end = lo + range.upperBound
                while i + 16 <= end {
                    // Blocks of 4096: the bf16 rounding reads the block's new values while they are in L1.
                    let blockEnd = i + min(4096, (end - i) & ~15)
                    let first = i
                    while i < blockEnd {
                        let gi = load16(g + i) * gradientScale
                        let mi = b1 * load16(m + i) + (1 - b1) * gi
                        let vi = b2 * load16(v + i) + (1 - b2) * gi * gi
                        let denom = vi.squareRoot() / bc2Sqrt + eps
                        store16(mi, m + i)
                        store16(vi, v + i)
                        store16(load16(p + i) * decay - stepSize * (mi / denom), p + i)
                        i += 16
                    }
                    if let bits { BFloat16.round(p + first, into: bits + first, count: i - first) }
                }
                while i < end {
                    let gi = g[i] * gradientScale
                    p[i] *= decay
                    m[i] = b1 * m[i] + (1 - b1) * gi
                    v[i] = b2 * v[i] + (1 - b2) * gi * gi
                    let denom = v[i].squareRoot() / bc2Sqrt + eps
                    p[i] -= stepSize * (m[i] / denom)
                    bits?[i] = BFloat16.fromFloat(p[i])
                    i += 1
                }
            }
        }
    }
}

public enum GradientClipping {
    /// Global L2 norm of all gradients (before clipping), and scales them to `maxNorm` when above it —
    /// torch.nn.utils.clip_grad_norm_: coefficient maxNorm / (norm + 1e-6), clamped to 1.
    @discardableResult
    public static func clip(_ slab: ParameterSlab, maxNorm: Float, pool: WorkerPool = .shared) -> Float {
        let (norm, coefficient) = coefficient(slab, maxNorm: maxNorm, range: 0..<slab.count, pool: pool) { $0 }
        if coefficient < 1 {
            nonisolated(unsafe) let g = slab.grads
            pool.parallelFor(slab.count, minimumChunk: 1 << 16) { r in for i in r { g[i] *= coefficient } }
        }
        return norm
    }

    /// The global L2 norm of the gradients in `range` and the clipping coefficient, without scaling them (the
    /// optimizer applies it: `AdamW.update(gradientScale:)`). `sumAcrossRanks` turns the local sum of squares into
    /// the global one (an MPI all-reduce under data parallelism).
    ///
    /// The sum is deterministic whatever the thread count: fixed blocks of 1024 squares (f32, 16 lanes) are each
    /// added to their chunk's f64 total, and the chunks' totals in order.
    public static func coefficient(_ slab: ParameterSlab, maxNorm: Float, range: Range<Int>, pool: WorkerPool = .shared,
                                   sumAcrossRanks: (Double) -> Double) -> (norm: Float, coefficient: Float) {
        let chunk = 1 << 16
        let chunks = (range.count + chunk - 1) / chunk
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: max(chunks, 1))
        defer { partial.deallocate() }
        nonisolated(unsafe) let (g, out, base) = (slab.grads, partial, range.lowerBound)
        let end = range.upperBound
        pool.run(tasks: chunks) { c in
            var i = base + c * chunk
            let stop = min(i + chunk, end)
            var total = 0.0
            while i + 1024 <= stop {
                var acc = SIMD16<Float>()
                for j in stride(from: i, to: i + 1024, by: 16) {
                    let x = load16(g + j)
                    acc.addProduct(x, x)
                }
                total += Double(horizontalSum(acc))
                i += 1024
            }
            while i < stop { total += Double(g[i]) * Double(g[i]); i += 1 }
            out[c] = total
        }
        var ss = 0.0
        for c in 0..<chunks { ss += partial[c] }
        let norm = Float(sumAcrossRanks(ss).squareRoot())
        return (norm, min(1, maxNorm / (norm + 1e-6)))
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
