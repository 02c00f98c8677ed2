import DSModel
import DSTensor
import Foundation

/// Forward and backward of a LLaMA-style decoder over a micro-batch of B sequences × T tokens, in f32, with
/// every activation the backward needs kept in buffers allocated once for (B, T). The LM head and the
/// cross-entropy run in chunks of rows, so B·T × vocabulary logits are never held at once.
public final class TrainingModel: @unchecked Sendable {
    public let slab: ParameterSlab
    public let batch: Int, seq: Int
    public var threads: Int
    let pool: WorkerPool
    let attention: BlockedAttention
    let c: ModelConfig
    let n: Int
    let ropeCos: [Float], ropeSin: [Float]
    public let precision: TrainingPrecision
    /// bf16 mode: the weights rounded once per optimizer step, and the activation / gradient operands.
    let bf16Weights, bf16X, bf16DY: BF16Operands?
    var bf16WeightsStale = true
    /// Rows of logits computed at once in the head (at most 256: the chunk buffer is sized for that).
    public var headChunk = 256 { didSet { headChunk = max(1, min(headChunk, 256)) } }

    // Per layer: inputs and intermediates kept for the backward.
    struct LayerActs {
        let x, xn1, q, k, v, att, x1, xn2, gate, up, h: UnsafeMutablePointer<Float>
        let rstd1, rstd2, lse: UnsafeMutablePointer<Float>
    }
    let acts: [LayerActs]
    /// Activation checkpointing: only each layer's input is kept through the forward; the backward recomputes the
    /// layer's forward (all but its last product) just before its backward. About a third more compute for
    /// activation memory of one layer plus one row-block per layer (`--recompute`).
    public let recompute: Bool
    let xFinal, xnFinal, rstdFinal: UnsafeMutablePointer<Float>
    // Scratch for the backward (one layer at a time).
    let dx, dtmp, dq, dk, dv, datt, dgate, dup, dh, logitChunk: UnsafeMutablePointer<Float>
    private var allocations: [UnsafeMutablePointer<Float>] = []
    /// The last forward's tokens, targets and positions (the backward and the head's recomputation read them).
    var savedInputs: [Int32] = [], savedTargets: [Int32] = [], savedPositions: [Int32]

    public init(slab: ParameterSlab, batch: Int, seq: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                precision: TrainingPrecision = .f32, recompute: Bool = false) {
        self.slab = slab
        self.precision = precision
        self.batch = batch
        self.seq = seq
        self.threads = threads
        pool = WorkerPool(threads: max(1, threads))
        c = slab.config
        n = batch * seq
        savedPositions = (0..<(batch * seq)).map { Int32($0 % seq) }
        attention = BlockedAttention(batch: batch, seq: seq, heads: slab.config.headCount, kvHeads: slab.config.kvHeadCount,
                                     headDim: slab.config.headDim,
                                     pool: pool)
        (ropeCos, ropeSin) = LayerPasses.ropeTables(headDim: c.headDim, positions: seq, theta: c.ropeTheta)
        var allocs: [UnsafeMutablePointer<Float>] = []
        func buf(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            allocs.append(p)
            return p
        }
        let config = slab.config, rows = batch * seq
        let (d, qd, kd, f) = (config.hiddenSize, config.queryDim, config.kvDim, config.intermediateSize)
        func layerActs(x: UnsafeMutablePointer<Float>) -> LayerActs {
            let n = rows
            return LayerActs(x: x, xn1: buf(n * d), q: buf(n * qd), k: buf(n * kd), v: buf(n * kd), att: buf(n * qd),
                             x1: buf(n * d), xn2: buf(n * d), gate: buf(n * f), up: buf(n * f), h: buf(n * f),
                             rstd1: buf(n), rstd2: buf(n), lse: buf(batch * config.headCount * seq))
        }
        self.recompute = recompute
        if recompute {
            // Each layer keeps only its input; the rest is one set of buffers, refilled by the backward.
            let shared = layerActs(x: buf(rows * d))
            acts = [shared] + stride(from: 1, to: config.layerCount, by: 1).map { _ in
                let s = shared
                return LayerActs(x: buf(rows * d), xn1: s.xn1, q: s.q, k: s.k, v: s.v, att: s.att, x1: s.x1, xn2: s.xn2, gate: s.gate,
                                 up: s.up, h: s.h, rstd1: s.rstd1, rstd2: s.rstd2, lse: s.lse)
            }
        } else {
            acts = (0..<config.layerCount).map { _ in layerActs(x: buf(rows * d)) }
        }
        xFinal = buf(n * d); xnFinal = buf(n * d); rstdFinal = buf(n)
        dx = buf(n * d); dtmp = buf(n * max(d, qd)); dq = buf(n * qd); dk = buf(n * kd); dv = buf(n * kd); datt = buf(n * qd)
        dgate = buf(n * f); dup = buf(n * f); dh = buf(n * f)
        logitChunk = buf(min(256, n) * config.vocabularySize)
        allocations = allocs
        if precision == .bf16 {
            let native = Gemm.hasNativeBF16, widest = rows * max(d, qd, f)
            bf16Weights = BF16Operands(capacity: slab.count, native: native)
            bf16X = BF16Operands(capacity: widest, native: native)
            bf16DY = BF16Operands(capacity: max(widest, min(256, rows) * config.vocabularySize), native: native)
        } else {
            (bf16Weights, bf16X, bf16DY) = (nil, nil, nil)
        }
    }

    deinit { for p in allocations { p.deallocate() } }

    /// Tells a bf16 model that the f32 master weights changed (after an optimizer step or a load), so the
    /// rounded copy is refreshed before the next product.
    public func weightsDidChange() { bf16WeightsStale = true }

    /// out[n × o] = x[n × i] · Wᵀ (W is [o × i]).
    func linear(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, rows: Int, inDim: Int, outDim: Int) {
        if precision == .bf16 { return linearBF16(out, x, w, rows: rows, inDim: inDim, outDim: outDim) }
        Gemm.multiply(transposeA: false, transposeB: true, m: rows, n: outDim, k: inDim, a: x, lda: inDim, b: w, ldb: inDim,
                      beta: 0, c: out, ldc: outDim, threads: threads)
    }

    /// dW[o × i] += dy[n × o]ᵀ · x[n × i]; dx[n × i] (+)= dy · W.
    func linearBackward(dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dw: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                        x: UnsafePointer<Float>, w: UnsafePointer<Float>, rows: Int, inDim: Int, outDim: Int) {
        if precision == .bf16 {
            return linearBackwardBF16(dx: dx, accumulate: accumulate, dw: dw, dy: dy, x: x, w: w, rows: rows, inDim: inDim, outDim: outDim)
        }
        Gemm.multiply(transposeA: true, transposeB: false, m: outDim, n: inDim, k: rows, a: dy, lda: outDim, b: x, ldb: inDim,
                      beta: 1, c: dw, ldc: inDim, threads: threads)
        if let dx {
            Gemm.multiply(transposeA: false, transposeB: false, m: rows, n: inDim, k: outDim, a: dy, lda: outDim, b: w, ldb: inDim,
                          beta: accumulate ? 1 : 0, c: dx, ldc: inDim, threads: threads)
        }
    }

    /// Sum of token cross-entropies without touching the gradients (validation).
    public func loss(inputs: [Int32], targets: [Int32], positions: [Int32]? = nil) -> Double {
        forwardBackward(inputs: inputs, targets: targets, positions: positions, lossScale: 1, backward: false)
    }

    /// Forward and backward for one micro-batch; gradients are added to the slab's. Returns the sum of token
    /// cross-entropies over rows whose target is not negative (a negative target is ignored, as HF's -100).
    ///
    /// - `positions`: each row's position inside its document (default r % seq). Packed documents restart at 0:
    ///   RoPE uses the position and attention reaches back only to the document's first row.
    /// - `rowWeights`: the gradient of the returned sum's rows is scaled by `lossScale · rowWeights[r]`; without it
    ///   every row gets `lossScale / rows` (the mean over the micro-batch, 1 / micro-batches for accumulation).
    /// - `gradientsReady` is called with each flat range of the gradient slab as soon as the backward has finished
    ///   it: LM head + final norm, then layers from last to first, then the embedding (data parallel overlaps the
    ///   reduce-scatter with the rest of the backward).
    @discardableResult
    public func forwardBackward(inputs: [Int32], targets: [Int32], positions: [Int32]? = nil, rowWeights: [Float]? = nil,
                                lossScale: Float = 1, backward: Bool = true, gradientsReady: ((Range<Int>) -> Void)? = nil) -> Double {
        forwardLayers(inputs: inputs, targets: targets, positions: positions)
        let loss = head(weights: rowWeights, lossScale: lossScale, backward: backward, rowLosses: nil)
        if backward { backwardLayers(gradientsReady: gradientsReady) }
        return loss
    }

    /// The forward alone, keeping every activation for a later `backward`: each row's −log p(target) goes to
    /// `rowLosses` (0 where the target is ignored). For losses that are functions of per-sequence log-probabilities
    /// (DPO), whose row weights are only known after the forward.
    @discardableResult
    public func forward(inputs: [Int32], targets: [Int32], positions: [Int32]? = nil, rowLosses: inout [Float]) -> Double {
        precondition(rowLosses.count == n)
        forwardLayers(inputs: inputs, targets: targets, positions: positions)
        return rowLosses.withUnsafeMutableBufferPointer { head(weights: nil, lossScale: 1, backward: false, rowLosses: $0.baseAddress) }
    }

    /// The backward of the last `forward`, with d(objective)/d(row's cross-entropy) = `rowWeights[r]`. The head's
    /// logits are recomputed in chunks (they were never held).
    public func backward(rowWeights: [Float], gradientsReady: ((Range<Int>) -> Void)? = nil) {
        precondition(rowWeights.count == n)
        _ = head(weights: rowWeights, lossScale: 1, backward: true, rowLosses: nil)
        backwardLayers(gradientsReady: gradientsReady)
    }

    private func forwardLayers(inputs: [Int32], targets: [Int32], positions: [Int32]?) {
        precondition(inputs.count == n && targets.count == n)
        savedInputs = inputs
        savedTargets = targets
        if let positions {
            precondition(positions.count == n && positions.indices.allSatisfy { positions[$0] >= 0 && Int(positions[$0]) <= $0 % seq })
            savedPositions = positions
        } else {
            for r in 0..<n { savedPositions[r] = Int32(r % seq) }
        }
        let d = c.hiddenSize
        let embed = slab.parameters.embedding
        for (i, t) in inputs.enumerated() { (acts[0].x + i * d).update(from: embed + Int(t) * d, count: d) }
        savedPositions.withUnsafeBufferPointer { pos in
            let pos = pos.baseAddress!
            for l in 0..<c.layerCount { forwardLayer(l, positions: pos) }
        }
        LayerPasses.rmsNormForward(xnFinal, rstdFinal, xFinal, slab.parameters.finalNorm, n: n, d: d, eps: c.rmsNormEps, pool: pool)
    }

    /// Layer l's forward from acts[l].x, keeping what its backward reads. Unless `recomputing` (the backward's
    /// second pass under `recompute`), it also writes the next layer's input.
    private func forwardLayer(_ l: Int, positions pos: UnsafePointer<Int32>, recomputing: Bool = false) {
        let (d, qd, kd, f) = (c.hiddenSize, c.queryDim, c.kvDim, c.intermediateSize)
        let (H, KH, hd) = (c.headCount, c.kvHeadCount, c.headDim)
        let a = acts[l], w = slab.parameters.layers[l]
        LayerPasses.rmsNormForward(a.xn1, a.rstd1, a.x, w.attentionNorm, n: n, d: d, eps: c.rmsNormEps, pool: pool)
        linear(a.q, a.xn1, w.wq, rows: n, inDim: d, outDim: qd)
        linear(a.k, a.xn1, w.wk, rows: n, inDim: d, outDim: kd)
        linear(a.v, a.xn1, w.wv, rows: n, inDim: d, outDim: kd)
        LayerPasses.rope(a.q, n: n, positions: pos, heads: H, headDim: hd, cos: ropeCos, sin: ropeSin, inverse: false, pool: pool)
        LayerPasses.rope(a.k, n: n, positions: pos, heads: KH, headDim: hd, cos: ropeCos, sin: ropeSin, inverse: false, pool: pool)
        attention.forward(a.att, a.lse, q: a.q, k: a.k, v: a.v, positions: pos, threads: threads)
        linear(a.x1, a.att, w.wo, rows: n, inDim: qd, outDim: d)
        LayerPasses.residualAdd(a.x1, a.x, count: n * d, pool: pool)
        LayerPasses.rmsNormForward(a.xn2, a.rstd2, a.x1, w.ffnNorm, n: n, d: d, eps: c.rmsNormEps, pool: pool)
        linear(a.gate, a.xn2, w.wGate, rows: n, inDim: d, outDim: f)
        linear(a.up, a.xn2, w.wUp, rows: n, inDim: d, outDim: f)
        LayerPasses.swigluForward(a.h, gate: a.gate, up: a.up, count: n * f, pool: pool)
        if recomputing { return }
        let next = l + 1 < c.layerCount ? acts[l + 1].x : xFinal
        linear(next, a.h, w.wDown, rows: n, inDim: f, outDim: d)
        LayerPasses.residualAdd(next, a.x1, count: n * d, pool: pool)
    }

    /// LM head + cross-entropy in chunks of rows; with `backward`, dxn (in dtmp) accumulates dlogits · W_head and the
    /// head's gradient is added.
    private func head(weights: [Float]?, lossScale: Float, backward: Bool, rowLosses: UnsafeMutablePointer<Float>?) -> Double {
        let (d, V) = (c.hiddenSize, c.vocabularySize)
        let head = slab.parameters.output, dHead = slab.gradients.output
        var loss = 0.0
        let scale = weights == nil ? lossScale / Float(n) : lossScale
        var r0 = 0
        savedTargets.withUnsafeBufferPointer { tg in
            while r0 < n {
                let rows = min(headChunk, n - r0)
                linear(logitChunk, xnFinal + r0 * d, head, rows: rows, inDim: d, outDim: V)
                loss += weights.withOptionalPointer { w in
                    LayerPasses.crossEntropy(logitChunk, targets: tg.baseAddress! + r0, rows: rows, vocab: V, scale: scale,
                                             weights: w.map { $0 + r0 }, rowLoss: rowLosses.map { $0 + r0 }, pool: pool)
                }
                if backward { linearBackward(dx: dtmp + r0 * d, accumulate: false, dw: dHead, dy: logitChunk, x: xnFinal + r0 * d, w: head,
                               rows: rows, inDim: d, outDim: V) }
                r0 += rows
            }
        }
        return loss
    }

    /// Backward through the final norm, the layers and the embedding, from dxn in dtmp.
    private func backwardLayers(gradientsReady: ((Range<Int>) -> Void)?) {
        let (d, qd, kd, f) = (c.hiddenSize, c.queryDim, c.kvDim, c.intermediateSize)
        let (H, KH, hd) = (c.headCount, c.kvHeadCount, c.headDim)
        let (parameters, gradients, layout) = (slab.parameters, slab.gradients, slab.layout)
        dx.update(repeating: 0, count: n * d)
        LayerPasses.rmsNormBackward(dx, gradients.finalNorm, dtmp, xFinal, parameters.finalNorm, rstdFinal, n: n, d: d, pool: pool)
        gradientsReady?(layout.finalNorm.lowerBound..<slab.count)
        // Backward through the layers; dx holds d(loss)/d(layer output) on entry to each.
        savedPositions.withUnsafeBufferPointer { pos in
            let pos = pos.baseAddress!
            for l in stride(from: c.layerCount - 1, through: 0, by: -1) {
                // The forward left the last layer's activations in the shared buffers: only the others are recomputed.
                if recompute && l < c.layerCount - 1 { forwardLayer(l, positions: pos, recomputing: true) }
                let a = acts[l], w = parameters.layers[l], dw = gradients.layers[l]
                // MLP: out = x1 + down(h)
                linearBackward(dx: dh, accumulate: false, dw: dw.wDown, dy: dx, x: a.h, w: w.wDown, rows: n, inDim: f, outDim: d)
                LayerPasses.swigluBackward(dgate: dgate, dup: dup, dh: dh, gate: a.gate, up: a.up, count: n * f, pool: pool)
                linearBackward(dx: dtmp, accumulate: false, dw: dw.wGate, dy: dgate, x: a.xn2, w: w.wGate, rows: n, inDim: d, outDim: f)
                linearBackward(dx: dtmp, accumulate: true, dw: dw.wUp, dy: dup, x: a.xn2, w: w.wUp, rows: n, inDim: d, outDim: f)
                // dx now is d/d(x1) through the residual; add the norm's path.
                LayerPasses.rmsNormBackward(dx, dw.ffnNorm, dtmp, a.x1, w.ffnNorm, a.rstd2, n: n, d: d, pool: pool)
                // Attention: x1 = x + o_proj(att)
                linearBackward(dx: datt, accumulate: false, dw: dw.wo, dy: dx, x: a.att, w: w.wo, rows: n, inDim: qd, outDim: d)
                dk.update(repeating: 0, count: n * kd)
                dv.update(repeating: 0, count: n * kd)
                attention.backward(dq: dq, dk: dk, dv: dv, dout: datt, q: a.q, k: a.k, v: a.v, lse: a.lse, positions: pos,
                                   threads: threads)
                LayerPasses.rope(dq, n: n, positions: pos, heads: H, headDim: hd, cos: ropeCos, sin: ropeSin, inverse: true, pool: pool)
                LayerPasses.rope(dk, n: n, positions: pos, heads: KH, headDim: hd, cos: ropeCos, sin: ropeSin, inverse: true, pool: pool)
                linearBackward(dx: dtmp, accumulate: false, dw: dw.wq, dy: dq, x: a.xn1, w: w.wq, rows: n, inDim: d, outDim: qd)
                linearBackward(dx: dtmp, accumulate: true, dw: dw.wk, dy: dk, x: a.xn1, w: w.wk, rows: n, inDim: d, outDim: kd)
                linearBackward(dx: dtmp, accumulate: true, dw: dw.wv, dy: dv, x: a.xn1, w: w.wv, rows: n, inDim: d, outDim: kd)
                LayerPasses.rmsNormBackward(dx, dw.attentionNorm, dtmp, a.x, w.attentionNorm, a.rstd1, n: n, d: d, pool: pool)
                gradientsReady?(layout.layers[l].span)
            }
        }
        let dEmbed = gradients.embedding
        for (i, t) in savedInputs.enumerated() {
            let row = dEmbed + Int(t) * d, src = dx + i * d
            for j in 0..<d { row[j] += src[j] }
        }
        gradientsReady?(layout.embedding)
    }
}

extension Optional where Wrapped == [Float] {
    /// The array's base address (or nil) for the duration of `body`.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let a = self else { return body(nil) }
        return a.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
