import DSFormats

/// A 2-D weight [rows × cols] stored row-major in any supported ggml type (rows = outputs, cols = inputs;
/// quant blocks run along a row). The bytes are usually mapped from a file; whoever creates the matrix
/// keeps that storage alive.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let base: UnsafeRawPointer
    public let rowBytes: Int

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

    /// y[r] = W[r] · x for r in `range` (all rows by default). `scratch` holds one dequantized row.
    public func multiply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                         rows range: Range<Int>? = nil, scratch: UnsafeMutablePointer<Float>) {
        let range = range ?? 0..<rows
        if type == .f32 {
            for r in range { y[r] = dot((base + r * rowBytes).assumingMemoryBound(to: Float.self), x, cols) }
            return
        }
        for r in range {
            row(r, into: scratch)
            y[r] = dot(scratch, x, cols)
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
