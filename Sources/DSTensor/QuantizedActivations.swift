import CKernels
import Foundation

/// Which activation format a weight type multiplies with (llama.cpp's `vec_dot_type`).
public enum ActivationKind: Int, Sendable {
    /// Q8_0: 32 values per block, f16-rounded scale, per-block sums (for Q4_0, Q8_0).
    case q8_0 = 0
    /// Q8_K: 256 values per block, f32 scale, sums per 16 (for K-quants).
    case q8_K = 1
    /// bf16, rounded half to even (for BF16 weights).
    case bf16 = 2
    /// Q8_1: Q8_0's q and d, plus s = f16(d·Σq) per 32-value block (for Q4_1, Q5_1: the min term's factor).
    case q8_1 = 3
    /// f16, rounded half to even as F16C (for F16 weights).
    case f16 = 4

    public var blockValues: Int { self == .q8_0 || self == .q8_1 ? 32 : self == .q8_K ? 256 : 1 }
    /// 16-bit activations (no int8 blocks): q holds 2 bytes a value, d and sums are unused.
    var isHalfWidth: Bool { self == .bf16 || self == .f16 }
}

/// Activation rows quantized for the integer kernels: q (count × cols int8), d (a scale per block), sums (int32 per
/// 32-value block for Q8_0, int16 per 16 values for Q8_K, Float per 32-value block for Q8_1: s, the f32 value of the
/// f16 ggml stores). Allocated once for up to `capacity` rows and reused:
/// the forward pass keeps one per activation kind, so a decode step allocates nothing.
public final class QuantizedActivations: @unchecked Sendable {
    public let kind: ActivationKind
    public let cols: Int
    /// Rows the storage holds.
    public let capacity: Int
    /// Rows quantized by the last `quantize` (what products read).
    public private(set) var count: Int
    let q: UnsafeMutablePointer<Int8>
    let d: UnsafeMutablePointer<Float>
    let sums: UnsafeMutableRawPointer

    public init(kind: ActivationKind, cols: Int, capacity: Int) {
        self.kind = kind
        self.cols = cols
        self.capacity = capacity
        count = capacity
        let blocks = kind.isHalfWidth ? 1 : capacity * cols / kind.blockValues
        q = .allocate(capacity: max(1, capacity * cols * (kind.isHalfWidth ? 2 : 1)))
        d = .allocate(capacity: max(1, blocks))
        sums = .allocate(byteCount: max(4, kind == .q8_0 || kind == .q8_1 ? 4 * blocks : 2 * capacity * cols / 16), alignment: 64)
    }

    /// Storage for exactly `count` rows (tests, one-off products).
    public convenience init(kind: ActivationKind, cols: Int, count: Int) { self.init(kind: kind, cols: cols, capacity: count) }

    deinit {
        q.deallocate()
        d.deallocate()
        sums.deallocate()
    }

    /// Quantizes `rows` rows of x ([rows × cols], all of the capacity by default); rows split across the pool when
    /// there are many.
    public func quantize(_ x: UnsafePointer<Float>, rows: Int? = nil, pool: WorkerPool, threads: Int? = nil) {
        let rows = rows ?? capacity
        precondition(rows <= capacity, "\(rows) activation rows exceed the buffer's \(capacity)")
        count = rows
        let nb = cols / kind.blockValues
        nonisolated(unsafe) let x = x
        let body: (Range<Int>) -> Void = { [self] rows in
            for t in rows {
                switch kind {
                case .q8_0:
                    ck_quantize_q8_0(x + t * cols, Int64(cols), q + t * cols, d + t * nb,
                                     sums.assumingMemoryBound(to: Int32.self) + t * nb)
                case .q8_K:
                    ck_quantize_q8_K(x + t * cols, Int64(cols), q + t * cols, d + t * nb,
                                     sums.assumingMemoryBound(to: Int16.self) + t * cols / 16)
                case .q8_1:
                    ck_quantize_q8_1(x + t * cols, Int64(cols), q + t * cols, d + t * nb,
                                     sums.assumingMemoryBound(to: Float.self) + t * nb)
                case .bf16:
                    UnsafeMutableRawPointer(q).withMemoryRebound(to: UInt16.self, capacity: count * cols) {
                        ck_round_bf16(x + t * cols, Int64(cols), $0 + t * cols)
                    }
                case .f16:
                    UnsafeMutableRawPointer(q).withMemoryRebound(to: UInt16.self, capacity: count * cols) {
                        ck_round_f16(x + t * cols, Int64(cols), $0 + t * cols)
                    }
                }
            }
        }
        if count >= 16 { pool.parallelFor(count, threads: threads, minimumChunk: 8, body) } else { body(0..<count) }
    }
}
