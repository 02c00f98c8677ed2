import DSTensor
import Foundation

/// Causal GQA attention for training, f32, blocked by query rows (flash-style): for each (sequence, head) and block
/// of `queryBlock` query rows, the block's scores against the keys it can see are one GEMM, the softmax one
/// vectorised pass over the block's rows (on the pool), and the output one more GEMM. Only a block of scores is ever
/// held ([queryBlock × seq], not [seq × seq]), so memory does not grow with the square of the sequence.
///
/// The backward recomputes the block's probabilities from q, k and the log-sum-exp the forward saved (nothing of
/// size seq² is kept between the passes): dP = dO·Vᵀ, dS = P ⊙ (dP − Σ P·dP), dQ = dS·K/√hd, dK += dSᵀ·Q/√hd,
/// dV += Pᵀ·dO — five GEMMs per block.
///
/// Masking: row t of a sequence attends to keys first(t)…t, first(t) = t − position(t) (packed documents restart
/// their positions at 0 and never see each other). A block computes keys from the smallest first(t) of its rows to
/// its last row; scores outside a row's window get probability 0. Blocks of 128 rows at seq 512 compute 1.25× the
/// causal triangle's products, in GEMMs large enough to run near the f32 GEMM's speed.
final class BlockedAttention: @unchecked Sendable {
    let batch: Int, seq: Int, heads: Int, kvHeads: Int, headDim: Int
    let queryBlock: Int
    let pool: WorkerPool
    /// [queryBlock × seq] each: scores then probabilities; dP then dS.
    private let scores, scoreGrads: UnsafeMutablePointer<Float>

    init(batch: Int, seq: Int, heads: Int, kvHeads: Int, headDim: Int, pool: WorkerPool, queryBlock: Int = 128) {
        (self.batch, self.seq, self.heads, self.kvHeads, self.headDim) = (batch, seq, heads, kvHeads, headDim)
        self.queryBlock = max(1, min(queryBlock, seq))
        self.pool = pool
        let size = self.queryBlock * seq
        scores = .allocate(capacity: size)
        scores.initialize(repeating: 0, count: size)
        scoreGrads = .allocate(capacity: size)
        scoreGrads.initialize(repeating: 0, count: size)
    }

    deinit {
        scores.deallocate()
        scoreGrads.deallocate()
    }

    /// One block of one head: rows t0..<t1 of sequence b, keys k0..<t1.
    private struct Block {
        let b: Int, h: Int, kvh: Int, t0: Int, t1: Int, k0: Int
        var rows: Int { t1 - t0 }
        var keys: Int { t1 - k0 }
    }

    /// Every block in a fixed order (sequence, head, query block); the key range starts at the earliest document
    /// start among the block's rows.
    private func blocks(positions: UnsafePointer<Int32>) -> [Block] {
        var out: [Block] = []
        let groups = heads / kvHeads
        for b in 0..<batch {
            for t0 in stride(from: 0, to: seq, by: queryBlock) {
                let t1 = min(t0 + queryBlock, seq)
                var k0 = t0
                for t in t0..<t1 { k0 = min(k0, t - Int(positions[b * seq + t])) }
                for h in 0..<heads { out.append(Block(b: b, h: h, kvh: h / groups, t0: t0, t1: t1, k0: k0)) }
            }
        }
        return out
    }

    /// o[b, t, h] = Σ_s softmax_s(q·k_s / √hd) v_s over the row's window; lse[(b·H + h)·T + t] saved for the backward.
    func forward(_ o: UnsafeMutablePointer<Float>, _ lse: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
                 k: UnsafePointer<Float>, v: UnsafePointer<Float>, positions: UnsafePointer<Int32>, threads: Int) {
        let (qw, kw, hd, seq, heads) = (heads * headDim, kvHeads * headDim, headDim, seq, heads)
        let scale = 1 / Float(hd).squareRoot()
        nonisolated(unsafe) let (s, lse, positions) = (scores, lse, positions)
        for blk in blocks(positions: positions) {
            let (rows, keys) = (blk.rows, blk.keys)
            let qRows = q + (blk.b * seq + blk.t0) * qw + blk.h * hd
            let kRows = blk.b * seq + blk.k0
            Gemm.multiply(transposeA: false, transposeB: true, m: rows, n: keys, k: hd, alpha: scale, a: qRows, lda: qw,
                          b: k + kRows * kw + blk.kvh * hd, ldb: kw, beta: 0, c: s, ldc: keys, threads: threads)
            pool.parallelFor(rows, minimumChunk: 8) { range in
                for i in range {
                    let t = blk.t0 + i, row = blk.b * seq + t
                    let (lo, hi) = (t - Int(positions[row]) - blk.k0, t - blk.k0 + 1)
                    lse[(blk.b * heads + blk.h) * seq + t] = Self.softmaxRow(s + i * keys, count: keys, window: lo..<hi)
                }
            }
            Gemm.multiply(transposeA: false, transposeB: false, m: rows, n: hd, k: keys, a: s, lda: keys,
                          b: v + kRows * kw + blk.kvh * hd, ldb: kw, beta: 0,
                          c: o + (blk.b * seq + blk.t0) * qw + blk.h * hd, ldc: qw, threads: threads)
        }
    }

    /// dq (overwritten), dk and dv (accumulated: callers zero them; the heads of a group share k and v) from dout.
    func backward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                  dout: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                  lse: UnsafePointer<Float>, positions: UnsafePointer<Int32>, threads: Int) {
        let (qw, kw, hd, seq, heads) = (heads * headDim, kvHeads * headDim, headDim, seq, heads)
        let scale = 1 / Float(hd).squareRoot()
        nonisolated(unsafe) let (p, ds, lse, positions) = (scores, scoreGrads, lse, positions)
        for blk in blocks(positions: positions) {
            let (rows, keys) = (blk.rows, blk.keys)
            let qOff = (blk.b * seq + blk.t0) * qw + blk.h * hd, kvOff = (blk.b * seq + blk.k0) * kw + blk.kvh * hd
            Gemm.multiply(transposeA: false, transposeB: true, m: rows, n: keys, k: hd, alpha: scale, a: q + qOff, lda: qw,
                          b: k + kvOff, ldb: kw, beta: 0, c: p, ldc: keys, threads: threads)
            Gemm.multiply(transposeA: false, transposeB: true, m: rows, n: keys, k: hd, a: dout + qOff, lda: qw,
                          b: v + kvOff, ldb: kw, beta: 0, c: ds, ldc: keys, threads: threads)
            pool.parallelFor(rows, minimumChunk: 8) { range in
                for i in range {
                    let t = blk.t0 + i, row = blk.b * seq + t
                    let (lo, hi) = (t - Int(positions[row]) - blk.k0, t - blk.k0 + 1)
                    Self.softmaxGradientRow(p: p + i * keys, dp: ds + i * keys, count: keys, window: lo..<hi,
                                            lse: lse[(blk.b * heads + blk.h) * seq + t])
                }
            }
            // dS carries no 1/√hd yet: the two products that read it apply it as alpha.
            Gemm.multiply(transposeA: false, transposeB: false, m: rows, n: hd, k: keys, alpha: scale, a: ds, lda: keys,
                          b: k + kvOff, ldb: kw, beta: 0, c: dq + qOff, ldc: qw, threads: threads)
            Gemm.multiply(transposeA: true, transposeB: false, m: keys, n: hd, k: rows, alpha: scale, a: ds, lda: keys,
                          b: q + qOff, ldb: qw, beta: 1, c: dk + kvOff, ldc: kw, threads: threads)
            Gemm.multiply(transposeA: true, transposeB: false, m: keys, n: hd, k: rows, a: p, lda: keys,
                          b: dout + qOff, ldb: qw, beta: 1, c: dv + kvOff, ldc: kw, threads: threads)
        }
    }

    /// In place on one row of (already scaled) scores: softmax over `window`, 0 outside it. Returns the log-sum-exp.
    static func softmaxRow(_ s: UnsafeMutablePointer<Float>, count: Int, window: Range<Int>) -> Float {
        s.update(repeating: 0, count: window.lowerBound)
        (s + window.upperBound).update(repeating: 0, count: count - window.upperBound)
        let x = s + window.lowerBound, n = window.count
        let mx = maximum(x, count: n)
        let sum = exponentiate(x, count: n, maxScore: mx)
        scaleInPlace(x, count: n, by: 1 / sum)
        return mx + logf(sum)
    }

    /// One row of the backward, in place: p = e^(s − lse) (scores already scaled), dS = p ⊙ (dP − Σ p·dP) inside
    /// the window, both 0 outside it.
    static func softmaxGradientRow(p: UnsafeMutablePointer<Float>, dp: UnsafeMutablePointer<Float>, count: Int,
                                   window: Range<Int>, lse: Float) {
        let tail = count - window.upperBound
        p.update(repeating: 0, count: window.lowerBound)
        dp.update(repeating: 0, count: window.lowerBound)
        (p + window.upperBound).update(repeating: 0, count: tail)
        (dp + window.upperBound).update(repeating: 0, count: tail)
        let x = p + window.lowerBound, g = dp + window.lowerBound, n = window.count
        var acc = SIMD16<Float>()
        var j = 0
        while j + 16 <= n {
            let e = exp16(load16(x + j) - SIMD16(repeating: lse))
            store16(e, x + j)
            acc.addProduct(e, load16(g + j))
            j += 16
        }
        var dot = horizontalSum(acc)
        while j < n { x[j] = expf(x[j] - lse); dot += x[j] * g[j]; j += 1 }
        j = 0
        while j + 16 <= n { store16(load16(x + j) * (load16(g + j) - SIMD16(repeating: dot)), g + j); j += 16 }
        while j < n { g[j] = x[j] * (g[j] - dot); j += 1 }
    }
}
