import DSTensor
import Foundation

/// Forward/backward pairs over raw row-major buffers (llm.c style). `n` rows of width `d` unless stated.
enum LayerPasses {
    // MARK: RMSNorm — y = x · r · g, r = 1 / sqrt(mean(x²) + eps) (transformers' LlamaRMSNorm in f32)

    static func rmsNormForward(_ y: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               _ g: UnsafePointer<Float>, n: Int, d: Int, eps: Float) {
        for i in 0..<n {
            let xi = x + i * d, yi = y + i * d
            var ss: Float = 0
            for j in 0..<d { ss += xi[j] * xi[j] }
            let r = 1 / (ss / Float(d) + eps).squareRoot()
            rstd[i] = r
            for j in 0..<d { yi[j] = g[j] * (xi[j] * r) }
        }
    }

    /// dx += r·a − x·r³·(a·x)/d with a = dy ⊙ g; dg += Σ_rows dy ⊙ x·r.
    static func rmsNormBackward(_ dx: UnsafeMutablePointer<Float>, _ dg: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                                _ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, n: Int, d: Int) {
        for i in 0..<n {
            let xi = x + i * d, dyi = dy + i * d, dxi = dx + i * d
            let r = rstd[i]
            var dot: Float = 0
            for j in 0..<d {
                dot += dyi[j] * g[j] * xi[j]
                dg[j] += dyi[j] * xi[j] * r
            }
            let c = dot * r * r * r / Float(d)
            for j in 0..<d { dxi[j] += dyi[j] * g[j] * r - xi[j] * c }
        }
    }

    // MARK: RoPE — rotate-half on each head (transformers' convention), in place

    /// cos/sin tables [positions × half], angles as transformers computes them (f32 inverse frequencies).
    static func ropeTables(headDim hd: Int, positions: Int, theta: Float) -> (cos: [Float], sin: [Float]) {
        let half = hd / 2
        var c = [Float](repeating: 0, count: positions * half), s = c
        for i in 0..<half {
            let inv = 1 / powf(theta, Float(2 * i) / Float(hd))
            for p in 0..<positions {
                let a = Float(p) * inv
                c[p * half + i] = cosf(a)
                s[p * half + i] = sinf(a)
            }
        }
        return (c, s)
    }

    /// Rotates every head of n rows (row r at position `positions[r]`: r % seq, or its offset in a packed document)
    /// by +angle, or by −angle for the backward pass (the rotation is orthogonal: its gradient is the inverse rotation).
    static func rope(_ x: UnsafeMutablePointer<Float>, n: Int, positions: UnsafePointer<Int32>, heads: Int, headDim hd: Int,
                     cos: [Float], sin: [Float], inverse: Bool) {
        let half = hd / 2, width = heads * hd
        for r in 0..<n {
            let pos = Int(positions[r])
            for h in 0..<heads {
                let v = x + r * width + h * hd
                for i in 0..<half {
                    let c = cos[pos * half + i], s = inverse ? -sin[pos * half + i] : sin[pos * half + i]
                    let a = v[i], b = v[i + half]
                    v[i] = a * c - b * s
                    v[i + half] = b * c + a * s
                }
            }
        }
    }

    // MARK: SwiGLU — h = silu(g) ⊙ u

    static func swigluForward(_ h: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int,
                              pool: WorkerPool) {
        nonisolated(unsafe) let (h, gate, up) = (h, gate, up)
        pool.parallelFor(count, minimumChunk: 1 << 14) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let g = load16(gate + i)
                store16(g / (1 + exp16(-g)) * load16(up + i), h + i)
                i += 16
            }
            while i < range.upperBound {
                let g = gate[i]
                h[i] = g / (1 + expf(-g)) * up[i]
                i += 1
            }
        }
    }

    /// dgate = dh · u · σ(g)(1 + g(1 − σ(g))), dup = dh · silu(g).
    static func swigluBackward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dh: UnsafePointer<Float>,
                               gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, pool: WorkerPool) {
        nonisolated(unsafe) let (dgate, dup, dh, gate, up) = (dgate, dup, dh, gate, up)
        pool.parallelFor(count, minimumChunk: 1 << 14) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let g = load16(gate + i), d = load16(dh + i)
                let sg = 1 / (1 + exp16(-g))
                store16(d * load16(up + i) * sg * (1 + g * (1 - sg)), dgate + i)
                store16(d * g * sg, dup + i)
                i += 16
            }
            while i < range.upperBound {
                let g = gate[i]
                let sg = 1 / (1 + expf(-g))
                dgate[i] = dh[i] * up[i] * sg * (1 + g * (1 - sg))
                dup[i] = dh[i] * g * sg
                i += 1
            }
        }
    }

    // MARK: Softmax cross-entropy, in place on a chunk of logit rows

    /// Turns logits into dlogits = (softmax − onehot) · scale · weight[r] and returns Σ −log p(target) over the rows.
    /// A negative target is ignored (HF's -100): no loss, zero dlogits. `rowLoss` receives each row's −log p.
    static func crossEntropy(_ logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, rows: Int, vocab: Int,
                             scale: Float, weights: UnsafePointer<Float>? = nil, rowLoss: UnsafeMutablePointer<Float>? = nil,
                             pool: WorkerPool) -> Double {
        // Rows are independent; each task sums its own rows' losses, added in row order afterwards (deterministic).
        let perRow = UnsafeMutablePointer<Double>.allocate(capacity: rows)
        defer { perRow.deallocate() }
        nonisolated(unsafe) let (logits, targets, out, weights, rowLoss) = (logits, targets, perRow, weights, rowLoss)
        pool.run(tasks: rows) { r in
            let t = Int(targets[r])
            if t < 0 {
                (logits + r * vocab).update(repeating: 0, count: vocab)
                out[r] = 0
            } else {
                out[r] = crossEntropyRow(logits + r * vocab, target: t, vocab: vocab, scale: scale * (weights?[r] ?? 1))
            }
            rowLoss?[r] = Float(out[r])
        }
        var total = 0.0
        for r in 0..<rows { total += perRow[r] }
        return total
    }

    static func crossEntropyRow(_ l: UnsafeMutablePointer<Float>, target t: Int, vocab: Int, scale factor: Float) -> Double {
        let mx = maximum(l, count: vocab)
        let target = l[t] - mx
        let sum = exponentiate(l, count: vocab, maxScore: mx)
        scaleInPlace(l, count: vocab, by: 1 / sum * factor)
        l[t] -= factor
        return Double(logf(sum) - target)
    }
}
