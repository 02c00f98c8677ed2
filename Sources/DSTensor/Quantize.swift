/// f32 → ggml block formats, bit-exact with ggml's reference quantizers (legacy types as gguf-py reproduces
/// them; K-quants in QuantizeK.swift, checked against ggml's C code).
public enum Quantize {
    public static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K: return true
        default: return false
        }
    }

    /// Quantizes `count` values (whole blocks) from `src` into `dst` (count / blockSize × blockBytes bytes).
    public static func row(_ type: GGMLType, _ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        precondition(count % type.blockSize == 0, "\(count) values are not whole \(type) blocks")
        let blocks = count / type.blockSize
        let size = type.blockBytes
        switch type {
        case .f32:
            for i in 0..<count { dst.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        case .f16:
            for i in 0..<count { dst.storeBytes(of: HalfFloat.fromFloat(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in 0..<count { dst.storeBytes(of: BFloat16.fromFloat(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0:
            for b in 0..<blocks { q8_0(src + 32 * b, dst + b * size) }
        case .q4_0:
            for b in 0..<blocks { centred(src + 32 * b, dst + b * size, bits: 4) }
        case .q5_0:
            for b in 0..<blocks { centred(src + 32 * b, dst + b * size, bits: 5) }
        case .q4_1:
            for b in 0..<blocks { withMin(src + 32 * b, dst + b * size, bits: 4) }
        case .q5_1:
            for b in 0..<blocks { withMin(src + 32 * b, dst + b * size, bits: 5) }
        case .q4_K:
            for b in 0..<blocks { qK(src + 256 * b, dst + b * size, fiveBit: false) }
        case .q5_K:
            for b in 0..<blocks { qK(src + 256 * b, dst + b * size, fiveBit: true) }
        case .q6_K:
            for b in 0..<blocks { q6K(src + 256 * b, dst + b * size) }
        default:
            preconditionFailure("quantization to \(type) is not supported")
        }
    }

    @inline(__always) static func storeHalf(_ x: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: HalfFloat.fromFloat(x).littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// C's roundf: half away from zero.
    @inline(__always) static func roundf(_ x: Float) -> Float { x.rounded(.toNearestOrAwayFromZero) }

    /// Q8_0: d = max|x| / 127, q = roundf(x / d) (multiplying by 1/d, as ggml does).
    static func q8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d == 0 ? 0 : 1 / d
        storeHalf(d, out, 0)
        for j in 0..<32 { out.storeBytes(of: Int8(roundf(x[j] * id)), toByteOffset: 2 + j, as: Int8.self) }
    }

    /// Q4_0 / Q5_0: d = (signed value of largest magnitude) / -2^(bits-1); q = trunc(x/d + 2^(bits-1) + 0.5).
    static func centred(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, bits: Int) {
        var amax: Float = 0, signedMax: Float = 0
        for j in 0..<32 where abs(x[j]) > amax {
            amax = abs(x[j])
            signedMax = x[j]
        }
        let half = Float(1 << (bits - 1))
        let d = signedMax / -half
        let id: Float = d == 0 ? 0 : 1 / d
        let top = (1 << bits) - 1
        var q = [UInt8](repeating: 0, count: 32)
        for j in 0..<32 { q[j] = UInt8(min(top, max(0, Int((x[j] * id + (half + 0.5)).rounded(.towardZero))))) }
        storeHalf(d, out, 0)
        pack(q, out, qhOffset: 2, qsOffset: bits == 5 ? 6 : 2, bits: bits)
    }

    /// Q4_1 / Q5_1: d = (max - min) / (2^bits - 1), m = min; q = trunc((x - min)/d + 0.5).
    static func withMin(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, bits: Int) {
        var lo = x[0], hi = x[0]
        for j in 1..<32 {
            lo = min(lo, x[j])
            hi = max(hi, x[j])
        }
        let top = (1 << bits) - 1
        let d = (hi - lo) / Float(top)
        let id: Float = d == 0 ? 0 : 1 / d
        var q = [UInt8](repeating: 0, count: 32)
        for j in 0..<32 { q[j] = UInt8(min(top, max(0, Int(((x[j] - lo) * id + 0.5).rounded(.towardZero))))) }
        storeHalf(d, out, 0)
        storeHalf(lo, out, 2)
        pack(q, out, qhOffset: 4, qsOffset: bits == 5 ? 8 : 4, bits: bits)
    }

    /// Low nibbles of values 0..15 and 16..31 share a byte; fifth bits go to a little-endian u32.
    static func pack(_ q: [UInt8], _ out: UnsafeMutableRawPointer, qhOffset: Int, qsOffset: Int, bits: Int) {
        for j in 0..<16 {
            out.storeBytes(of: (q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4), toByteOffset: qsOffset + j, as: UInt8.self)
        }
        if bits == 5 {
            var qh: UInt32 = 0
            for j in 0..<32 where q[j] & 0x10 != 0 { qh |= 1 << UInt32(j) }
            out.storeBytes(of: qh.littleEndian, toByteOffset: qhOffset, as: UInt32.self)
        }
    }
}
