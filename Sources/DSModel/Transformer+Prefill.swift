import DSTensor
import Foundation

extension Transformer {
    /// Tokens per prefill pass. Larger chunks amortise dequantizing each weight matrix (the GEMM path
    /// dequantizes whole matrices) over more tokens; the batch buffers grow linearly with it
    /// (≈ 4·(3·hidden + 2·ffn) bytes per token: 220 KB at 7B). `DSLLM_PREFILL_CHUNK` overrides it.
    public static let defaultPrefillChunk: Int =
        Int(ProcessInfo.processInfo.environment["DSLLM_PREFILL_CHUNK"] ?? "") ?? 512

    /// Feeds a batch of tokens at positions length..<length+count: every weight matrix is applied to the
    /// whole batch at once (integer or FMA tiles over the tokens), attention runs blocked per (KV head, 32
    /// queries) across threads (Attention.swift). Returns the last token's logits; `eachLogits` (for scoring)
    /// also receives every position's logits. Batch buffers are allocated once per call, never per chunk or token.
    @discardableResult
    public func prefill(_ tokens: [Int32], chunk: Int = Transformer.defaultPrefillChunk,
                        eachLogits: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil) -> UnsafeBufferPointer<Float> {
        var result = UnsafeBufferPointer<Float>(start: logits, count: config.vocabularySize)
        let buffers = PrefillBuffers(config: config, rows: min(chunk, tokens.count))
        var start = 0
        while start < tokens.count {
            let n = min(chunk, tokens.count - start)
            result = prefillChunk(Array(tokens[start..<start + n]), layout: nil, buffers: buffers, eachLogits: eachLogits)
            start += n
        }
        return result
    }

    /// Where a packed token sits: its RoPE position and what it attends to — the cache slots `shared` (a context
    /// prefilled earlier or packed before it) and its own segment's slots from `segmentStart` up to itself.
    public struct PackedToken: Sendable {
        public var position: Int
        public var shared: Range<Int>
        public var segmentStart: Int
    }

    /// Several sequences in one pass (batched scoring): `segments` are stored in consecutive cache slots after
    /// what the cache holds; token j of a segment gets RoPE position `position + j` and attends to the slots
    /// `shared` plus its own segment so far — so choices can share a question's context, and independent
    /// questions can share a pass, each seeing exactly what it would see alone. `wantLogits(segment, j)` picks
    /// the rows whose logits `eachLogits(segment, j, logits)` receives. The cache keeps the packed slots
    /// (length grows by the total); callers `truncate` or `reset` after.
    public func prefillPacked(_ segments: [(tokens: [Int32], position: Int, shared: Range<Int>)],
                              chunk: Int = Transformer.defaultPrefillChunk,
                              wantLogits: @escaping (Int, Int) -> Bool,
                              eachLogits: @escaping (Int, Int, UnsafeBufferPointer<Float>) -> Void) {
        var tokens: [Int32] = [], layout: [PackedToken] = [], owner: [(Int, Int)] = []
        for (k, seg) in segments.enumerated() {
            let start = length + tokens.count
            precondition(seg.shared.upperBound <= start, "a segment may only share slots before it")
            for (j, id) in seg.tokens.enumerated() {
                tokens.append(id)
                layout.append(PackedToken(position: seg.position + j, shared: seg.shared, segmentStart: start))
                owner.append((k, j))
            }
        }
        let buffers = PrefillBuffers(config: config, rows: min(chunk, tokens.count))
        var start = 0
        while start < tokens.count {
            let n = min(chunk, tokens.count - start)
            let base = start
            prefillChunk(Array(tokens[start..<start + n]), layout: Array(layout[start..<start + n]), buffers: buffers,
                         wantRow: { wantLogits(owner[base + $0].0, owner[base + $0].1) },
                         eachLogits: { row, l in eachLogits(owner[base + row].0, owner[base + row].1, l) })
            start += n
        }
    }

    @discardableResult
    private func prefillChunk(_ tokens: [Int32], layout: [PackedToken]?, buffers: PrefillBuffers, wantRow: ((Int) -> Bool)? = nil,
                              eachLogits: ((Int, UnsafeBufferPointer<Float>) -> Void)?) -> UnsafeBufferPointer<Float>
    {
        let c = config
        let n = tokens.count
        let first = length
        precondition(first + n <= maxSequence, "prefill past the context (\(first + n) > \(maxSequence))")
        precondition(n <= buffers.rows)
        for t in tokens { precondition(t >= 0 && Int(t) < c.vocabularySize, "token \(t) outside the vocabulary") }
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            return p
        }
        let (X, XB, O, Q, K, V, H, H2) = (buffers.x, buffers.xb, buffers.o, buffers.q, buffers.k, buffers.v, buffers.h, buffers.h2)
        for (t, id) in tokens.enumerated() { weights.embedding.row(Int(id), into: X + t * c.hiddenSize) }
        let groups = c.headCount / c.kvHeadCount
        // The blocked kernel needs whole SIMD16 vectors per head; packed layouts attend per (token, head).
        let blocked = layout == nil && c.headDim % 16 == 0
        for (l, w) in weights.layers.enumerated() {
            rmsNorm(rows: n, X, w.attentionNorm, XB)
            w.wq.multiply(batch: XB, count: n, into: Q, pool: pool, threads: threads)
            w.wk.multiply(batch: XB, count: n, into: K, pool: pool, threads: threads)
            w.wv.multiply(batch: XB, count: n, into: V, pool: pool, threads: threads)
            forEachRange(n, workPerItem: c.queryDim + 2 * c.kvDim) { [self] range in
                for t in range {
                    let position = layout?[t].position ?? first + t
                    rope(heads: c.headCount, Q + t * c.queryDim, position)
                    rope(heads: c.kvHeadCount, K + t * c.kvDim, position)
                    cache.store(layer: l, position: first + t, keys: K + t * c.kvDim, values: V + t * c.kvDim)
                }
            }
            if blocked {
                attendCausal(queries: Q, count: n, first: first, layer: l, into: XB)
            } else {
                // One task per (token, head); packed tokens see their shared slots and own segment.
                pool.run(tasks: n * c.headCount, threads: threads) { [self] task in
                    let t = task / c.headCount, h = task % c.headCount
                    let qh = Q + t * c.queryDim + h * c.headDim, out = XB + t * c.queryDim + h * c.headDim
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: first + t + 1) { scores in
                        if let p = layout?[t] {
                            attend(qh, layer: l, shared: p.shared, from: p.segmentStart, last: first + t,
                                   kvOffset: (h / groups) * c.headDim, scores: scores.baseAddress!, out: out)
                        } else {
                            attend(qh, layer: l, last: first + t, kvOffset: (h / groups) * c.headDim, scores: scores.baseAddress!,
                                   out: out)
                        }
                    }
                }
            }
            // XB now holds the attention outputs as [n × queryDim], the layout wo's batch multiply reads.
            batchedLayerTail(w, n: n, x: X, xb: XB, o: O, h: H, h2: H2)
        }
        // The final norm for every row only when every row's logits are wanted; otherwise just the last row.
        if eachLogits != nil {
            rmsNorm(rows: n, X, weights.finalNorm, XB)
        } else {
            let last = (n - 1) * c.hiddenSize
            rmsNorm(X + last, weights.finalNorm, XB + last, c.hiddenSize, c.rmsNormEps)
        }
        length = first + n
        if let eachLogits {
            // Logits for every position (or the rows asked for), a few rows at a time (n × vocabulary floats would
            // be large). Reported positions are absolute slots, or chunk indices for a packed prefill.
            let rows = wantRow.map { want in (0..<n).filter(want) } ?? Array(0..<n)
            let rowsAtOnce = 16
            let L = buffer(rowsAtOnce * c.vocabularySize), R = buffer(rowsAtOnce * c.hiddenSize)
            defer { L.deallocate(); R.deallocate() }
            var i = 0
            while i < rows.count {
                let m = min(rowsAtOnce, rows.count - i)
                for j in 0..<m { (R + j * c.hiddenSize).update(from: XB + rows[i + j] * c.hiddenSize, count: c.hiddenSize) }
                weights.output.multiply(batch: R, count: m, into: L, pool: pool, threads: threads)
                for j in 0..<m {
                    eachLogits(layout == nil ? first + rows[i + j] : rows[i + j], UnsafeBufferPointer(start: L + j * c.vocabularySize, count: c.vocabularySize))
                }
                i += m
            }
        }
        mul(weights.output, XB + (n - 1) * c.hiddenSize, logits)
        return UnsafeBufferPointer(start: logits, count: c.vocabularySize)
    }


    /// The rest of a layer for a batch of n rows, after attention left its output in `xb` ([n × queryDim]):
    /// output projection and residual, then RMSNorm, SwiGLU FFN and residual. Shared by prefill and decodeBatch.
    func batchedLayerTail(_ w: LayerWeights, n: Int, x: UnsafeMutablePointer<Float>, xb: UnsafeMutablePointer<Float>,
                          o: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, h2: UnsafeMutablePointer<Float>) {
        let c = config
        w.wo.multiply(batch: xb, count: n, into: o, pool: pool, threads: threads)
        addInPlace(x, o, count: n * c.hiddenSize)
        rmsNorm(rows: n, x, w.ffnNorm, xb)
        w.wGate.multiply(batch: xb, count: n, into: h, pool: pool, threads: threads)
        w.wUp.multiply(batch: xb, count: n, into: h2, pool: pool, threads: threads)
        siluGate(h, h2, count: n * c.intermediateSize)
        w.wDown.multiply(batch: h, count: n, into: o, pool: pool, threads: threads)
        addInPlace(x, o, count: n * c.hiddenSize)
    }
}

/// Activation buffers of a layer pass over `rows` tokens: prefill allocates them once per call (shared by its chunks),
/// `decodeBatch` / `forwardMixed` keep them (`BatchBuffers`) for up to `rows` sequences.
class PrefillBuffers {
    let rows: Int
    let x, xb, o, q, k, v, h, h2: UnsafeMutablePointer<Float>

    init(config c: ModelConfig, rows n: Int) {
        rows = n
        // Uninitialised: every buffer is written before it is read (embedding rows, then each product's output).
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: max(count, 1)) }
        x = buffer(n * c.hiddenSize)
        xb = buffer(n * max(c.hiddenSize, c.queryDim))
        o = buffer(n * c.hiddenSize)
        q = buffer(n * c.queryDim)
        k = buffer(n * c.kvDim)
        v = buffer(n * c.kvDim)
        h = buffer(n * c.intermediateSize)
        h2 = buffer(n * c.intermediateSize)
    }

    deinit { for p in [x, xb, o, q, k, v, h, h2] { p.deallocate() } }
}
