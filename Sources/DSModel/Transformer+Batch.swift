import DSTensor
import Foundation

extension Transformer {
    /// One decode step for several sequences at once — each a `Transformer` over the same weights, with
    /// its own KV cache and length (a server's slots). The weights are read once for the whole batch
    /// (batched multiplies), attention runs per (sequence, head) on the pool. Returns each sequence's
    /// logits (its own buffer, valid until its next step). Sequences may be at different positions.
    public static func decodeBatch(_ sequences: [Transformer], tokens: [Int32]) -> [UnsafeBufferPointer<Float>] {
        precondition(sequences.count == tokens.count && !sequences.isEmpty)
        let lead = sequences[0]
        for s in sequences {
            precondition(s.weights === lead.weights, "sequences in a batch must share one ModelWeights")
            precondition(s.length < s.maxSequence, "a sequence is at its context limit")
        }
        if sequences.count == 1 { return [lead.forward(token: tokens[0], position: lead.length)] }
        let c = lead.config, w = lead.weights, n = sequences.count
        let pool = lead.pool, threads = lead.threads
        // Batch buffers live on the lead sequence and grow only when the batch does: steps allocate nothing.
        if (lead.batchBuffers?.capacity ?? 0) < n { lead.batchBuffers = BatchBuffers(config: c, capacity: n) }
        let b = lead.batchBuffers!
        let (X, XB, O, Q, K, V, H, H2, L) = (b.x, b.xb, b.o, b.q, b.k, b.v, b.h, b.h2, b.logits)
        for (i, token) in tokens.enumerated() {
            precondition(token >= 0 && Int(token) < c.vocabularySize, "token \(token) outside the vocabulary")
            w.embedding.row(Int(token), into: X + i * c.hiddenSize)
        }
        let groups = c.headCount / c.kvHeadCount
        nonisolated(unsafe) let (q, xb) = (Q, XB)
        for (l, layer) in w.layers.enumerated() {
            for i in 0..<n { lead.rmsNorm(X + i * c.hiddenSize, layer.attentionNorm, XB + i * c.hiddenSize, c.hiddenSize, c.rmsNormEps) }
            layer.wq.multiply(batch: XB, count: n, into: Q, pool: pool, threads: threads)
            layer.wk.multiply(batch: XB, count: n, into: K, pool: pool, threads: threads)
            layer.wv.multiply(batch: XB, count: n, into: V, pool: pool, threads: threads)
            for (i, s) in sequences.enumerated() {
                for h in 0..<c.headCount { s.rope(Q + i * c.queryDim + h * c.headDim, s.length) }
                for h in 0..<c.kvHeadCount { s.rope(K + i * c.kvDim + h * c.headDim, s.length) }
                s.cache.store(layer: l, position: s.length, keys: K + i * c.kvDim, values: V + i * c.kvDim)
            }
            pool.run(tasks: n * c.headCount, threads: threads) { task in
                let i = task / c.headCount, h = task % c.headCount
                let s = sequences[i]
                withUnsafeTemporaryAllocation(of: Float.self, capacity: s.length + 1) { scores in
                    s.attend(q + i * c.queryDim + h * c.headDim, layer: l, last: s.length, kvOffset: (h / groups) * c.headDim,
                             scores: scores.baseAddress!, out: xb + i * c.queryDim + h * c.headDim)
                }
            }
            lead.batchedLayerTail(layer, n: n, x: X, xb: XB, o: O, h: H, h2: H2)
        }
        for i in 0..<n { lead.rmsNorm(X + i * c.hiddenSize, w.finalNorm, XB + i * c.hiddenSize, c.hiddenSize, c.rmsNormEps) }
        w.output.multiply(batch: XB, count: n, into: L, pool: pool, threads: threads)
        return sequences.enumerated().map { i, s in
            s.logits.update(from: L + i * c.vocabularySize, count: c.vocabularySize)
            s.length += 1
            return UnsafeBufferPointer(start: s.logits, count: c.vocabularySize)
        }
    }
}

/// Activation buffers for `decodeBatch`, sized for `capacity` sequences: the layer buffers plus a logits row each.
final class BatchBuffers: PrefillBuffers {
    var capacity: Int { rows }
    let logits: UnsafeMutablePointer<Float>

    init(config c: ModelConfig, capacity n: Int) {
        logits = .allocate(capacity: max(n * c.vocabularySize, 1))
        super.init(config: c, rows: n)
        // Zeroed as before (the batch paths wrote every row they read, but keep the old guarantee).
        for (p, count) in [(x, n * c.hiddenSize), (xb, n * max(c.hiddenSize, c.queryDim)), (o, n * c.hiddenSize),
                           (q, n * c.queryDim), (k, n * c.kvDim), (v, n * c.kvDim), (h, n * c.intermediateSize),
                           (h2, n * c.intermediateSize), (logits, n * c.vocabularySize)] {
            p.initialize(repeating: 0, count: max(count, 1))
        }
    }

    deinit { logits.deallocate() }
}
