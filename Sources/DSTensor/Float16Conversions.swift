import CKernels

/// IEEE binary16 and bfloat16 storage formats (both 16-bit patterns in files).
public enum HalfFloat {
    /// IEEE half → float (subnormals, infinities and NaN included).
    @inline(__always)
    public static func toFloat(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    /// Float → IEEE half, round to nearest even (what numpy's `astype(float16)` and ggml do).
    @inline(__always)
    public static func fromFloat(_ x: Float) -> UInt16 { Float16(x).bitPattern }
}

public enum BFloat16 {
    /// bf16 → float: the bf16 bits are the top half of the float's.
    @inline(__always)
    public static func toFloat(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// Float → bf16 with round to nearest even; NaNs stay (quiet) NaNs. Same as ggml_compute_fp32_to_bf16:
    /// plain truncation biases every weight toward zero.
    @inline(__always)
    public static func fromFloat(_ x: Float) -> UInt16 {
        var n = x.bitPattern
        if n & 0x7fff_ffff > 0x7f80_0000 { n = (n & 0xffff_0000) | (64 << 16) }
        return UInt16(truncatingIfNeeded: (UInt64(n) + UInt64(0x7fff + ((n >> 16) & 1))) >> 16)
    }

    /// dst[i] = fromFloat(src[i]) for i < count (CKernels' loop, which the C compiler vectorizes; Swift's generic
    /// SIMD narrowing went lane by lane, 10× slower).
    public static func round(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt16>, count: Int) {
        ck_round_bf16(src, Int64(count), dst)
    }
}
