/// Row kernels for the K-quants (256-value super-blocks), the types of most GGUF files users have
/// (Q4_K_M = Q4_K + Q6_K). Layouts and formulas: Dequantize.qK / q6_K. Lane loops, as in DotKernels.

// Bit fiddling is done with whole-vector SIMD16<UInt8> operations, then one byte→float lane loop over
// memory (the shape LLVM turns into vpmovzxbd + vcvtdq2ps). Per-lane shifts inside lane loops stayed
// scalar (measured: 0.5 tok/s instead of ~20).

@inline(__always) func floats(uint8 p: UnsafePointer<UInt8>) -> SIMD16<Float> {
    var v = SIMD16<Float>()
    for j in 0..<16 { v[j] = Float(p[j]) }
    return v
}

@inline(__always) func floats(bytes q: SIMD16<UInt8>) -> SIMD16<Float> {
    var q = q
    return withUnsafeBytes(of: &q) { floats(uint8: $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
}

@inline(__always) func bytes16(_ p: UnsafePointer<UInt8>) -> SIMD16<UInt8> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt8>.self)
}

/// 16 raw nibbles (0–15) as floats.
@inline(__always) func floats(rawNibbles p: UnsafePointer<UInt8>, high: Bool) -> SIMD16<Float> {
    let b = bytes16(p)
    return floats(bytes: high ? (b &>> 4) : (b & 0x0F))
}

/// 16 Q6_K values (6-bit, minus 32): 4 bits from ql (low or high nibble), 2 bits from qh at `shift`.
@inline(__always) func floatsQ6(_ ql: UnsafePointer<UInt8>, highNibble: Bool, _ qh: UnsafePointer<UInt8>, shift: UInt8)
    -> SIMD16<Float>
{
    let l = bytes16(ql), h = bytes16(qh)
    let lo = highNibble ? (l &>> 4) : (l & 0x0F)
    let hi = ((h &>> shift) & 3) &<< 4
    return floats(bytes: lo | hi) - 32
}

/// Chunk c (64 values) of a Q4_K/Q5_K block as 4 × 16 quantized values (0–15, or 0–31 with the fifth
/// bit from qh): first 32 from the low nibbles, last 32 from the high nibbles.
@inline(__always)
func unpackQKChunk(_ qs: UnsafePointer<UInt8>, _ qh: UnsafePointer<UInt8>, _ c: Int, fiveBit: Bool)
    -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)
{
    let q = qs + 32 * c
    var lo0 = floats(rawNibbles: q, high: false), lo1 = floats(rawNibbles: q + 16, high: false)
    var hi0 = floats(rawNibbles: q, high: true), hi1 = floats(rawNibbles: q + 16, high: true)
    if fiveBit {
        let s1 = UInt8(2 * c), s2 = UInt8(2 * c + 1)
        let h0 = bytes16(qh), h1 = bytes16(qh + 16)
        lo0 += floats(bytes: ((h0 &>> s1) & 1) &<< 4)
        lo1 += floats(bytes: ((h1 &>> s1) & 1) &<< 4)
        hi0 += floats(bytes: ((h0 &>> s2) & 1) &<< 4)
        hi1 += floats(bytes: ((h1 &>> s2) & 1) &<< 4)
    }
    return (lo0, lo1, hi0, hi1)
}

/// Q4_K (and Q5_K with `fiveBit`) row · x. Per 32-value sub-block: d·sc·Σ q·x − dmin·m·Σ x.
/// Everything accumulates in vector lanes; one horizontal sum per row (`SIMD.sum()` is an out-of-line loop).
@inline(__always)
func dotQK(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int, fiveBit: Bool) -> Float {
    var acc = SIMD16<Float>()
    var minAcc = SIMD16<Float>()
    let size = fiveBit ? 176 : 144
    for b in 0..<(n / 256) {
        let p = w + size * b
        let xb = x + 256 * b
        let d = HalfFloat.toFloat(p.loadUnaligned(as: UInt16.self))
        let dmin = HalfFloat.toFloat(p.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let scales = (p + 4).assumingMemoryBound(to: UInt8.self)
        let qh = (p + 16).assumingMemoryBound(to: UInt8.self)
        let qs = (p + (fiveBit ? 48 : 16)).assumingMemoryBound(to: UInt8.self)
        for c in 0..<4 {
            let (sc1, m1) = Dequantize.scaleMin(scales, 2 * c)
            let (sc2, m2) = Dequantize.scaleMin(scales, 2 * c + 1)
            let (lo0, lo1, hi0, hi1) = unpackQKChunk(qs, qh, c, fiveBit: fiveBit)
            let x0 = load16(xb + 64 * c), x1 = load16(xb + 64 * c + 16)
            let x2 = load16(xb + 64 * c + 32), x3 = load16(xb + 64 * c + 48)
            acc.addProduct(SIMD16(repeating: d * sc1), lo0 * x0 + lo1 * x1)
            acc.addProduct(SIMD16(repeating: d * sc2), hi0 * x2 + hi1 * x3)
            minAcc.addProduct(SIMD16(repeating: dmin * m1), x0 + x1)
            minAcc.addProduct(SIMD16(repeating: dmin * m2), x2 + x3)
        }
    }
    return (acc - minAcc).sum()
}

/// Q6_K row · x: two halves of 128 values, 16 signed 8-bit scales, d last.
@inline(__always)
func dotQ6K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    for b in 0..<(n / 256) {
        let p = w + 210 * b
        let d = HalfFloat.toFloat(p.loadUnaligned(fromByteOffset: 208, as: UInt16.self))
        for half in 0..<2 {
            let ql = (p + 64 * half).assumingMemoryBound(to: UInt8.self)
            let qh = (p + 128 + 32 * half).assumingMemoryBound(to: UInt8.self)
            let sc = (p + 192 + 8 * half).assumingMemoryBound(to: Int8.self)
            let xh = x + 256 * b + 128 * half
            for g in 0..<2 {  // l in 16g ..< 16g + 16, scale index is = g
                let o = 16 * g
                let v1 = floatsQ6(ql + o, highNibble: false, qh + o, shift: 0)
                let v2 = floatsQ6(ql + 32 + o, highNibble: false, qh + o, shift: 2)
                let v3 = floatsQ6(ql + o, highNibble: true, qh + o, shift: 4)
                let v4 = floatsQ6(ql + 32 + o, highNibble: true, qh + o, shift: 6)
                acc.addProduct(SIMD16(repeating: d * Float(sc[g])), v1 * load16(xh + o))
                acc.addProduct(SIMD16(repeating: d * Float(sc[g + 2])), v2 * load16(xh + 32 + o))
                acc.addProduct(SIMD16(repeating: d * Float(sc[g + 4])), v3 * load16(xh + 64 + o))
                acc.addProduct(SIMD16(repeating: d * Float(sc[g + 6])), v4 * load16(xh + 96 + o))
            }
        }
    }
    return acc.sum()
}
