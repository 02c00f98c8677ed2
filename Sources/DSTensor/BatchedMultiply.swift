import Foundation

/// Y = X · Wᵀ for a batch of activation rows (prefill and scoring): each weight row is dequantized once
/// and reused for every token, with a 2-row × 4-token register tile, so the work is FMAs on cached data
/// instead of one pass over the weights per token.
extension WeightMatrix {
    /// X is [count × cols] row-major, Y is [count × rows] row-major.
    /// `scratch` keeps the quantized activations of the packed kernels between calls (the forward pass's buffers).
    public func multiply(batch x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>,
                         pool: WorkerPool, threads: Int? = nil, scratch: ActivationScratch? = nil) {
        if usesPackedKernels, let packed {
            // Integer GEMM on the panels: each weight block is read once per tile of tokens, no dequantized copy.
            packed.multiply(x, count: count, into: y, ldy: rows, pool: pool, threads: threads, scratch: scratch)
            return
        }
        if count < 3 {
            // Too few tokens to repay dequantizing rows: the fused row kernels win even reading twice.
            for t in 0..<count { multiply(x + t * cols, into: y + t * rows, pool: pool, threads: threads) }
            return
        }
        if count >= WeightMatrix.gemmMinimumBatch && Gemm.isAvailable {
            multiplyWithGemm(batch: x, count: count, into: y, pool: pool, threads: threads ?? pool.threadCount)
            return
        }
        nonisolated(unsafe) let x = x, y = y
        let m = self
        let rowPairs = (rows + 1) / 2
        pool.parallelFor(rowPairs, threads: threads, minimumChunk: 4) { pairs in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * m.cols) { buf in
                let w0 = buf.baseAddress!, w1 = w0 + m.cols
                for pair in pairs {
                    let r0 = 2 * pair, r1 = min(r0 + 1, m.rows - 1)
                    m.row(r0, into: w0)
                    m.row(r1, into: w1)
                    var t = 0
                    while t + 4 <= count {
                        let s = tile2x4(w0, w1, x + t * m.cols, m.cols)
                        for j in 0..<4 {
                            y[(t + j) * m.rows + r0] = s.0[j]
                            if r1 != r0 { y[(t + j) * m.rows + r1] = s.1[j] }
                        }
                        t += 4
                    }
                    while t < count {
                        y[t * m.rows + r0] = dot(w0, x + t * m.cols, m.cols)
                        if r1 != r0 { y[t * m.rows + r1] = dot(w1, x + t * m.cols, m.cols) }
                        t += 1
                    }
                }
            }
        }
    }
}

extension WeightMatrix {
    /// Y_i = X · W_iᵀ for matrices that read the same input X ([count × cols]; q/k/v, gate/up). Packed matrices share
    /// one quantization of X per activation kind and one parallel region over all their panels, as one fused matrix
    /// would; the others run one after another.
    public static func multiply(_ matrices: [WeightMatrix], batch x: UnsafePointer<Float>, count: Int,
                                into ys: [UnsafeMutablePointer<Float>], pool: WorkerPool, threads: Int? = nil,
                                scratch: ActivationScratch) {
        precondition(matrices.count == ys.count)
        var products: [PackedProduct] = []
        products.reserveCapacity(matrices.count)
        var quantized: [ActivationKind] = []
        for (m, y) in zip(matrices, ys) {
            guard m.usesPackedKernels, let packed = m.packed else { continue }
            let acts = scratch.buffer(packed.activationKind, cols: m.cols, rows: count)
            if !quantized.contains(packed.activationKind) {
                acts.quantize(x, rows: count, pool: pool, threads: threads)
                quantized.append(packed.activationKind)
            }
            products.append(PackedProduct(packed, acts, y, ldy: m.rows))
        }
        if !products.isEmpty { PackedWeights.multiply(products, pool: pool, threads: threads) }
        for (m, y) in zip(matrices, ys) where !m.usesPackedKernels {
            m.multiply(batch: x, count: count, into: y, pool: pool, threads: threads)
        }
    }

    /// Batches at least this large go to the system GEMM (when one loaded); below it the dequantize-and-FMA
    /// tiles win, because a GEMM call has to dequantize the whole matrix to f32 first (measured on the 7B-shaped
    /// Q8_0 bench model: a 20-token prefill runs at 71 tok/s with tiles vs 49 through the GEMM; 16 sequences
    /// decoded together at 53 vs 36 tok/s; from ~48 rows on the GEMM wins).
    /// A tuning constant (a benchmark may vary it through this property; nothing reads the environment).
    nonisolated(unsafe) public static var gemmMinimumBatch = 32

    /// f32 values dequantized per GEMM call (a tuning constant, as `gemmMinimumBatch`).
    nonisolated(unsafe) public static var gemmPanelFloats = 2 << 20

    /// Y = X · Wᵀ through the system GEMM: f32 weights go straight in; other types are dequantized a panel
    /// of rows at a time (about 8 MB of f32, so the panel stays in cache while the GEMM reads it) by the
    /// worker pool, and the GEMM writes that panel's columns of Y in place (ldc = rows).
    func multiplyWithGemm(batch x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>,
                          pool: WorkerPool, threads: Int) {
        if type == .f32 {
            Gemm.multiply(transposeA: false, transposeB: true, m: count, n: rows, k: cols, a: x, lda: cols,
                          b: base.assumingMemoryBound(to: Float.self), ldb: cols, beta: 0, c: y, ldc: rows, threads: threads)
            return
        }
        let panelRows = max(16, min(rows, WeightMatrix.gemmPanelFloats / cols))
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: panelRows * cols)
        defer { panel.deallocate() }
        nonisolated(unsafe) let p = panel
        let m = self
        var r0 = 0
        while r0 < rows {
            let n = min(panelRows, rows - r0)
            let first = r0
            pool.parallelFor(n, threads: threads, minimumChunk: 8) { range in
                for r in range { m.row(first + r, into: p + r * m.cols) }
            }
            Gemm.multiply(transposeA: false, transposeB: true, m: count, n: n, k: cols, a: x, lda: cols, b: panel, ldb: cols,
                          beta: 0, c: y + first, ldc: rows, threads: threads)
            r0 += n
        }
    }
}

/// Dot products of two weight rows with four consecutive activation rows (stride n).
@inline(__always)
func tile2x4(_ w0: UnsafePointer<Float>, _ w1: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int)
    -> (SIMD4<Float>, SIMD4<Float>)
{
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
    var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
    let r0 = UnsafeRawPointer(w0), r1 = UnsafeRawPointer(w1), rx = UnsafeRawPointer(x)
    let stride = 4 * n
    var i = 0
    while i + 8 <= n {
        let o = 4 * i
        let v0 = r0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
        let v1 = r1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
        let x0 = rx.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
        let x1 = rx.loadUnaligned(fromByteOffset: o + stride, as: SIMD8<Float>.self)
        let x2 = rx.loadUnaligned(fromByteOffset: o + 2 * stride, as: SIMD8<Float>.self)
        let x3 = rx.loadUnaligned(fromByteOffset: o + 3 * stride, as: SIMD8<Float>.self)
        a00.addProduct(v0, x0); a01.addProduct(v0, x1); a02.addProduct(v0, x2); a03.addProduct(v0, x3)
        a10.addProduct(v1, x0); a11.addProduct(v1, x1); a12.addProduct(v1, x2); a13.addProduct(v1, x3)
        i += 8
    }
    var s0 = SIMD4<Float>(a00.sum(), a01.sum(), a02.sum(), a03.sum())
    var s1 = SIMD4<Float>(a10.sum(), a11.sum(), a12.sum(), a13.sum())
    while i < n {
        for j in 0..<4 {
            s0[j] += w0[i] * x[j * n + i]
            s1[j] += w1[i] * x[j * n + i]
        }
        i += 1
    }
    return (s0, s1)
}
