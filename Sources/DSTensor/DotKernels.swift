/// Row · vector kernels that read the stored type directly (no dequantized copy of the row): weights
/// stream from memory once, which is what decode speed is bound by. SIMD16 with -target-cpu.
///
/// Widening conversions are written as fixed-length lane loops: the generic `SIMD16<Int32>(truncatingIfNeeded:)`
/// and `SIMD16<Float>(intVector)` initialisers compile to out-of-line calls, while these unrolled loops become
/// vpmovsxbd/vcvtdq2ps (checked with objdump).

@inline(__always) func floats(int8 p: UnsafePointer<Int8>) -> SIMD16<Float> {
    var v = SIMD16<Float>()
    for j in 0..<16 { v[j] = Float(p[j]) }
    return v
}

@inline(__always) func floats(bf16 p: UnsafePointer<UInt16>) -> SIMD16<Float> {
    // Widen on integer lanes, shift the whole vector, reinterpret: a lane loop producing floats stayed scalar.
    var u = SIMD16<UInt32>()
    for j in 0..<16 { u[j] = UInt32(p[j]) }
    return unsafeBitCast(u &<< 16, to: SIMD16<Float>.self)
}

/// Low (or high) nibbles of 16 bytes, minus 8.
@inline(__always) func floats(nibbles p: UnsafePointer<UInt8>, high: Bool) -> SIMD16<Float> {
    var v = SIMD16<Float>()
    let shift: Int32 = high ? 4 : 0
    for j in 0..<16 { v[j] = Float(((Int32(p[j]) &>> shift) & 0x0F) &- 8) }
    return v
}

@inline(__always)
public func dotBF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
    let rx = UnsafeRawPointer(x)
    var i = 0
    while i + 32 <= n {
        let p = (w + 2 * i).assumingMemoryBound(to: UInt16.self)
        acc0.addProduct(floats(bf16: p), rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
        acc1.addProduct(floats(bf16: p + 16), rx.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD16<Float>.self))
        i += 32
    }
    var s = (acc0 + acc1).sum()
    while i < n {
        s += BFloat16.toFloat(w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) * x[i]
        i += 1
    }
    return s
}

@inline(__always)
public func dotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    let rx = UnsafeRawPointer(x)
    var i = 0
    while i + 16 <= n {
        let h = w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<Float16>.self)
        acc.addProduct(SIMD16<Float>(h), rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
        i += 16
    }
    var s = acc.sum()
    while i < n {
        s += HalfFloat.toFloat(w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) * x[i]
        i += 1
    }
    return s
}

/// Q8_0 blocks: d (f16) then 32 int8; Σ_blocks d · Σ q·x.
@inline(__always)
func dotQ8_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var total = SIMD16<Float>()
    let rx = UnsafeRawPointer(x)
    for b in 0..<(n / 32) {
        let block = w + 34 * b
        let d = HalfFloat.toFloat(block.loadUnaligned(as: UInt16.self))
        let q = (block + 2).assumingMemoryBound(to: Int8.self)
        let q0 = floats(int8: q), q1 = floats(int8: q + 16)
        var s = q0 * rx.loadUnaligned(fromByteOffset: 128 * b, as: SIMD16<Float>.self)
        s.addProduct(q1, rx.loadUnaligned(fromByteOffset: 128 * b + 64, as: SIMD16<Float>.self))
        total.addProduct(SIMD16(repeating: d), s)
    }
    return total.sum()
}

/// Q4_0 blocks: d (f16) then 16 bytes; low nibbles are values 0–15, high nibbles 16–31, offset by 8.
@inline(__always)
func dotQ4_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var total = SIMD16<Float>()
    let rx = UnsafeRawPointer(x)
    for b in 0..<(n / 32) {
        let block = w + 18 * b
        let d = HalfFloat.toFloat(block.loadUnaligned(as: UInt16.self))
        let q = (block + 2).assumingMemoryBound(to: UInt8.self)
        let lo = floats(nibbles: q, high: false), hi = floats(nibbles: q, high: true)
        var s = lo * rx.loadUnaligned(fromByteOffset: 128 * b, as: SIMD16<Float>.self)
        s.addProduct(hi, rx.loadUnaligned(fromByteOffset: 128 * b + 64, as: SIMD16<Float>.self))
        total.addProduct(SIMD16(repeating: d), s)
    }
    return total.sum()
}
