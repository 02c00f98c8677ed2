import DSTensor
import Foundation

extension Transformer {
    /// One forward pass over several sequences, each feeding any number of tokens (a prompt chunk, or the one
    /// token of a decode step): every weight matrix is read once for all rows of all sequences — a server step
    /// that mixes new prompts with running streams costs one pass over the weights, not one per request.
    /// Row j of sequence i sits at position `length_i + j`. Returns each sequence's logits for its last token.
    /// `buffersFrom` (default: the first sequence) owns the batch buffers, so a server can keep one set for all slots.
    public static func forwardMixed(_ sequences: [Transformer], tokens: [[Int32]],
                                    buffersFrom: Transformer? = nil) -> [UnsafeBufferPointer<Float>] {
        precondition(sequences.count == tokens.count && !sequences.isEmpty)
        let lead = sequences[0]
        let c = lead.config, w = lead.weights
        var owner: [Int] = [], position: [Int] = []
        for (i, s) in sequences.enumerated() {
            precondition(s.weights === lead.weights, "sequences in a batch must share one ModelWeights")
            precondition(!tokens[i].isEmpty && s.length + tokens[i].count <= s.maxSequence, "sequence \(i) would pass its context")
            for j in 0..<tokens[i].count {
                owner.append(i)
                position.append(s.length + j)
            }
        }
        let n = owner.count
        let pool = lead.pool, threads = lead.threads
        let holder = buffersFrom ?? lead
        precondition(holder.weights === lead.weights)
        if (holder.batchBuffers?.capacity ?? 0) < n { holder.batchBuffers = BatchBuffers(config: c, capacity: n) }
        let b = holder.batchBuffers!
        let (X, XB, O, Q, K, V, H, H2, L) = (b.x, b.xb, b.o, b.q, b.k, b.v, b.h, b.h2, b.logits)
        var row = 0
        for t in tokens {
            for token in t {
                precondition(token >= 0 && Int(token) < c.vocabularySize, "token \(token) outside the vocabulary")
                w.embedding.row(Int(token), into: X + row * c.hiddenSize)
                row += 1
            }
        }
        let groups = c.headCount / c.kvHeadCount
        nonisolated(unsafe) let (q, xb) = (Q, XB)
        let (own, pos) = (owner, position)
        for (l, layer) in w.layers.enumerated() {
            for r in 0..<n { lead.rmsNorm(X + r * c.hiddenSize, layer.attentionNorm, XB + r * c.hiddenSize, c.hiddenSize, c.rmsNormEps) }
            layer.wq.multiply(batch: XB, count: n, into: Q, pool: pool, threads: threads)
            layer.wk.multiply(batch: XB, count: n, into: K, pool: pool, threads: threads)
            layer.wv.multiply(batch: XB, count: n, into: V, pool: pool, threads: threads)
            for r in 0..<n {
                let s = sequences[own[r]]
                for h in 0..<c.headCount { s.rope(Q + r * c.queryDim + h * c.headDim, pos[r]) }
                for h in 0..<c.kvHeadCount { s.rope(K + r * c.kvDim + h * c.headDim, pos[r]) }
                s.cache.store(layer: l, position: pos[r], keys: K + r * c.kvDim, values: V + r * c.kvDim)
            }
            pool.run(tasks: n * c.headCount, threads: threads) { task in
                let r = task / c.headCount, h = task % c.headCount
                let s = sequences[own[r]]
                withUnsafeTemporaryAllocation(of: Float.self, capacity: pos[r] + 1) { scores in
                    s.attend(q + r * c.queryDim + h * c.headDim, layer: l, last: pos[r], kvOffset: (h / groups) * c.headDim,
                             scores: scores.baseAddress!, out: xb + r * c.queryDim + h * c.headDim)
                }
            }
            lead.batchedLayerTail(layer, n: n, x: X, xb: XB, o: O, h: H, h2: H2)
        }
        // Only each sequence's last row needs logits: gather those rows, then one batched head multiply.
        var lastRows: [Int] = []
        var end = 0
        for t in tokens {
            end += t.count
            lastRows.append(end - 1)
        }
        for (i, r) in lastRows.enumerated() {
            lead.rmsNorm(X + r * c.hiddenSize, w.finalNorm, XB + i * c.hiddenSize, c.hiddenSize, c.rmsNormEps)
        }
        w.output.multiply(batch: XB, count: lastRows.count, into: L, pool: pool, threads: threads)
        return sequences.enumerated().map { i, s in
            s.logits.update(from: L + i * c.vocabularySize, count: c.vocabularySize)
            s.length += tokens[i].count
            return UnsafeBufferPointer(start: s.logits, count: c.vocabularySize)
        }
    }
}
