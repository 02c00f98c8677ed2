import DSTensor

/// The attention key/value cache: layers × positions × kvDim, in f32, f16 or bf16.
///
/// f16/bf16 halve the memory (7B at 4096 tokens: 2.0 GB instead of 4.0 GB); keys and values are rounded
/// once when stored, and attention converts them back on the fly (llama.cpp's default cache is f16).
public final class KVCache: @unchecked Sendable {
    public enum Precision: String, Sendable, CaseIterable { case f32, f16, bf16 }

    public let precision: Precision
    public let layers: Int
    public let positions: Int
    public let kvDim: Int
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer
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
}
