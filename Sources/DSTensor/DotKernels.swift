/// Row · vector kernels that read the stored type directly (no dequantized copy of the row): weights
/// stream from memory once, which is what decode speed is bound by. SIMD16 with -target-cpu.

@inline(__always)
func dotBF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
    let rx = UnsafeRawPointer(x)
    var i = 0
    while i + 32 <= n {
        let a = SIMD16<UInt32>(truncatingIfNeeded: w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)) &<< 16
        let b = SIMD16<UInt32>(truncatingIfNeeded: w.loadUnaligned(fromByteOffset: 2 * i + 32, as: SIMD16<UInt16>.self)) &<< 16
        acc0.addProduct(unsafeBitCast(a, to: SIMD16<Float>.self), rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
        acc1.addProduct(unsafeBitCast(b, to: SIMD16<Float>.self), rx.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD16<Float>.self))
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
func dotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
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
        let q0 = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)))
        let q1 = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)))
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
    let eight = SIMD16<Int32>(repeating: 8)
    for b in 0..<(n / 32) {
        let block = w + 18 * b
        let d = HalfFloat.toFloat(block.loadUnaligned(as: UInt16.self))
        let bytes = SIMD16<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self))
        let lo = SIMD16<Float>((bytes & 0x0F) &- eight)
        let hi = SIMD16<Float>((bytes &>> 4) &- eight)
        var s = lo * rx.loadUnaligned(fromByteOffset: 128 * b, as: SIMD16<Float>.self)
        s.addProduct(hi, rx.loadUnaligned(fromByteOffset: 128 * b + 64, as: SIMD16<Float>.self))
        total.addProduct(SIMD16(repeating: d), s)
    }
    return total.sum()
}
