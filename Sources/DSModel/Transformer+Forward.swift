import DSTensor
import Foundation

/// The rows of one forward pass (llama.cpp's `llama_batch`): each row is a token of some sequence, stored in that
/// sequence's KV cache at `slot`, rotated by RoPE at `position`, attending to the cache slots `shared` plus its own
/// segment `segmentStart...slot`, and asking for its logits or not. A plain sequence row has slot = position =
/// the sequence's length, shared empty and segmentStart 0 (it sees everything before it).
public struct ForwardBatch: Sendable {
    public private(set) var tokens: [Int32] = []
    public private(set) var sequence: [Int] = []
    public private(set) var slot: [Int] = []
    public private(set) var position: [Int] = []
    public private(set) var shared: [Range<Int>] = []
    public private(set) var segmentStart: [Int] = []
    public private(set) var wantsLogits: [Bool] = []

    public init() {}

    public var count: Int { tokens.count }

    /// Appends a row. Rows of one sequence must come in slot order, starting at the sequence's current length.
    public mutating func add(_ token: Int32, sequence s: Int, slot: Int, position: Int? = nil, logits: Bool,
                             shared: Range<Int> = 0..<0, segmentStart: Int = 0) {
        tokens.append(token)
        sequence.append(s)
        self.slot.append(slot)
        self.position.append(position ?? slot)
        self.shared.append(shared)
        self.segmentStart.append(segmentStart)
        wantsLogits.append(logits)
    }

    /// Whether row r attends to every slot up to its own (no shared context, no segment): the causal kernels apply.
    func isPlain(_ r: Int) -> Bool { shared[r].isEmpty && segmentStart[r] == 0 }

    /// Whether every row is a plain causal row (sees all slots before it), so the blocked attention kernel applies.
    var isPlainCausal: Bool {
        for i in 0..<count where !isPlain(i) || position[i] != slot[i] { return false }
        return true
    }

    /// How the rows' attention splits (the same for every layer): runs of one sequence's consecutive plain rows
    /// (≥ 2, a prompt chunk) for the blocked kernel, and the single rows left, one task per head.
    func attentionRuns(rowKernel: Bool) -> (runs: [Range<Int>], singles: [Int]) {
        var runs: [Range<Int>] = [], singles: [Int] = []
        var r = 0
        while r < count {
            var end = r + 1
            if rowKernel && isPlain(r) {
                while end < count && sequence[end] == sequence[r] && isPlain(end) && slot[end] == slot[end - 1] + 1 { end += 1 }
            }
            if end - r > 1 { runs.append(r..<end) } else { singles.append(r) }
            r = end
        }
        return (runs, singles)
    }
}

extension Transformer {
    /// The one forward pass: every caller (a decode step, prefill, packed scoring, a server step mixing prompts and
    /// streams) describes its rows as a `ForwardBatch` and runs this. Each weight matrix is read once for all rows;
    /// q/k/v and gate/up share one quantized input and one parallel region; attention is blocked (flash-style) for
    /// runs of one sequence's consecutive rows and per (row, head) otherwise — the same bits for a row either way. Buffers live on `holder` (grown
    /// on demand, never per step). Logits: with `each`, every row that wants them is reported (a few rows at a time,
    /// the pointer valid during the call); without, each such row's logits go to its sequence's `logits` buffer
    /// (valid until that sequence's next step). Sequence lengths advance past their rows.
    public static func run(_ batch: ForwardBatch, sequences: [Transformer], holder: Transformer? = nil,
                           each: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil) {
        let n = batch.count
        precondition(n > 0 && !sequences.isEmpty)
        let lead = holder ?? sequences[0]
        let c = lead.config, w = lead.weights, pool = lead.pool, threads = lead.threads
        // Validate everything before touching a cache: tokens, ownership, slot order, context limits.
        var next = sequences.map(\.length)
        for s in sequences { precondition(s.weights === w, "sequences in a batch must share one ModelWeights") }
        for r in 0..<n {
            let t = batch.tokens[r], s = batch.sequence[r]
            precondition(t >= 0 && Int(t) < c.vocabularySize, "token \(t) outside the vocabulary")
            precondition(s >= 0 && s < sequences.count, "row \(r) names sequence \(s) of \(sequences.count)")
            precondition(batch.slot[r] == next[s], "row \(r): slot \(batch.slot[r]) out of order (sequence \(s) is at \(next[s]))")
            precondition(batch.slot[r] < sequences[s].maxSequence && batch.position[r] < sequences[s].maxSequence,
                         "sequence \(s) would pass its context (\(sequences[s].maxSequence))")
            precondition(batch.shared[r].upperBound <= batch.segmentStart[r] || batch.shared[r].isEmpty,
                         "row \(r) shares slots after its segment")
            next[s] += 1
        }
        let b = lead.forwardBuffers(rows: n)
        let (X, XB, O, Q, K, V, H, H2) = (b.x, b.xb, b.o, b.q, b.k, b.v, b.h, b.h2)
        for r in 0..<n { w.embedding.row(Int(batch.tokens[r]), into: X + r * c.hiddenSize) }
        let groups = c.headCount / c.kvHeadCount
        // One sequence's consecutive plain rows (prefill): the blocked kernel, which needs whole SIMD16 vectors per head.
        let rowKernel = c.headDim % 16 == 0
        let blocked = n > 1 && rowKernel && batch.isPlainCausal && batch.sequence.allSatisfy { $0 == batch.sequence[0] }
        let (runs, singles) = batch.attentionRuns(rowKernel: rowKernel)
        let scratchCount = max(attentionKeyTile, (singles.map { batch.slot[$0] }.max() ?? 0) + 1)
        nonisolated(unsafe) let q = Q
        for (l, layer) in w.layers.enumerated() {
            lead.rmsNorm(rows: n, X, layer.attentionNorm, XB)
            lead.project([layer.wq, layer.wk, layer.wv], XB, rows: n, into: [Q, K, V], buffers: b)
            lead.forEachRange(n, workPerItem: c.queryDim + 2 * c.kvDim) { range in
                for r in range {
                    let s = sequences[batch.sequence[r]], position = batch.position[r]
                    s.rope(heads: c.headCount, Q + r * c.queryDim, position)
                    s.rope(heads: c.kvHeadCount, K + r * c.kvDim, position)
                    s.cache.store(layer: l, position: batch.slot[r], keys: K + r * c.kvDim, values: V + r * c.kvDim)
                }
            }
            if blocked {
                let s = sequences[batch.sequence[0]]
                s.attendCausal(queries: Q, count: n, first: batch.slot[0], layer: l, into: XB)
            } else if n == 1 && batch.slot[0] < b.scoreCapacity && !(threads > 1 && c.headCount * (batch.slot[0] + 1) * c.headDim >= 1 << 18) {
                // A short decode step: heads inline (a parallel region costs more than the attention).
                let s = sequences[batch.sequence[0]]
                for h in 0..<c.headCount {
                    s.attendOne(batch, row: 0, head: h, groups: groups, layer: l, q: Q, scores: b.scores, out: XB)
                }
            } else {
                // Runs of one sequence's consecutive rows (a prompt chunk) take the blocked kernel; every other row
                // one task per head. Both give a row the same bits, so what shares the step never shows in them.
                for run in runs {
                    sequences[batch.sequence[run.lowerBound]].attendCausal(
                        queries: Q + run.lowerBound * c.queryDim, count: run.count, first: batch.slot[run.lowerBound], layer: l,
                        into: XB + run.lowerBound * c.queryDim)
                }
                nonisolated(unsafe) let out = XB
                pool.run(tasks: singles.count * c.headCount, threads: threads) { task in
                    let r = singles[task / c.headCount], h = task % c.headCount
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) { scratch in
                        sequences[batch.sequence[r]].attendOne(batch, row: r, head: h, groups: groups, layer: l, q: q,
                                                               scores: scratch.baseAddress!, out: out)
                    }
                }
            }
            // XB now holds the attention outputs as [n × queryDim], the layout wo's multiply reads.
            lead.project([layer.wo], XB, rows: n, into: [O], buffers: b)
            lead.addInPlace(X, O, count: n * c.hiddenSize)
            lead.rmsNorm(rows: n, X, layer.ffnNorm, XB)
            lead.project([layer.wGate, layer.wUp], XB, rows: n, into: [H, H2], buffers: b)
            lead.siluGate(H, H2, count: n * c.intermediateSize)
            lead.project([layer.wDown], H, rows: n, into: [O], buffers: b)
            lead.addInPlace(X, O, count: n * c.hiddenSize)
        }
        for (r, s) in batch.sequence.enumerated() { sequences[s].length = batch.slot[r] + 1 }
        lead.emitLogits(batch, sequences: sequences, buffers: b, each: each)
    }

    /// Attention of one row and query head of a batch into its place in `out` ([rows × queryDim]): a plain row with the
    /// blocked kernel's arithmetic (`attendRow`), a packed row (shared context, own segment) by `attend`.
    func attendOne(_ batch: ForwardBatch, row r: Int, head h: Int, groups: Int, layer l: Int, q: UnsafePointer<Float>,
                   scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let c = config, qh = q + r * c.queryDim + h * c.headDim, o = out + r * c.queryDim + h * c.headDim
        let kvOffset = (h / groups) * c.headDim
        if c.headDim % 16 == 0 && batch.isPlain(r) {
            attendRow(qh, layer: l, last: batch.slot[r], kvOffset: kvOffset, scores: scores, out: o)
        } else {
            attend(qh, layer: l, shared: batch.shared[r], from: batch.segmentStart[r], last: batch.slot[r], kvOffset: kvOffset,
                   scores: scores, out: o)
        }
    }

    /// The final norm and output head for the rows that want logits, at most `ForwardBuffers.logitRows` at a time.
    private func emitLogits(_ batch: ForwardBatch, sequences: [Transformer], buffers b: ForwardBuffers,
                            each: ((Int, UnsafeBufferPointer<Float>) -> Void)?) {
        let c = config, h = c.hiddenSize, vocab = c.vocabularySize
        let rows = (0..<batch.count).filter { batch.wantsLogits[$0] }
        if rows.count == 1 && each == nil {
            // The common case (a decode step, a prompt's last token): straight into the sequence's buffer.
            let r = rows[0], s = sequences[batch.sequence[r]]
            rmsNorm(b.x + r * h, weights.finalNorm, b.normed, h, c.rmsNormEps)
            project([weights.output], b.normed, rows: 1, into: [s.logits], buffers: b)
            return
        }
        var i = 0
        while i < rows.count {
            let m = min(ForwardBuffers.logitRows, rows.count - i)
            for j in 0..<m { rmsNorm(b.x + rows[i + j] * h, weights.finalNorm, b.normed + j * h, h, c.rmsNormEps) }
            project([weights.output], b.normed, rows: m, into: [b.logits], buffers: b)
            for j in 0..<m {
                let r = rows[i + j], out = b.logits + j * vocab
                if let each {
                    each(r, UnsafeBufferPointer(start: out, count: vocab))
                } else {
                    sequences[batch.sequence[r]].logits.update(from: out, count: vocab)
                }
            }
            i += m
        }
    }

    /// Y_i = X · W_iᵀ for matrices reading the same `rows` rows of X. One row of a small matrix runs inline on this
    /// thread (a parallel region costs microseconds); everything else goes to the pool, packed matrices sharing one
    /// quantized input.
    func project(_ ms: [WeightMatrix], _ x: UnsafePointer<Float>, rows n: Int, into ys: [UnsafeMutablePointer<Float>],
                 buffers b: ForwardBuffers) {
        let scratch = b.activations
        if n == 1 && (threads == 1 || ms.allSatisfy { $0.rows * $0.cols < 1 << 16 }) {
            for (m, y) in zip(ms, ys) {
                if m.usesPackedKernels, let p = m.packed {
                    p.multiply(x, count: 1, into: y, ldy: m.rows, pool: pool, threads: 1, scratch: scratch)
                } else {
                    m.multiply(x, into: y, scratch: b.scores)
                }
            }
            return
        }
        if ms.count == 1 {
            ms[0].multiply(batch: x, count: n, into: ys[0], pool: pool, threads: threads, scratch: scratch)
        } else {
            WeightMatrix.multiply(ms, batch: x, count: n, into: ys, pool: pool, threads: threads, scratch: scratch)
        }
    }

    /// This transformer's forward buffers, grown to `rows` rows if they are smaller.
    func forwardBuffers(rows: Int) -> ForwardBuffers {
        if let b = buffers, b.rows >= rows { return b }
        let b = ForwardBuffers(config: config, rows: max(rows, buffers?.rows ?? 0), maxSequence: maxSequence)
        buffers = b
        return b
    }

    /// Gives the forward buffers back (a long prefill grew them; the next call allocates what it needs).
    public func releaseBuffers() { buffers = nil }
}

/// Activation buffers of a forward pass over up to `rows` rows, allocated once and grown on demand: the layer
/// buffers, the quantized inputs of the packed kernels, and the final norm + logits of a few rows at a time.
final class ForwardBuffers {
    /// Rows whose logits are computed at once (n × vocabulary floats would be large for a long prompt).
    static let logitRows = 16
    let rows: Int
    let x, xb, o, q, k, v, h, h2, normed, logits, scores: UnsafeMutablePointer<Float>
    let scoreCapacity: Int
    let activations = ActivationScratch()

    init(config c: ModelConfig, rows n: Int, maxSequence: Int) {
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
        let m = min(n, ForwardBuffers.logitRows)
        normed = buffer(m * c.hiddenSize)
        logits = buffer(m * c.vocabularySize)
        // A decode step's attention scores (one row's context), also the f32 scratch of the row kernels (cols floats).
        scoreCapacity = max(maxSequence, c.hiddenSize, c.intermediateSize, c.queryDim)
        scores = buffer(scoreCapacity)
    }

    deinit { for p in [x, xb, o, q, k, v, h, h2, normed, logits, scores] { p.deallocate() } }
}
