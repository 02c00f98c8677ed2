import Foundation

// 16-lane f32 helpers shared by the inference kernels (DSModel) and the training passes (DSTraining). Public and
// inlinable so each call compiles into the caller's loop with the caller's -target-cpu.

@inlinable @inline(__always) public func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inlinable @inline(__always) public func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Lane-wise maximum; written out because the generic `pointwiseMax` is not always inlined.
@inlinable @inline(__always) public func max16(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    a.replacing(with: b, where: a .< b)
}

/// Sum of the lanes by halving (the generic `sum()` compiles to an out-of-line call).
/// The halves come from bit casts (the generic `lowHalf`/`highHalf` may compile to lane-by-lane copies): same sums.
@inlinable @inline(__always) public func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let v2 = unsafeBitCast(v, to: (SIMD8<Float>, SIMD8<Float>).self)
    let a = v2.0 + v2.1
    let a2 = unsafeBitCast(a, to: (SIMD4<Float>, SIMD4<Float>).self)
    let b = a2.0 + a2.1
    let b2 = unsafeBitCast(b, to: (SIMD2<Float>, SIMD2<Float>).self)
    let c = b2.0 + b2.1
    return c[0] + c[1]
}

/// e^x per lane, within 2 ulp of expf: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its degree-7 Taylor polynomial
/// (truncation error < 6e-9 relative), 2^n built in the exponent bits. Inputs below −88 (−∞ included) give 0, as a
/// masked score must; above 88 they saturate at e^88.
// @_transparent: @inline(__always) left it an out-of-line call in the softmax loop (measured: 15% of attention).
@_transparent public func exp16(_ v: SIMD16<Float>) -> SIMD16<Float> {
    var x = v.replacing(with: -88, where: v .< -88)
    x = x.replacing(with: 88, where: x .> 88)
    // Adding 1.5·2^23 rounds x·log2(e) to an integer held in the low mantissa bits.
    let shifter = SIMD16<Float>(repeating: 12_582_912)
    let t = shifter.addingProduct(x, SIMD16(repeating: 1.442_695_04))
    let n = t - shifter
    var r = x.addingProduct(n, SIMD16(repeating: -0.693_145_751_953_125))  // ln 2, high part (exact in n·hi)
    r = r.addingProduct(n, SIMD16(repeating: -1.428_606_765_330_187e-06))  // ln 2, low part
    var p = SIMD16<Float>(repeating: 1 / 5040)
    p = SIMD16(repeating: 1 / 720).addingProduct(p, r)
    p = SIMD16(repeating: 1 / 120).addingProduct(p, r)
    p = SIMD16(repeating: 1 / 24).addingProduct(p, r)
    p = SIMD16(repeating: 1 / 6).addingProduct(p, r)
    p = SIMD16(repeating: 0.5).addingProduct(p, r)
    p = SIMD16(repeating: 1).addingProduct(p, r)
    p = SIMD16(repeating: 1).addingProduct(p, r)
    // n ∈ [−127, 127]; n = −127 gives exponent bits 0, i.e. 0 (what x ≤ −88 should round to here).
    let exponent = (unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return p * unsafeBitCast(exponent, to: SIMD16<Float>.self)
}

/// p[0..<count] = e^(p − maxScore), returning their sum.
@inlinable @inline(__always) public func exponentiate(_ p: UnsafeMutablePointer<Float>, count: Int, maxScore: Float) -> Float {
    var acc = SIMD16<Float>()
    let m = SIMD16<Float>(repeating: maxScore)
    var i = 0
    while i + 16 <= count {
        let e = exp16(load16(p + i) - m)
        store16(e, p + i)
        acc += e
        i += 16
    }
    var sum = horizontalSum(acc)
    while i < count {
        p[i] = expf(p[i] - maxScore)
        sum += p[i]
        i += 1
    }
    return sum
}

/// The largest of p[0..<count] (−∞ when empty).
@inlinable @inline(__always) public func maximum(_ p: UnsafePointer<Float>, count: Int) -> Float {
    var mx = -Float.infinity
    var i = 0
    if count >= 16 {
        var m16 = SIMD16<Float>(repeating: -.infinity)
        while i + 16 <= count { m16 = max16(m16, load16(p + i)); i += 16 }
        mx = m16.max()
    }
    while i < count { mx = max(mx, p[i]); i += 1 }
    return mx
}

/// p[0..<count] *= factor.
@inlinable @inline(__always) public func scaleInPlace(_ p: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
    var i = 0
    while i + 16 <= count { store16(load16(p + i) * factor, p + i); i += 16 }
    while i < count { p[i] *= factor; i += 1 }
}

/// out[i] = SiLU(gate[i]) · up[i] for i in range (the SwiGLU gate), 16 lanes at a time; `out` may be `gate` (in
/// place). The inference forward pass and the training forward both use it.
@inlinable @inline(__always)
public func siluGate(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, _ range: Range<Int>) {
    var i = range.lowerBound
    while i + 16 <= range.upperBound {
        let g = load16(gate + i)
        store16(g / (1 + exp16(-g)) * load16(up + i), out + i)
        i += 16
    }
    while i < range.upperBound {
        let g = gate[i]
        out[i] = g / (1 + expf(-g)) * up[i]
        i += 1
    }
}
