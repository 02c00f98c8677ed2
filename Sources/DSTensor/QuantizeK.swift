/// f32 → Q4_K / Q5_K / Q6_K, bit-exact with ggml's reference quantizers (quantize_row_q*_K_ref: what
/// llama-quantize writes without an importance matrix). Same float operations in the same order as the C
/// code, since the searches below compare errors and a last-bit difference can flip a choice.
extension Quantize {
    /// ggml's nearest_int: round half to even via the 1.5·2²³ trick (valid for |x| ≤ 4194303).
    @inline(__always) static func nearestInt(_ x: Float) -> Int {
        let v = x + 12582912
        return Int(v.bitPattern & 0x007F_FFFF) - 0x0040_0000
    }

    /// Q4_K (nmax 15) and Q5_K (nmax 31): per 32-value sub-block an affine fit (make_qkx2_quants), then
    /// the 8 scales and 8 mins quantized to 6 bits against the super-block's d and dmin.
    static func qK(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, fiveBit: Bool) {
        let nmax = fiveBit ? 31 : 15
        var L = [UInt8](repeating: 0, count: 256)
        var scales = [Float](repeating: 0, count: 8), mins = [Float](repeating: 0, count: 8)
        var weights = [Float](repeating: 0, count: 32)
        var maxScale: Float = 0, maxMin: Float = 0
        for j in 0..<8 {
            var sumX2: Float = 0
            for l in 0..<32 { sumX2 += x[32 * j + l] * x[32 * j + l] }
            let avX = (sumX2 / 32).squareRoot()
            for l in 0..<32 { weights[l] = avX + abs(x[32 * j + l]) }
            let (scale, min) = L.withUnsafeMutableBufferPointer { l in
                makeQKX2(x + 32 * j, weights, l.baseAddress! + 32 * j, nmax: nmax,
                         rmin: fiveBit ? -0.5 : -1, rdelta: 0.1, steps: fiveBit ? 15 : 20)
            }
            scales[j] = scale
            mins[j] = min
            if scale > maxScale { maxScale = scale }
            if min > maxMin { maxMin = min }
        }
        let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
        var packed = [UInt8](repeating: 0, count: 12)
        for j in 0..<8 {
            let ls = UInt8(truncatingIfNeeded: Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j]))))
            let lm = UInt8(truncatingIfNeeded: Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j]))))
            if j < 4 {
                packed[j] = ls
                packed[j + 4] = lm
            } else {
                packed[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4)
                packed[j - 4] |= (ls >> 4) << 6
                packed[j] |= (lm >> 4) << 6
            }
        }
        let dHalf = HalfFloat.fromFloat(maxScale / 63), mHalf = HalfFloat.fromFloat(maxMin / 63)
        let d = HalfFloat.toFloat(dHalf), dmin = HalfFloat.toFloat(mHalf)
        for j in 0..<8 {
            let (sc, m) = scaleMinK4(j, packed)
            let dj = d * Float(sc)
            if dj == 0 { continue }
            let dm = dmin * Float(m)
            for i in 0..<32 { L[32 * j + i] = UInt8(Swift.max(0, Swift.min(nmax, nearestInt((x[32 * j + i] + dm) / dj)))) }
        }
        out.storeBytes(of: dHalf.littleEndian, toByteOffset: 0, as: UInt16.self)
        out.storeBytes(of: mHalf.littleEndian, toByteOffset: 2, as: UInt16.self)
        for i in 0..<12 { out.storeBytes(of: packed[i], toByteOffset: 4 + i, as: UInt8.self) }
        if fiveBit {
            // qh (32 bytes at 16): bit 2k / 2k+1 of byte j = fifth bit of value j / j+32 in 64-group k.
            var qh = [UInt8](repeating: 0, count: 32)
            var m1: UInt8 = 1, m2: UInt8 = 2
            for n in stride(from: 0, to: 256, by: 64) {
                for j in 0..<32 {
                    var l1 = L[n + j], l2 = L[n + j + 32]
                    if l1 > 15 { l1 -= 16; qh[j] |= m1 }
                    if l2 > 15 { l2 -= 16; qh[j] |= m2 }
                    out.storeBytes(of: l1 | (l2 << 4), toByteOffset: 48 + n / 2 + j, as: UInt8.self)
                }
                m1 <<= 2
                m2 <<= 2
            }
            for j in 0..<32 { out.storeBytes(of: qh[j], toByteOffset: 16 + j, as: UInt8.self) }
        } else {
            for n in stride(from: 0, to: 256, by: 64) {
                for l in 0..<32 { out.storeBytes(of: L[n + l] | (L[n + l + 32] << 4), toByteOffset: 16 + n / 2 + l, as: UInt8.self) }
            }
        }
    }

    /// Scale and min of sub-block j from the 12 packed 6-bit fields (ggml's get_scale_min_k4).
    @inline(__always) static func scaleMinK4(_ j: Int, _ q: [UInt8]) -> (UInt8, UInt8) {
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }

    /// ggml's make_qkx2_quants over 32 values: start from the min/max grid, then try nstep+1 rescaled grids
    /// and keep the weighted least-squares (scale, min) with the smallest weighted squared error.
    /// Returns (scale, -min) as ggml does (the stored min is subtracted).
    static func makeQKX2(_ x: UnsafePointer<Float>, _ weights: [Float], _ L: UnsafeMutablePointer<UInt8>, nmax: Int,
                         rmin: Float, rdelta: Float, steps: Int) -> (Float, Float) {
        let n = 32
        var lo = x[0], hi = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < lo { lo = x[i] }
            if x[i] > hi { hi = x[i] }
            let w = weights[i]
            sumW += w
            sumX += w * x[i]
        }
        if lo > 0 { lo = 0 }
        if hi == lo {
            for i in 0..<n { L[i] = 0 }
            return (0, -lo)
        }
        var iscale = Float(nmax) / (hi - lo)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = nearestInt(iscale * (x[i] - lo))
            L[i] = UInt8(Swift.max(0, Swift.min(nmax, l)))
            let diff = scale * Float(L[i]) + lo - x[i]
            bestError += weights[i] * (diff * diff)
        }
        var laux = [UInt8](repeating: 0, count: n)
        // As in ggml, a better fit moves `lo` itself, and later grids are laid out from the moved minimum.
        for step in 0...steps {
            iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (hi - lo)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - lo))))
                laux[i] = UInt8(l)
                let w = weights[i], fl = Float(l)
                sumL += w * fl
                sumL2 += w * fl * fl
                sumXL += w * fl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            if D > 0 {
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMin = (sumL2 * sumX - sumL * sumXL) / D
                if thisMin > 0 {
                    thisMin = 0
                    thisScale = sumXL / sumL2
                }
                var error: Float = 0
                for i in 0..<n {
                    let diff = thisScale * Float(laux[i]) + thisMin - x[i]
                    error += weights[i] * (diff * diff)
                }
                if error < bestError {
                    for i in 0..<n { L[i] = laux[i] }
                    bestError = error
                    scale = thisScale
                    lo = thisMin
                }
            }
        }
        return (scale, -lo)
    }

    /// Q6_K: 16 sub-blocks of 16 with signed 8-bit scales (make_qx_quants, rmse_type 1), values 6-bit.
    static func q6K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var L = [Int8](repeating: 0, count: 256)
        var scales = [Float](repeating: 0, count: 16)
        var maxScale: Float = 0, maxAbsScale: Float = 0
        for ib in 0..<16 {
            let scale = L.withUnsafeMutableBufferPointer { makeQX(x + 16 * ib, $0.baseAddress! + 16 * ib, nmax: 32) }
            scales[ib] = scale
            if abs(scale) > maxAbsScale {
                maxAbsScale = abs(scale)
                maxScale = scale
            }
        }
        if maxAbsScale < 1e-15 {
            for i in 0..<210 { out.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
            return
        }
        let iscale = -128 / maxScale
        let dHalf = HalfFloat.fromFloat(1 / iscale)
        let d = HalfFloat.toFloat(dHalf)
        var sc = [Int8](repeating: 0, count: 16)
        for ib in 0..<16 { sc[ib] = Int8(truncatingIfNeeded: Swift.min(127, nearestInt(iscale * scales[ib]))) }
        for j in 0..<16 {
            let dj = d * Float(sc[j])
            if dj == 0 { continue }
            for i in 0..<16 { L[16 * j + i] = Int8(Swift.max(-32, Swift.min(31, nearestInt(x[16 * j + i] / dj))) + 32) }
        }
        // ql (128 bytes at 0), qh (64 at 128), scales (16 at 192), d (at 208).
        for j in stride(from: 0, to: 256, by: 128) {
            let qlBase = j / 2, qhBase = 128 + j / 4
            for l in 0..<32 {
                let q1 = UInt8(L[j + l]), q2 = UInt8(L[j + l + 32]), q3 = UInt8(L[j + l + 64]), q4 = UInt8(L[j + l + 96])
                out.storeBytes(of: (q1 & 0xF) | ((q3 & 0xF) << 4), toByteOffset: qlBase + l, as: UInt8.self)
                out.storeBytes(of: (q2 & 0xF) | ((q4 & 0xF) << 4), toByteOffset: qlBase + l + 32, as: UInt8.self)
                out.storeBytes(of: (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6),
                               toByteOffset: qhBase + l, as: UInt8.self)
            }
        }
        for ib in 0..<16 { out.storeBytes(of: sc[ib], toByteOffset: 192 + ib, as: Int8.self) }
        out.storeBytes(of: dHalf.littleEndian, toByteOffset: 208, as: UInt16.self)
    }

    /// ggml's make_qx_quants with rmse_type 1 (weights x²) and no importance weights, over 16 values:
    /// a symmetric grid from the signed extreme, refined over 18 nearby grids by weighted least squares.
    static func makeQX(_ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>, nmax: Int) -> Float {
        let n = 16
        var maxV: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax {
            amax = abs(x[i])
            maxV = x[i]
        }
        if amax < 1e-15 {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let fmax = Float(nmax)
        var iscale = -fmax / maxV
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
            L[i] = Int8(l + nmax)
            let w = x[i] * x[i], fl = Float(l)
            sumLX += w * x[i] * fl
            sumL2 += w * fl * fl
        }
        var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
        var best = scale * sumLX
        for step in -9...9 where step != 0 {
            iscale = -(fmax + 0.1 * Float(step)) / maxV
            sumLX = 0
            sumL2 = 0
            for i in 0..<n {
                let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
                let w = x[i] * x[i], fl = Float(l)
                sumLX += w * x[i] * fl
                sumL2 += w * fl * fl
            }
            if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
                for i in 0..<n { L[i] = Int8(nmax + Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))) }
                scale = sumLX / sumL2
                best = scale * sumLX
            }
        }
        return scale
    }
}
