/// A 2-D weight [rows × cols] stored row-major in any supported ggml type (rows = outputs, cols = inputs;
/// quant blocks run along a row). The bytes are usually mapped from a file; whoever creates the matrix
/// keeps that storage alive.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let base: UnsafeRawPointer
    public let rowBytes: Int
    /// The same matrix repacked for the integer kernels (llama.cpp-parity numerics), when the model was loaded that
    /// way: products then run on quantized activations. `base` stays valid for row lookups and the f32 kernels.
    public var packed: PackedWeights?

    /// Whether products go through the packed integer kernels at the current ISA level.
    @inline(__always)
    public var usesPackedKernels: Bool { packed != nil && KernelISA.current >= .avx2 }

    public init(type: GGMLType, rows: Int, cols: Int, base: UnsafeRawPointer) {
        precondition(cols % type.blockSize == 0, "a row of \(cols) values is not whole \(type) blocks")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.base = base
        self.rowBytes = cols / type.blockSize * type.blockBytes
    }

    public var byteCount: Int { rows * rowBytes }

    /// Row r as f32.
    @inline(__always)
    public func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        Dequantize.row(type, base + r * rowBytes, count: cols, into: out)
    }

    /// W[r] · x, reading the stored type directly where a kernel exists; `scratch` (cols floats) otherwise.
    @inline(__always)
    public func dotRow(_ r: Int, _ x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Float {
        let p = base + r * rowBytes
        switch type {
        case .f32: return dot(p.assumingMemoryBound(to: Float.self), x, cols)
        case .bf16: return dotBF16(p, x, cols)
        case .f16: return dotF16(p, x, cols)
        case .q8_0: return dotQ8_0(p, x, cols)
        case .q4_0: return dotQ4_0(p, x, cols)
        case .q4_K: return dotQK(p, x, cols, fiveBit: false)
        case .q5_K: return dotQK(p, x, cols, fiveBit: true)
        case .q6_K: return dotQ6K(p, x, cols)
        default:
            row(r, into: scratch)
            return dot(scratch, x, cols)
        }
    }

    /// y[r] = W[r] · x for r in `range` (all rows by default), on this thread.
    public func multiply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                         rows range: Range<Int>? = nil, scratch: UnsafeMutablePointer<Float>) {
        if range == nil, usesPackedKernels, let packed {
            packed.multiply(x, count: 1, into: y, ldy: rows, pool: .shared, threads: 1)
            return
        }
        for r in range ?? 0..<rows { y[r] = dotRow(r, x, scratch: scratch) }
    }

    /// y = W · x with the rows split across the pool's threads.
    public func multiply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, pool: WorkerPool, threads: Int? = nil) {
        if usesPackedKernels, let packed {
            packed.multiply(x, count: 1, into: y, ldy: rows, pool: pool, threads: threads)
            return
        }
        nonisolated(unsafe) let x = x, y = y
        let matrix = self
        pool.parallelFor(rows, threads: threads, minimumChunk: 16) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: matrix.cols) { scratch in
                for r in range { y[r] = matrix.dotRow(r, x, scratch: scratch.baseAddress!) }
            }
        }
    }
}

/// Σ a[i]·b[i] with four SIMD16 accumulators (FMA with -target-cpu).
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var i = 0
    while i + 64 <= n {
        s0.addProduct(ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self),
                      rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
        s1.addProduct(ra.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD16<Float>.self),
                      rb.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD16<Float>.self))
        s2.addProduct(ra.loadUnaligned(fromByteOffset: 4 * (i + 32), as: SIMD16<Float>.self),
                      rb.loadUnaligned(fromByteOffset: 4 * (i + 32), as: SIMD16<Float>.self))
        s3.addProduct(ra.loadUnaligned(fromByteOffset: 4 * (i + 48), as: SIMD16<Float>.self),
                      rb.loadUnaligned(fromByteOffset: 4 * (i + 48), as: SIMD16<Float>.self))
        i += 64
    }
    while i + 16 <= n {
        s0.addProduct(ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self),
                      rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
        i += 16
    }
    var s = ((s0 + s1) + (s2 + s3)).sum()
    while i < n {
        s += a[i] * b[i]
        i += 1
    }
    return s
}
