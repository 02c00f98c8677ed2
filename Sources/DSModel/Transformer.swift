import DSTensor
import Foundation

/// The forward pass of a LLaMA-style decoder over one sequence, llama2.c style: every buffer, the KV
/// cache included, is allocated once in `init`, and `forward(token:position:)` allocates nothing.
///
/// Activations are f32; weights are read in their stored type by the row kernels of `WeightMatrix`,
/// split across the worker pool. `prefill` (Transformer+Prefill) runs a batch of tokens through each
/// matrix at once and `decodeBatch` (Transformer+Batch) advances several sequences in one pass over the
/// weights. The KV cache holds `maxSequence` positions: pass the context you need, not the model's maximum.
public final class Transformer {
    public let weights: ModelWeights
    public let config: ModelConfig
    public let maxSequence: Int
    /// Tokens currently in the KV cache.
    public internal(set) var length = 0

    let x, xb, xb2, q, k, v, hb, hb2, att, scratch, logits: UnsafeMutablePointer<Float>
    public let cache: KVCache
    let cosTable, sinTable: UnsafeMutablePointer<Float>

    /// Buffers for `decodeBatch` when this sequence leads a batch (allocated on first use).
    var batchBuffers: BatchBuffers?

    /// Threads used for the matrix-vector products (the pool's, all cores by default).
    public let threads: Int
    let pool: WorkerPool

    public init(weights: ModelWeights, maxSequence requested: Int? = nil, threads: Int? = nil,
                cache precision: KVCache.Precision = .f32, pool: WorkerPool = .shared) {
        self.weights = weights
        self.pool = pool
        self.threads = max(1, min(threads ?? pool.threadCount, pool.threadCount))
        let c = weights.config
        config = c
        let maxSequence = min(requested ?? c.maxPositions, c.maxPositions)
        self.maxSequence = maxSequence
        func alloc(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        x = alloc(c.hiddenSize)
        xb = alloc(max(c.hiddenSize, c.queryDim))
        xb2 = alloc(c.hiddenSize)
        q = alloc(c.queryDim)
        k = alloc(c.kvDim)
        v = alloc(c.kvDim)
        hb = alloc(c.intermediateSize)
        hb2 = alloc(c.intermediateSize)
        att = alloc(maxSequence)
        scratch = alloc(max(c.hiddenSize, c.intermediateSize, c.queryDim))
        logits = alloc(c.vocabularySize)
        cache = KVCache(layers: c.layerCount, positions: maxSequence, kvDim: c.kvDim, precision: precision)
        // RoPE angles as transformers computes them: inv_freq = 1 / theta^(2i/d) in f32, angle = pos·inv_freq.
        let half = c.headDim / 2
        cosTable = alloc(maxSequence * half)
        sinTable = alloc(maxSequence * half)
        for i in 0..<half {
            let invFreq = 1 / powf(c.ropeTheta, Float(2 * i) / Float(c.headDim))
            for pos in 0..<maxSequence {
                let angle = Float(pos) * invFreq
                cosTable[pos * half + i] = cosf(angle)
                sinTable[pos * half + i] = sinf(angle)
            }
        }
    }

    deinit {
        for p in [x, xb, xb2, q, k, v, hb, hb2, att, scratch, logits, cosTable, sinTable] {
            p.deallocate()
        }
    }

    /// Forgets the cached sequence.
    public func reset() { length = 0 }

    /// Keeps the first `n` cached tokens and forgets the rest (their keys and values are overwritten by the next
    /// tokens): a shared prefix is computed once and each continuation is run after it.
    public func truncate(to n: Int) { length = min(length, max(0, n)) }

    /// Runs one token at `position` (= the number of tokens already cached) and returns the logits.
    public func forward(token: Int32, position: Int) -> UnsafeBufferPointer<Float> {
        let c = config
        precondition(position == length && position < maxSequence, "position \(position) out of order or past the context")
        precondition(token >= 0 && Int(token) < c.vocabularySize, "token \(token) outside the vocabulary")
        weights.embedding.row(Int(token), into: x)
        let groups = c.headCount / c.kvHeadCount
        for (l, w) in weights.layers.enumerated() {
            rmsNorm(x, w.attentionNorm, xb, c.hiddenSize, c.rmsNormEps)
            mul(w.wq, xb, q)
            mul(w.wk, xb, k)
            mul(w.wv, xb, v)
            for h in 0..<c.headCount { rope(q + h * c.headDim, position) }
            for h in 0..<c.kvHeadCount { rope(k + h * c.headDim, position) }
            cache.store(layer: l, position: position, keys: k, values: v)
            // Causal attention over the cache, f32 scores and accumulation.
            for h in 0..<c.headCount {
                attend(q + h * c.headDim, layer: l, last: position, kvOffset: (h / groups) * c.headDim, scores: att,
                       out: xb + h * c.headDim)
            }
            mul(w.wo, xb, xb2)
            for i in 0..<c.hiddenSize { x[i] += xb2[i] }
            rmsNorm(x, w.ffnNorm, xb, c.hiddenSize, c.rmsNormEps)
            mul(w.wGate, xb, hb)
            mul(w.wUp, xb, hb2)
            for i in 0..<c.intermediateSize {
                let g = hb[i]
                hb[i] = g / (1 + expf(-g)) * hb2[i]  // SiLU(gate) · up
            }
            mul(w.wDown, hb, xb2)
            for i in 0..<c.hiddenSize { x[i] += xb2[i] }
        }
        rmsNorm(x, weights.finalNorm, xb, c.hiddenSize, c.rmsNormEps)
        mul(weights.output, xb, logits)
        length = position + 1
        return UnsafeBufferPointer(start: logits, count: c.vocabularySize)
    }

    /// Softmax attention of one query head over cached positions 0...last of layer l, written to `out`
    /// (headDim values). Scores and accumulation in f32, with the running maximum subtracted. Reads only
    /// the cache, so prefill calls it from several threads at once.
    func attend(_ qh: UnsafePointer<Float>, layer l: Int, last: Int, kvOffset: Int, scores: UnsafeMutablePointer<Float>,
                out: UnsafeMutablePointer<Float>) {
        let c = config
        let scale = 1 / sqrtf(Float(c.headDim))
        var maxScore = -Float.infinity
        for t in 0...last {
            let s = cache.keyDot(qh, layer: l, position: t, offset: kvOffset, count: c.headDim) * scale
            scores[t] = s
            maxScore = max(maxScore, s)
        }
        var sum: Float = 0
        for t in 0...last {
            scores[t] = expf(scores[t] - maxScore)
            sum += scores[t]
        }
        out.update(repeating: 0, count: c.headDim)
        for t in 0...last {
            cache.accumulateValue(scores[t] / sum, into: out, layer: l, position: t, offset: kvOffset, count: c.headDim)
        }
    }

    /// Attention over the slots `shared` and `from...last` (a packed token: its context and its own segment),
    /// in slot order, so a packed token's result equals the unpacked one's.
    func attend(_ qh: UnsafePointer<Float>, layer l: Int, shared: Range<Int>, from: Int, last: Int, kvOffset: Int,
                scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let c = config
        let scale = 1 / sqrtf(Float(c.headDim))
        @inline(__always) func eachSlot(_ body: (Int, Int) -> Void) {
            var i = 0
            for t in shared { body(i, t); i += 1 }
            for t in from...last { body(i, t); i += 1 }
        }
        var maxScore = -Float.infinity
        eachSlot { i, t in
            let s = cache.keyDot(qh, layer: l, position: t, offset: kvOffset, count: c.headDim) * scale
            scores[i] = s
            maxScore = max(maxScore, s)
        }
        let count = shared.count + (last - from + 1)
        var sum: Float = 0
        for i in 0..<count {
            scores[i] = expf(scores[i] - maxScore)
            sum += scores[i]
        }
        out.update(repeating: 0, count: c.headDim)
        eachSlot { i, t in cache.accumulateValue(scores[i] / sum, into: out, layer: l, position: t, offset: kvOffset, count: c.headDim) }
    }

    /// y = W·x: threaded for large matrices, inline for small ones (a parallel region costs microseconds).
    @inline(__always)
    func mul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        if threads > 1 && w.rows * w.cols >= 1 << 16 {
            w.multiply(x, into: y, pool: pool, threads: threads)
        } else {
            w.multiply(x, into: y, scratch: scratch)
        }
    }

    /// RMSNorm as transformers computes it: x · rsqrt(mean(x²) + eps), then times the gain.
    func rmsNorm(_ x: UnsafePointer<Float>, _ gain: [Float], _ out: UnsafeMutablePointer<Float>, _ n: Int, _ eps: Float) {
        let ms = dot(x, x, n) / Float(n)
        let r = 1 / sqrtf(ms + eps)
        gain.withUnsafeBufferPointer { g in
            for i in 0..<n { out[i] = g[i] * (x[i] * r) }
        }
    }

    /// Rotates one head in place: pairs (i, i + d/2) for HF weights, (2i, 2i + 1) for GGUF's permuted rows.
    @inline(__always)
    func rope(_ head: UnsafeMutablePointer<Float>, _ position: Int) {
        let half = config.headDim / 2
        let cs = cosTable + position * half, sn = sinTable + position * half
        if weights.ropeInterleaved {
            for i in 0..<half {
                let a = head[2 * i], b = head[2 * i + 1]
                head[2 * i] = a * cs[i] - b * sn[i]
                head[2 * i + 1] = b * cs[i] + a * sn[i]
            }
        } else {
            for i in 0..<half {
                let a = head[i], b = head[i + half]
                head[i] = a * cs[i] - b * sn[i]
                head[i + half] = b * cs[i] + a * sn[i]
            }
        }
    }
}

extension Transformer {
    /// Mean negative log-likelihood of ids[1...] given their prefixes (transformers' `loss` with labels = ids).
    public func meanNLL(_ ids: [Int32]) -> Double {
        reset()
        guard ids.count > 1 else { return 0 }
        var total = 0.0
        prefill(Array(ids.dropLast())) { t, logits in total -= logSoftmax(logits, at: Int(ids[t + 1])) }
        return total / Double(ids.count - 1)
    }

    /// Greedy continuation: prefills the prompt, then appends the argmax `count` times.
    public func greedy(prompt: [Int32], count: Int) -> [Int32] {
        reset()
        var logits = prefill(prompt)
        var out: [Int32] = []
        for _ in 0..<count {
            let next = Int32(argmax(logits))
            out.append(next)
            if out.count == count || length >= maxSequence { break }
            logits = forward(token: next, position: length)
        }
        return out
    }
}

/// log softmax(logits)[i], computed in double precision.
public func logSoftmax(_ logits: UnsafeBufferPointer<Float>, at i: Int) -> Double {
    let m = Double(logits.max() ?? 0)
    var s = 0.0
    for v in logits { s += exp(Double(v) - m) }
    return Double(logits[i]) - m - log(s)
}

/// Index of the largest value (the first one on ties, as torch.argmax does).
public func argmax(_ v: UnsafeBufferPointer<Float>) -> Int {
    var best = 0
    for i in 1..<v.count where v[i] > v[best] { best = i }
    return best
}
