import DSTensor

/// The attention key/value cache: layers × positions × kvDim, in f32, f16 or bf16.
///
/// f16/bf16 halve the memory (7B at 4096 tokens: 2.0 GB instead of 4.0 GB); keys and values are rounded
/// once when stored, and attention converts them back on the fly (llama.cpp's default cache is f16).
public final class KVCache: @unchecked Sendable {
    public enum Precision: String, Sendable, CaseIterable {
        case f32, f16, bf16

        /// f16 under llama.cpp numerics (llama.cpp's default cache type, half the memory), f32 under reference numerics
        /// (the transformers-comparable path).
        public static func defaultFor(_ weights: ModelWeights) -> Precision { weights.numerics == .llamaCpp ? .f16 : .f32 }
    }

    public let precision: Precision
    public let layers: Int
    public let positions: Int
    public let kvDim: Int
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer
    var keyStorage: UnsafeMutableRawPointer { keys }
    var valueStorage: UnsafeMutableRawPointer { values }
    private let elementSize: Int

    public init(layers: Int, positions: Int, kvDim: Int, precision: Precision) {
        self.precision = precision
        self.layers = layers
        self.positions = positions
        self.kvDim = kvDim
        elementSize = precision == .f32 ? 4 : 2
        let bytes = max(1, layers * positions * kvDim * elementSize)
        keys = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        values = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        keys.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        values.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    public var byteCount: Int { 2 * layers * positions * kvDim * elementSize }

    @inline(__always) private func byteOffset(_ layer: Int, _ position: Int) -> Int {
        (layer * positions + position) * kvDim * elementSize
    }

    /// Stores one position's keys and values (kvDim floats each).
    public func store(layer: Int, position: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>) {
        let o = byteOffset(layer, position)
        switch precision {
        case .f32:
            (keys + o).assumingMemoryBound(to: Float.self).update(from: k, count: kvDim)
            (values + o).assumingMemoryBound(to: Float.self).update(from: v, count: kvDim)
        case .f16:
            Quantize.row(.f16, k, count: kvDim, into: keys + o)
            Quantize.row(.f16, v, count: kvDim, into: values + o)
        case .bf16:
            Quantize.row(.bf16, k, count: kvDim, into: keys + o)
            Quantize.row(.bf16, v, count: kvDim, into: values + o)
        }
    }

    /// q · key[layer, position, offset ..< offset + n].
    @inline(__always)
    public func keyDot(_ q: UnsafePointer<Float>, layer: Int, position: Int, offset: Int, count n: Int) -> Float {
        let p = keys + byteOffset(layer, position) + offset * elementSize
        switch precision {
        case .f32: return dot(q, p.assumingMemoryBound(to: Float.self), n)
        case .f16: return dotF16(p, q, n)
        case .bf16: return dotBF16(p, q, n)
        }
    }

    /// out += a · value[layer, position, offset ..< offset + n].
    @inline(__always)
    public func accumulateValue(_ a: Float, into out: UnsafeMutablePointer<Float>, layer: Int, position: Int, offset: Int,
                                count n: Int) {
        let p = values + byteOffset(layer, position) + offset * elementSize
        switch precision {
        case .f32:
            let v = p.assumingMemoryBound(to: Float.self)
            for i in 0..<n { out[i] += a * v[i] }
        case .f16:
            for i in 0..<n { out[i] += a * HalfFloat.toFloat(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<n { out[i] += a * BFloat16.toFloat(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        }
    }

    enum Part { case keys, values }

    /// Positions from..<from+count of one head's keys or values (`width` floats from `offset`) as f32 rows: the cache
    /// itself when it holds f32, otherwise converted into `scratch` (count × width floats) — once per tile, however
    /// many queries then use it. Returns the first row and the row stride in floats.
    func rows(_ part: Part, layer: Int, from: Int, count: Int, offset: Int, width: Int,
              scratch: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, Int) {
        let base = (part == .keys ? keys : values) + byteOffset(layer, from) + offset * elementSize
        if precision == .f32 { return (UnsafePointer(base.assumingMemoryBound(to: Float.self)), kvDim) }
        for j in 0..<count {
            convert(base + j * kvDim * elementSize, count: width, into: scratch + j * width)
        }
        return (UnsafePointer(scratch), width)
    }

    /// f16/bf16 → f32, 16 values at a time.
    @inline(__always) private func convert(_ src: UnsafeRawPointer, count n: Int, into dst: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 16 <= n {
            UnsafeMutableRawPointer(dst + i).storeBytes(of: halfWidth16(src + 2 * i), as: SIMD16<Float>.self)
            i += 16
        }
        while i < n {
            let bits = src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
            dst[i] = precision == .f16 ? HalfFloat.toFloat(bits) : BFloat16.toFloat(bits)
            i += 1
        }
    }

    /// 16 stored f16/bf16 values as floats.
    @inline(__always) private func halfWidth16(_ p: UnsafeRawPointer) -> SIMD16<Float> {
        if precision == .f16 { return SIMD16<Float>(p.loadUnaligned(as: SIMD16<Float16>.self)) }
        // bf16: widen on integer lanes and shift into the top half (a lane loop producing floats stays scalar).
        let h = p.loadUnaligned(as: SIMD16<UInt16>.self)
        var u = SIMD16<UInt32>()
        for j in 0..<16 { u[j] = UInt32(h[j]) }
        return unsafeBitCast(u &<< 16, to: SIMD16<Float>.self)
    }

    /// scores[t − positions.lowerBound] = scale · (q · key[layer, t, offset ..< offset + n]) for t in positions, in
    /// `headDot`'s order; returns the largest. One query against many keys (decode, packed prefill): eight keys at a
    /// time, so eight fma chains run side by side and each query chunk is loaded once for all of them.
    func keyScores(_ q: UnsafePointer<Float>, layer: Int, positions: Range<Int>, offset: Int, count n: Int, scale: Float,
                   into scores: UnsafeMutablePointer<Float>) -> Float {
        let rowBytes = kvDim * elementSize, whole = n & ~7
        let base = UnsafeRawPointer(keys) + byteOffset(layer, positions.lowerBound) + offset * elementSize
        var best = -Float.infinity
        var i = 0
        while i + 8 <= positions.count {
            let p = base + i * rowBytes
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            var e = 0
            while e < whole {
                let v = load8(q + e)
                a0.addProduct(row8(p, e), v); a1.addProduct(row8(p + rowBytes, e), v)
                a2.addProduct(row8(p + 2 * rowBytes, e), v); a3.addProduct(row8(p + 3 * rowBytes, e), v)
                a4.addProduct(row8(p + 4 * rowBytes, e), v); a5.addProduct(row8(p + 5 * rowBytes, e), v)
                a6.addProduct(row8(p + 6 * rowBytes, e), v); a7.addProduct(row8(p + 7 * rowBytes, e), v)
                e += 8
            }
            // (No array of the accumulators: that would allocate once per eight keys in the decode loop.)
            func finish(_ acc: SIMD8<Float>, _ j: Int) {
                let row = p + j * rowBytes
                scores[i + j] = dotTail(sum8(acc), q, from: whole, count: n) { element(row, $0) } * scale
                best = max(best, scores[i + j])
            }
            finish(a0, 0); finish(a1, 1); finish(a2, 2); finish(a3, 3)
            finish(a4, 4); finish(a5, 5); finish(a6, 6); finish(a7, 7)
            i += 8
        }
        while i < positions.count {
            let row = base + i * rowBytes
            scores[i] = headDot(q, count: n, chunk: { row8(row, $0) }, element: { element(row, $0) }) * scale
            best = max(best, scores[i])
            i += 1
        }
        return best
    }

    /// out[0..<n] += Σ_t weights[t − positions.lowerBound] · value[layer, t, offset ..< offset + n]: 64 (then 16)
    /// dimensions stay in registers across all positions.
    func accumulateValues(_ weights: UnsafePointer<Float>, layer: Int, positions: Range<Int>, offset: Int, count n: Int,
                          into out: UnsafeMutablePointer<Float>) {
        let rowBytes = kvDim * elementSize
        let base = UnsafeRawPointer(values) + byteOffset(layer, positions.lowerBound) + offset * elementSize
        var e = 0
        while e + 64 <= n {
            var a0 = load16(out + e), a1 = load16(out + e + 16)
            var a2 = load16(out + e + 32), a3 = load16(out + e + 48)
            var p = base
            for i in 0..<positions.count {
                let w = SIMD16<Float>(repeating: weights[i])
                a0.addProduct(w, row16(p, e)); a1.addProduct(w, row16(p, e + 16))
                a2.addProduct(w, row16(p, e + 32)); a3.addProduct(w, row16(p, e + 48))
                p += rowBytes
            }
            store16(a0, out + e); store16(a1, out + e + 16); store16(a2, out + e + 32); store16(a3, out + e + 48)
            e += 64
        }
        while e + 16 <= n {
            var a = load16(out + e)
            var p = base
            for i in 0..<positions.count {
                a.addProduct(SIMD16(repeating: weights[i]), row16(p, e))
                p += rowBytes
            }
            store16(a, out + e)
            e += 16
        }
        if e < n {
            var p = base
            for i in 0..<positions.count {
                for k in e..<n { out[k] += weights[i] * element(p, k) }
                p += rowBytes
            }
        }
    }

    /// Elements e..<e+8 of a stored row as floats.
    @inline(__always) private func row8(_ row: UnsafeRawPointer, _ e: Int) -> SIMD8<Float> {
        switch precision {
        case .f32: return row.loadUnaligned(fromByteOffset: 4 * e, as: SIMD8<Float>.self)
        case .f16: return SIMD8<Float>(row.loadUnaligned(fromByteOffset: 2 * e, as: SIMD8<Float16>.self))
        case .bf16:
            let h = row.loadUnaligned(fromByteOffset: 2 * e, as: SIMD8<UInt16>.self)
            var u = SIMD8<UInt32>()
            for j in 0..<8 { u[j] = UInt32(h[j]) }
            return unsafeBitCast(u &<< 16, to: SIMD8<Float>.self)
        }
    }

    /// Elements e..<e+16 of a stored row (keys or values) as floats.
    @inline(__always) private func row16(_ row: UnsafeRawPointer, _ e: Int) -> SIMD16<Float> {
        precision == .f32 ? row.loadUnaligned(fromByteOffset: 4 * e, as: SIMD16<Float>.self) : halfWidth16(row + 2 * e)
    }

    @inline(__always) private func element(_ row: UnsafeRawPointer, _ e: Int) -> Float {
        switch precision {
        case .f32: return row.loadUnaligned(fromByteOffset: 4 * e, as: Float.self)
        case .f16: return HalfFloat.toFloat(row.loadUnaligned(fromByteOffset: 2 * e, as: UInt16.self))
        case .bf16: return BFloat16.toFloat(row.loadUnaligned(fromByteOffset: 2 * e, as: UInt16.self))
        }
    }
}
