import DSTensor
import Foundation

/// Matrix-product precision in training. Master weights, gradients, optimizer state and every other layer
/// (RMSNorm, RoPE, attention, SwiGLU, softmax cross-entropy) stay f32 in both modes.
public enum TrainingPrecision: String, Sendable, CaseIterable {
    /// Every product in f32 (exact checks against PyTorch f32).
    case f32
    /// The operands of every projection and of the LM head — forward X·Wᵀ, backward dY·W and dYᵀ·X — are
    /// rounded to bfloat16 (round to nearest even), products accumulate and land in f32: mixed precision with
    /// fp32 master weights, as on AMX. Runs on oneDNN's bf16 GEMM where the CPU has AMX / AVX512-BF16; elsewhere
    /// the same rounded operands go through the f32 GEMM (identical numbers, no speed-up).
    case bf16
}

/// Operands rounded to bf16: as 16-bit patterns for oneDNN's bf16 GEMM, or, without one, as f32 values that
/// are exactly representable in bf16.
final class BF16Operands: @unchecked Sendable {
    let native: Bool
    let capacity: Int
    let bits: UnsafeMutablePointer<UInt16>?
    let rounded: UnsafeMutablePointer<Float>?

    init(capacity: Int, native: Bool) {
        self.native = native
        self.capacity = max(capacity, 1)
        if native {
            bits = .allocate(capacity: self.capacity)
            bits!.initialize(repeating: 0, count: self.capacity)
            rounded = nil
        } else {
            rounded = .allocate(capacity: self.capacity)
            rounded!.initialize(repeating: 0, count: self.capacity)
            bits = nil
        }
    }

    deinit {
        bits?.deallocate()
        rounded?.deallocate()
    }

    /// Rounds `count` values from `src` into positions `at ..< at + count`.
    func fill(_ src: UnsafePointer<Float>, count: Int, at offset: Int = 0, pool: WorkerPool) {
        precondition(offset + count <= capacity)
        let bits = bits, rounded = rounded
        pool.parallelFor(count, minimumChunk: 1 << 16) { range in
            if let bits {
                BFloat16.round(src + range.lowerBound, into: bits + offset + range.lowerBound, count: range.count)
            } else if let rounded {
                for i in range { rounded[offset + i] = BFloat16.toFloat(BFloat16.fromFloat(src[i])) }
            }
        }
    }
}

extension TrainingModel {
    /// C = op(A)·op(B) (+ C when accumulating) on bf16-rounded operands held in `a` and `b` at the given offsets.
    func multiplyBF16(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: BF16Operands, aAt: Int, lda: Int,
                      b: BF16Operands, bAt: Int, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if let ab = a.bits, let bb = b.bits,
           Gemm.multiplyBF16(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: ab + aAt, lda: lda,
                             b: bb + bAt, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads) {
            return
        }
        // No bf16 GEMM on this CPU: the rounded values in f32 give the same products.
        Gemm.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a.rounded! + aAt, lda: lda,
                      b: b.rounded! + bAt, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
    }

    /// Where an optimizer may write the bf16 bits of the weights it updates (native bf16 GEMM only), saving the
    /// separate pass that re-rounds them; then it calls `weightsWereRounded` instead of `weightsDidChange`.
    public var roundedWeightBits: UnsafeMutablePointer<UInt16>? { bf16Weights?.bits }

    /// The optimizer wrote every weight's bf16 bits to `roundedWeightBits` along with the update.
    public func weightsWereRounded() { bf16WeightsStale = false }

    /// Re-rounds the bf16 copy of the weights from the f32 master weights (once per optimizer step).
    public func refreshLowPrecisionWeights() {
        guard let w = bf16Weights else { return }
        w.fill(slab.values, count: slab.count, pool: pool)
        bf16WeightsStale = false
    }

    func weightOffset(_ w: UnsafePointer<Float>) -> Int { UnsafePointer(slab.values).distance(to: w) }

    func linearBF16(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, rows: Int,
                    inDim: Int, outDim: Int) {
        if bf16WeightsStale { refreshLowPrecisionWeights() }
        bf16X!.fill(x, count: rows * inDim, pool: pool)
        multiplyBF16(transposeA: false, transposeB: true, m: rows, n: outDim, k: inDim, a: bf16X!, aAt: 0, lda: inDim,
                     b: bf16Weights!, bAt: weightOffset(w), ldb: inDim, beta: 0, c: out, ldc: outDim)
    }

    func linearBackwardBF16(dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dw: UnsafeMutablePointer<Float>,
                            dy: UnsafePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>, rows: Int,
                            inDim: Int, outDim: Int) {
        bf16X!.fill(x, count: rows * inDim, pool: pool)
        bf16DY!.fill(dy, count: rows * outDim, pool: pool)
        multiplyBF16(transposeA: true, transposeB: false, m: outDim, n: inDim, k: rows, a: bf16DY!, aAt: 0, lda: outDim,
                     b: bf16X!, bAt: 0, ldb: inDim, beta: 1, c: dw, ldc: inDim)
        if let dx {
            multiplyBF16(transposeA: false, transposeB: false, m: rows, n: inDim, k: outDim, a: bf16DY!, aAt: 0, lda: outDim,
                         b: bf16Weights!, bAt: weightOffset(w), ldb: inDim, beta: accumulate ? 1 : 0, c: dx, ldc: inDim)
        }
    }
}
