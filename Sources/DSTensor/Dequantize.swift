/// Dequantization of ggml block formats to f32, exactly as ggml-quants.c defines them.
///
/// Layouts (all little-endian, no padding): Q8_0 `d f16, qs i8[32]`; Q4_0 `d f16, qs u8[16]`; Q4_1 `d, m f16,
/// qs u8[16]`; Q5_0 `d f16, qh u32, qs u8[16]`; Q5_1 `d, m f16, qh u32, qs u8[16]`; Q4_K `d, dmin f16,
/// scales u8[12], qs u8[128]`; Q5_K as Q4_K plus `qh u8[32]` before qs; Q6_K `ql u8[128], qh u8[64],
/// scales i8[16], d f16` (d last). 4-bit formats put low nibbles in the first half of a block and high
/// nibbles in the second half (not interleaved).
public enum Dequantize {
    /// Whether `row` can dequantize this type.
    public static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K: return true
        default: return false
        }
    }

    /// Dequantizes `count` values (a multiple of the type's block size) from `src` into `dst`.
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(count % type.blockSize == 0, "\(count) values are not whole \(type) blocks")
        let blocks = count / type.blockSize
        let size = type.blockBytes
        switch type {
        case .f32:
            for i in 0..<count { dst[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .f16:
            var i = 0
            let out = UnsafeMutableRawPointer(dst)
            while i + 16 <= count {
                out.storeBytes(of: SIMD16<Float>(src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<Float16>.self)),
                               toByteOffset: 4 * i, as: SIMD16<Float>.self)
                i += 16
            }
            while i < count {
                dst[i] = HalfFloat.toFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                i += 1
            }
        case .bf16:
            var i = 0
            let out = UnsafeMutableRawPointer(dst)
            while i + 16 <= count {
                let v = floats(bf16: (src + 2 * i).assumingMemoryBound(to: UInt16.self))
                out.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD16<Float>.self)
                i += 16
            }
            while i < count {
                dst[i] = BFloat16.toFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                i += 1
            }
        case .q8_0:
            for b in 0..<blocks { q8_0(src + b * size, dst + 32 * b) }
        case .q4_0:
            for b in 0..<blocks { q4_0(src + b * size, dst + 32 * b) }
        case .q4_1:
            for b in 0..<blocks { q4_1(src + b * size, dst + 32 * b) }
        case .q5_0:
            for b in 0..<blocks { q5(src + b * size, dst + 32 * b, hasMin: false) }
        case .q5_1:
            for b in 0..<blocks { q5(src + b * size, dst + 32 * b, hasMin: true) }
        case .q4_K:
            for b in 0..<blocks { qK(src + b * size, dst + 256 * b, fiveBit: false) }
        case .q5_K:
            for b in 0..<blocks { qK(src + b * size, dst + 256 * b, fiveBit: true) }
        case .q6_K:
            for b in 0..<blocks { q6_K(src + b * size, dst + 256 * b) }
        default:
            preconditionFailure("dequantization of \(type) is not supported")
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        HalfFloat.toFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    static func q8_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = SIMD16<Float>(repeating: half(p, 0))
        let qs = (p + 2).assumingMemoryBound(to: Int8.self)
        let out = UnsafeMutableRawPointer(y)
        out.storeBytes(of: floats(int8: qs) * d, toByteOffset: 0, as: SIMD16<Float>.self)
        out.storeBytes(of: floats(int8: qs + 16) * d, toByteOffset: 64, as: SIMD16<Float>.self)
    }

    static func q4_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = SIMD16<Float>(repeating: half(p, 0))
        let qs = (p + 2).assumingMemoryBound(to: UInt8.self)
        let out = UnsafeMutableRawPointer(y)
        out.storeBytes(of: floats(nibbles: qs, high: false) * d, toByteOffset: 0, as: SIMD16<Float>.self)
        out.storeBytes(of: floats(nibbles: qs, high: true) * d, toByteOffset: 64, as: SIMD16<Float>.self)
    }

    static func q4_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), m = half(p, 2)
        let qs = (p + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = Float(qs[j] & 0x0F) * d + m
            y[j + 16] = Float(qs[j] >> 4) * d + m
        }
    }

    /// Q5_0 (centred, -16) and Q5_1 (with a minimum): the fifth bits come from one little-endian u32.
    static func q5(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, hasMin: Bool) {
        let d = half(p, 0)
        let m: Float = hasMin ? half(p, 2) : 0
        let h = hasMin ? 4 : 2
        let qh = p.loadUnaligned(fromByteOffset: h, as: UInt32.self).littleEndian
        let qs = (p + h + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let xh0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let xh1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            let v0 = Int((qs[j] & 0x0F) | xh0), v1 = Int((qs[j] >> 4) | xh1)
            if hasMin {
                y[j] = Float(v0) * d + m
                y[j + 16] = Float(v1) * d + m
            } else {
                y[j] = Float(v0 - 16) * d
                y[j + 16] = Float(v1 - 16) * d
            }
        }
    }

    /// 6-bit scale and min of sub-block j (ggml's get_scale_min_k4).
    @inline(__always) static func scaleMin(_ q: UnsafePointer<UInt8>, _ j: Int) -> (Float, Float) {
        if j < 4 { return (Float(q[j] & 63), Float(q[j + 4] & 63)) }
        let sc = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4)
        let m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4)
        return (Float(sc), Float(m))
    }

    /// Q4_K and Q5_K: four chunks of 64 values, two sub-blocks each with a 6-bit scale and min.
    /// Vectorised with the K-quant kernels' helpers; the same multiply-then-subtract order as ggml.
    static func qK(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, fiveBit: Bool) {
        let d = half(p, 0), dmin = half(p, 2)
        let scales = (p + 4).assumingMemoryBound(to: UInt8.self)
        let qh = (p + 16).assumingMemoryBound(to: UInt8.self)  // Q5_K only; shared by all chunks
        let qs = (p + (fiveBit ? 48 : 16)).assumingMemoryBound(to: UInt8.self)
        let out = UnsafeMutableRawPointer(y)
        for c in 0..<4 {
            let (sc1, m1) = scaleMin(scales, 2 * c)
            let (sc2, m2) = scaleMin(scales, 2 * c + 1)
            let d1 = SIMD16(repeating: d * sc1), d2 = SIMD16(repeating: d * sc2)
            let min1 = SIMD16(repeating: dmin * m1), min2 = SIMD16(repeating: dmin * m2)
            let (lo0, lo1, hi0, hi1) = unpackQKChunk(qs, qh, c, fiveBit: fiveBit)
            let o = 256 * c
            out.storeBytes(of: d1 * lo0 - min1, toByteOffset: o, as: SIMD16<Float>.self)
            out.storeBytes(of: d1 * lo1 - min1, toByteOffset: o + 64, as: SIMD16<Float>.self)
            out.storeBytes(of: d2 * hi0 - min2, toByteOffset: o + 128, as: SIMD16<Float>.self)
            out.storeBytes(of: d2 * hi1 - min2, toByteOffset: o + 192, as: SIMD16<Float>.self)
        }
    }

    /// Q6_K: two halves of 128 values; 4 low bits in ql, 2 high bits in qh, signed 8-bit scales, d last.
    static func q6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 208)
        let out = UnsafeMutableRawPointer(y)
        for n in 0..<2 {
            let ql = (p + 64 * n).assumingMemoryBound(to: UInt8.self)
            let qh = (p + 128 + 32 * n).assumingMemoryBound(to: UInt8.self)
            let sc = (p + 192 + 8 * n).assumingMemoryBound(to: Int8.self)
            for g in 0..<2 {
                let o = 16 * g, base = 4 * (128 * n + o)
                out.storeBytes(of: SIMD16(repeating: d * Float(sc[g])) * floatsQ6(ql + o, highNibble: false, qh + o, shift: 0),
                               toByteOffset: base, as: SIMD16<Float>.self)
                out.storeBytes(of: SIMD16(repeating: d * Float(sc[g + 2])) * floatsQ6(ql + 32 + o, highNibble: false, qh + o, shift: 2),
                               toByteOffset: base + 128, as: SIMD16<Float>.self)
                out.storeBytes(of: SIMD16(repeating: d * Float(sc[g + 4])) * floatsQ6(ql + o, highNibble: true, qh + o, shift: 4),
                               toByteOffset: base + 256, as: SIMD16<Float>.self)
                out.storeBytes(of: SIMD16(repeating: d * Float(sc[g + 6])) * floatsQ6(ql + 32 + o, highNibble: true, qh + o, shift: 6),
                               toByteOffset: base + 384, as: SIMD16<Float>.self)
            }
        }
    }
}
