import DSTensor
import Foundation

/// A LLaMA-style decoder over one sequence: its KV cache, RoPE tables and logits, llama2.c style — allocated once in
/// `init`; the activation buffers (Transformer+Forward's `ForwardBuffers`) are allocated on the first step and grown
/// only when a larger batch arrives, so a decode loop allocates nothing.
///
/// Every entry point — `forward(token:position:)`, `prefill`, `prefillPacked`, `decodeBatch`, `forwardMixed` — builds
/// a `ForwardBatch` and runs the one forward pass, `Transformer.run`. Weights are read in their stored type (packed
/// integer kernels for GGUF quantizations in llama.cpp numerics), split across the worker pool. The KV cache holds
/// `maxSequence` positions: pass the context you need, not the model's maximum.
public final class Transformer {
    public let weights: ModelWeights
    public let config: ModelConfig
    public let maxSequence: Int
    /// Tokens currently in the KV cache.
    public internal(set) var length = 0

    /// This sequence's logits after a step (valid until its next step).
    let logits: UnsafeMutablePointer<Float>
    public let cache: KVCache
    let cosTable, sinTable: UnsafeMutablePointer<Float>

    /// Activation buffers of the forward pass (allocated on first use, grown for larger batches).
    var buffers: ForwardBuffers?

    /// Prompt tokens per forward pass of `prefill` (larger reads the weights fewer times; the activation buffers grow
    /// with it). A setting of this sequence, not of the process: `dsllm generate/chat/score --prefill-chunk`.
    public var prefillChunk = Transformer.defaultPrefillChunk

    /// Threads used for the matrix-vector products (the pool's, all cores by default).
    public let threads: Int
    let pool: WorkerPool

    /// `cache` defaults to f16 for llama.cpp numerics (llama.cpp's own default KV type) and f32 for reference numerics.
    public init(weights: ModelWeights, maxSequence requested: Int? = nil, threads: Int? = nil,
                cache precision: KVCache.Precision? = nil, pool: WorkerPool = .shared) {
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
        logits = alloc(c.vocabularySize)
        let precision = precision ?? KVCache.Precision.defaultFor(weights)
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
        for p in [logits, cosTable, sinTable] {
            p.deallocate()
        }
    }

    /// Forgets the cached sequence.
    public func reset() { length = 0 }

    /// Keeps the first `n` cached tokens and forgets the rest (their keys and values are overwritten by the next
    /// tokens): a shared prefix is computed once and each continuation is run after it.
    public func truncate(to n: Int) { length = min(length, max(0, n)) }

    /// Declares the first `n` positions of the cache valid after they were written from elsewhere (a prefix cache's
    /// blocks, `KVCache.restorePositions`): the next token runs at position `n`.
    public func adoptCachedPrefix(length n: Int) {
        precondition(n >= 0 && n <= maxSequence)
        length = n
    }

    /// Runs one token at `position` (= the number of tokens already cached) and returns the logits.
    public func forward(token: Int32, position: Int) -> UnsafeBufferPointer<Float> {
        precondition(position == length && position < maxSequence, "position \(position) out of order or past the context")
        var batch = ForwardBatch()
        batch.add(token, sequence: 0, slot: position, logits: true)
        Transformer.run(batch, sequences: [self])
        return UnsafeBufferPointer(start: logits, count: config.vocabularySize)
    }

    /// Softmax attention of one query head over cached positions 0...last of layer l, written to `out`
    /// (headDim values). Scores and accumulation in f32, with the running maximum subtracted. Reads only
    /// the cache, so prefill calls it from several threads at once.
    func attend(_ qh: UnsafePointer<Float>, layer l: Int, last: Int, kvOffset: Int, scores: UnsafeMutablePointer<Float>,
                out: UnsafeMutablePointer<Float>) {
        attend(qh, layer: l, shared: 0..<0, from: 0, last: last, kvOffset: kvOffset, scores: scores, out: out)
    }

    /// Attention over the slots `shared` and `from...last` (a packed token: its context and its own segment),
    /// in slot order, so a packed token's result equals the unpacked one's.
    func attend(_ qh: UnsafePointer<Float>, layer l: Int, shared: Range<Int>, from: Int, last: Int, kvOffset: Int,
                scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let d = config.headDim, scale = 1 / sqrtf(Float(d))
        let own = from..<(last + 1), sharedCount = shared.count
        let maxScore = max(
            cache.keyScores(qh, layer: l, positions: shared, offset: kvOffset, count: d, scale: scale, into: scores),
            cache.keyScores(qh, layer: l, positions: own, offset: kvOffset, count: d, scale: scale, into: scores + sharedCount))
        let sum = exponentiate(scores, count: sharedCount + own.count, maxScore: maxScore)
        out.update(repeating: 0, count: d)
        cache.accumulateValues(scores, layer: l, positions: shared, offset: kvOffset, count: d, into: out)
        cache.accumulateValues(scores + sharedCount, layer: l, positions: own, offset: kvOffset, count: d, into: out)
        let inverse = 1 / sum
        for i in 0..<d { out[i] *= inverse }
    }

    /// RMSNorm as transformers computes it: x · rsqrt(mean(x²) + eps), then times the gain.
    func rmsNorm(_ x: UnsafePointer<Float>, _ gain: [Float], _ out: UnsafeMutablePointer<Float>, _ n: Int, _ eps: Float) {
        let ms = dot(x, x, n) / Float(n)
        let r = 1 / sqrtf(ms + eps)
        gain.withUnsafeBufferPointer { g in
            for i in 0..<n { out[i] = g[i] * (x[i] * r) }
        }
    }

    /// Runs body over 0..<count, split across the pool when count · workPerItem (≈ floats touched) is large enough
    /// to pay for a parallel region, inline otherwise.
    func forEachRange(_ count: Int, workPerItem: Int, _ body: @escaping (Range<Int>) -> Void) {
        if threads > 1 && count > 1 && count * workPerItem >= 1 << 16 {
            pool.parallelFor(count, threads: threads, body)
        } else if count > 0 {
            body(0..<count)
        }
    }

    /// RMSNorm of n rows of hiddenSize floats (x → out), tokens split across threads.
    func rmsNorm(rows n: Int, _ x: UnsafePointer<Float>, _ gain: [Float], _ out: UnsafeMutablePointer<Float>) {
        let h = config.hiddenSize, eps = config.rmsNormEps
        forEachRange(n, workPerItem: 2 * h) { [self] range in
            for t in range { rmsNorm(x + t * h, gain, out + t * h, h, eps) }
        }
    }

    /// x[i] += y[i] for i < count (a residual connection).
    func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        forEachRange(count, workPerItem: 1) { range in
            for i in range { x[i] += y[i] }
        }
    }

    /// h = SiLU(h) · up over count values (SwiGLU), vectorised and split across threads.
    func siluGate(_ h: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        forEachRange(count, workPerItem: 4) { range in DSTensor.siluGate(h, gate: h, up: up, range) }
    }

    /// Rotates `heads` consecutive heads of one token in place, as `rope(_:_:)` does each (same products, same
    /// results), 16 lanes at a time with the position's angles loaded once for all heads.
    func rope(heads: Int, _ x: UnsafeMutablePointer<Float>, _ position: Int) {
        let d = config.headDim, half = d / 2
        let cs = cosTable + position * half, sn = sinTable + position * half
        if weights.ropeInterleaved && d % 16 == 0 {
            // Pairs (2i, 2i + 1): x·cos + swapped(x)·(−sin, +sin), the angles spread over both lanes of a pair.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * d) { buffer in
                let cosPairs = buffer.baseAddress!, sinPairs = cosPairs + d
                for i in 0..<half {
                    cosPairs[2 * i] = cs[i]
                    cosPairs[2 * i + 1] = cs[i]
                    sinPairs[2 * i] = -sn[i]
                    sinPairs[2 * i + 1] = sn[i]
                }
                for h in 0..<heads {
                    let head = x + h * d
                    for e in stride(from: 0, to: d, by: 16) {
                        let v = load16(head + e)
                        store16(v * load16(cosPairs + e) + swapAdjacentPairs(v) * load16(sinPairs + e), head + e)
                    }
                }
            }
        } else if !weights.ropeInterleaved && half % 16 == 0 {
            for h in 0..<heads {
                let head = x + h * d
                for i in stride(from: 0, to: half, by: 16) {
                    let a = load16(head + i), b = load16(head + i + half), c = load16(cs + i), s = load16(sn + i)
                    store16(a * c - b * s, head + i)
                    store16(b * c + a * s, head + i + half)
                }
            }
        } else {
            for h in 0..<heads { rope(x + h * d, position) }
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
