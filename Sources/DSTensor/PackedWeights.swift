import CKernels
import DSFormats
import Foundation

/// A quantized matrix rewritten once at load into CKernels' VNNI-16 panels (64 rows, block-major, 16-row groups
/// in vpdpbusd order) in 2 MiB-aligned anonymous memory with huge pages where the kernel allows them. Products run
/// on int8 activations quantized as llama.cpp quantizes them, so the integer sums equal llama.cpp's.
public final class PackedWeights: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let panels: Int
    public let byteCount: Int
    /// Whether madvise(MADV_HUGEPAGE) was accepted for this allocation.
    public let hugePages: Bool
    let base: UnsafeMutableRawPointer
    let activation: ActivationKind

    /// Types with a repacked layout and kernels.
    public static func supports(_ type: GGMLType) -> Bool { type == .bf16 || ck_activation_kind(Int32(type.rawValue)) >= 0 }

    /// Repacks `m` with its panels split across the pool (BF16: copied as it is, into huge pages); nil if its type has
    /// no packed layout or memory ran out.
    public init?(_ m: WeightMatrix, pool: WorkerPool = .shared) {
        let kind = m.type == .bf16 ? Int32(ActivationKind.bf16.rawValue) : ck_activation_kind(Int32(m.type.rawValue))
        guard kind >= 0, let activation = ActivationKind(rawValue: Int(kind)), m.cols % activation.blockValues == 0 else { return nil }
        let bytes = m.type == .bf16 ? ck_bf16_packed_size(Int64(m.rows), Int64(m.cols))
            : ck_packed_size(Int32(m.type.rawValue), Int64(m.rows), Int64(m.cols))
        var huge: Int32 = 0
        guard let p = ck_alloc_huge(bytes, &huge) else { return nil }
        type = m.type
        rows = m.rows
        cols = m.cols
        panels = (m.rows + 63) / 64
        byteCount = bytes
        hugePages = huge != 0
        base = p
        self.activation = activation
        nonisolated(unsafe) let dst = p
        let src = m.base, t = Int32(m.type.rawValue), r = Int64(m.rows), c = Int64(m.cols)
        if m.type == .bf16 {
            guard m.cols % 2 == 0 else { ck_free_huge(p, bytes); return nil }
            let w = src.assumingMemoryBound(to: UInt16.self), out = dst.assumingMemoryBound(to: UInt16.self)
            pool.parallelFor(panels, minimumChunk: 1) { range in
                ck_repack_bf16(w, r, c, out, Int64(range.lowerBound), Int64(range.upperBound))
            }
            return
        }
        pool.parallelFor(panels, minimumChunk: 1) { range in
            ck_repack(t, src, r, c, dst, Int64(range.lowerBound), Int64(range.upperBound))
        }
    }

    deinit { ck_free_huge(base, byteCount) }

    /// Y[t·ldy + r] = W[r] · X[t] for `count` activation rows of X ([count × cols] f32): X is quantized once (the
    /// activation type llama.cpp pairs with this weight type), then the panels are split across the pool.
    public func multiply(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, ldy: Int,
                         pool: WorkerPool, threads: Int? = nil) {
        let acts = QuantizedActivations(kind: activation, cols: cols, count: count)
        acts.quantize(x, pool: pool, threads: threads)
        multiply(acts, into: y, ldy: ldy, pool: pool, threads: threads)
    }

    /// The same on activations already quantized (shared by matrices that read the same input).
    public func multiply(_ acts: QuantizedActivations, into y: UnsafeMutablePointer<Float>, ldy: Int,
                         pool: WorkerPool, threads: Int? = nil) {
        precondition(acts.kind == activation && acts.cols == cols, "activations quantized for another matrix")
        nonisolated(unsafe) let y = y
        let t = Int32(type.rawValue), r = Int64(rows), c = Int64(cols), n = Int64(acts.count), packed = UnsafeRawPointer(base)
        let q = acts.q, d = acts.d, s = UnsafeRawPointer(acts.sums)
        // Decode: contiguous panel ranges (one stream per thread); batches: smaller ranges balance better.
        let chunk = acts.count == 1 ? max(1, panels / (4 * (threads ?? pool.threadCount))) : 1
        if activation == .bf16 {  // BF16 panels × bf16 activations (vdpbf16ps, or FMA on AVX2)
            let w = packed.assumingMemoryBound(to: UInt16.self)
            let b = UnsafeRawPointer(q).assumingMemoryBound(to: UInt16.self)
            pool.parallelFor(panels, threads: threads, minimumChunk: chunk) { range in
                ck_matmul_bf16(w, r, c, Int64(range.lowerBound), Int64(range.upperBound), b, n, y, Int64(ldy))
            }
            return
        }
        pool.parallelFor(panels, threads: threads, minimumChunk: chunk) { range in
            ck_matmul(t, packed, r, c, Int64(range.lowerBound), Int64(range.upperBound), q, d, s, n, y, Int64(ldy))
        }
    }
}

/// Which activation format a weight type multiplies with (llama.cpp's `vec_dot_type`).
public enum ActivationKind: Int, Sendable {
    /// Q8_0: 32 values per block, f16-rounded scale, per-block sums (for Q4_0, Q8_0).
    case q8_0 = 0
    /// Q8_K: 256 values per block, f32 scale, sums per 16 (for K-quants).
    case q8_K = 1
    /// bf16, rounded half to even (for BF16 weights).
    case bf16 = 2

    public var blockValues: Int { self == .q8_0 ? 32 : self == .q8_K ? 256 : 1 }
}

/// Activation rows quantized for the integer kernels: q (count × cols int8), d (a scale per block), sums (int32 per
/// 32-value block for Q8_0, int16 per 16 values for Q8_K). One allocation, freed with the value.
public final class QuantizedActivations: @unchecked Sendable {
    public let kind: ActivationKind
    public let cols: Int
    public let count: Int
    let q: UnsafeMutablePointer<Int8>
    let d: UnsafeMutablePointer<Float>
    let sums: UnsafeMutableRawPointer

    public init(kind: ActivationKind, cols: Int, count: Int) {
        self.kind = kind
        self.cols = cols
        self.count = count
        let blocks = kind == .bf16 ? 1 : count * cols / kind.blockValues
        q = .allocate(capacity: max(1, count * cols * (kind == .bf16 ? 2 : 1)))
        d = .allocate(capacity: max(1, blocks))
        sums = .allocate(byteCount: max(4, kind == .q8_0 ? 4 * blocks : 2 * count * cols / 16), alignment: 64)
    }

    deinit {
        q.deallocate()
        d.deallocate()
        sums.deallocate()
    }

    /// Quantizes rows of x ([count × cols]); rows split across the pool when there are many.
    public func quantize(_ x: UnsafePointer<Float>, pool: WorkerPool, threads: Int? = nil) {
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
                case .bf16:
                    UnsafeMutableRawPointer(q).withMemoryRebound(to: UInt16.self, capacity: count * cols) {
                        ck_round_bf16(x + t * cols, Int64(cols), $0 + t * cols)
                    }
                }
            }
        }
        if count >= 16 { pool.parallelFor(count, threads: threads, minimumChunk: 8, body) } else { body(0..<count) }
    }
}

extension WeightMatrix {
    /// Drops this matrix's mapped file pages from the resident set (after repacking: the packed copy replaces them;
    /// anything that reads `base` again faults them back in from the page cache).
    public func releaseSourcePages() { ck_release_pages(base, byteCount) }
}
