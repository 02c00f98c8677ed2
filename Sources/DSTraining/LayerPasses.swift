import DSTensor
import Foundation

/// Forward/backward pairs over raw row-major buffers (llm.c style). `n` rows of width `d` unless stated.
enum LayerPasses {
    // MARK: RMSNorm — y = x · r · g, r = 1 / sqrt(mean(x²) + eps) (transformers' LlamaRMSNorm in f32)

    static func rmsNormForward(_ y: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               _ g: UnsafePointer<Float>, n: Int, d: Int, eps: Float, pool: WorkerPool) {
        nonisolated(unsafe) let (y, rstd, x, g) = (y, rstd, x, g)
        pool.parallelFor(n, minimumChunk: 16) { rows in
            for i in rows {
                let xi = x + i * d, yi = y + i * d
                let r = 1 / (dot(xi, xi, count: d) / Float(d) + eps).squareRoot()
                rstd[i] = r
                var j = 0
                while j + 16 <= d { store16(load16(g + j) * (load16(xi + j) * r), yi + j); j += 16 }
                while j < d { yi[j] = g[j] * (xi[j] * r); j += 1 }
            }
        }
    }

    /// dx += r·a − x·r³·(a·x)/d with a = dy ⊙ g; dg += Σ_rows dy ⊙ x·r. Rows run in parallel in fixed blocks of 32,
    /// each block adding its rows into its own dg partial; the partials are summed in block order, so the result has
    /// the same bits for any thread count.
    static func rmsNormBackward(_ dx: UnsafeMutablePointer<Float>, _ dg: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                                _ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, n: Int, d: Int,
                                pool: WorkerPool) {
        let block = 32, blocks = (n + block - 1) / block
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: blocks * d)
        defer { partial.deallocate() }
        nonisolated(unsafe) let (dx, dy, x, g, rstd, part) = (dx, dy, x, g, rstd, partial)
        pool.run(tasks: blocks) { b in
            let dgb = part + b * d
            dgb.update(repeating: 0, count: d)
            for i in (b * block)..<min(n, (b + 1) * block) {
                let xi = x + i * d, dyi = dy + i * d, dxi = dx + i * d
                let r = rstd[i]
                var acc = SIMD16<Float>()
                var j = 0
                while j + 16 <= d {
                    let dyv = load16(dyi + j), xv = load16(xi + j)
                    acc += dyv * load16(g + j) * xv
                    store16(load16(dgb + j) + dyv * xv * r, dgb + j)
                    j += 16
                }
                var dot = horizontalSum(acc)
                while j < d {
                    dot += dyi[j] * g[j] * xi[j]
                    dgb[j] += dyi[j] * xi[j] * r
                    j += 1
                }
                let c = dot * r * r * r / Float(d)
                j = 0
                while j + 16 <= d {
                    store16(load16(dxi + j) + (load16(dyi + j) * load16(g + j) * r - load16(xi + j) * c), dxi + j)
                    j += 16
                }
                while j < d { dxi[j] += dyi[j] * g[j] * r - xi[j] * c; j += 1 }
            }
        }
        for b in 0..<blocks { add(dg, partial + b * d, count: d) }
    }

    /// Σ a[j]·b[j] for j < count: 16 lanes, summed by halving, then the tail.
    @inline(__always) static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD16<Float>()
        var j = 0
        while j + 16 <= count { acc.addProduct(load16(a + j), load16(b + j)); j += 16 }
        var s = horizontalSum(acc)
        while j < count { s += a[j] * b[j]; j += 1 }
        return s
    }

    /// y[i] += x[i] for i < count.
    @inline(__always) static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count { store16(load16(y + i) + load16(x + i), y + i); i += 16 }
        while i < count { y[i] += x[i]; i += 1 }
    }

    /// The residual add y += x over count values, on the pool.
    static func residualAdd(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, pool: WorkerPool) {
        nonisolated(unsafe) let (y, x) = (y, x)
        pool.parallelFor(count, minimumChunk: 1 << 15) { r in add(y + r.lowerBound, x + r.lowerBound, count: r.count) }
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
                     cos: [Float], sin: [Float], inverse: Bool, pool: WorkerPool) {
        let half = hd / 2, width = heads * hd
        let sign: Float = inverse ? -1 : 1
        cos.withUnsafeBufferPointer { cosTable in
            sin.withUnsafeBufferPointer { sinTable in
                nonisolated(unsafe) let (x, positions, cosTable, sinTable) = (x, positions, cosTable.baseAddress!, sinTable.baseAddress!)
                pool.parallelFor(n, minimumChunk: 32) { rows in
                    for r in rows {
                        let cp = cosTable + Int(positions[r]) * half, sp = sinTable + Int(positions[r]) * half
                        for h in 0..<heads {
                            let v = x + r * width + h * hd
                            var i = 0
                            while i + 16 <= half {
                                let c = load16(cp + i), s = load16(sp + i) * sign
                                let a = load16(v + i), b = load16(v + half + i)
                                store16(a * c - b * s, v + i)
                                store16(b * c + a * s, v + half + i)
                                i += 16
                            }
                            while i < half {
                                let c = cp[i], s = sp[i] * sign
                                let a = v[i], b = v[i + half]
                                v[i] = a * c - b * s
                                v[i + half] = b * c + a * s
                                i += 1
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: SwiGLU — h = silu(g) ⊙ u

    static func swigluForward(_ h: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int,
                              pool: WorkerPool) {
        nonisolated(unsafe) let (h, gate, up) = (h, gate, up)
        pool.parallelFor(count, minimumChunk: 1 << 14, multipleOf: 16) { range in siluGate(h, gate: gate, up: up, range) }
    }

    /// dgate = dh · u · σ(g)(1 + g(1 − σ(g))), dup = dh · silu(g).
    static func swigluBackward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dh: UnsafePointer<Float>,
                               gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, pool: WorkerPool) {
        nonisolated(unsafe) let (dgate, dup, dh, gate, up) = (dgate, dup, dh, gate, up)
        pool.parallelFor(count, minimumChunk: 1 << 14, multipleOf: 16) { range in
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
