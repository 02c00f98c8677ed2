import CKernels
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
    public static func supports(_ type: GGMLType) -> Bool { activationKind(of: type) != nil }

    /// The activation kind llama.cpp pairs with `type` (its vec_dot_type), for the types CKernels has panels for.
    static func activationKind(of type: GGMLType) -> ActivationKind? {
        switch type {
        case .bf16: return .bf16
        case .f16: return .f16
        default:
            let k = ck_activation_kind(Int32(type.rawValue))
            return k >= 0 ? ActivationKind(rawValue: Int(k)) : nil
        }
    }

    /// Repacks `m` with its panels split across the pool (16-bit types: transposed into k-major panels, in huge
    /// pages); nil if its type has no packed layout or memory ran out.
    public init?(_ m: WeightMatrix, pool: WorkerPool = .shared) {
        guard let activation = PackedWeights.activationKind(of: m.type), m.cols % activation.blockValues == 0,
              m.type != .bf16 || m.cols % 2 == 0 else { return nil }
        let (r, c) = (Int64(m.rows), Int64(m.cols))
        let bytes = switch m.type {
        case .bf16: ck_bf16_packed_size(r, c)
        case .f16: ck_f16_packed_size(r, c)
        default: ck_packed_size(Int32(m.type.rawValue), r, c)
        }
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
        let src = m.base, t = Int32(m.type.rawValue), type = m.type
        pool.parallelFor(panels, minimumChunk: 1) { range in
            let (p0, p1) = (Int64(range.lowerBound), Int64(range.upperBound))
            switch type {
            case .bf16, .f16:
                let w = src.assumingMemoryBound(to: UInt16.self), out = dst.assumingMemoryBound(to: UInt16.self)
                if type == .bf16 { ck_repack_bf16(w, r, c, out, p0, p1) } else { ck_repack_f16(w, r, c, out, p0, p1) }
            default:
                ck_repack(t, src, r, c, dst, p0, p1)
            }
        }
    }

    deinit { ck_free_huge(base, byteCount) }

    /// The activation format this matrix multiplies with.
    public var activationKind: ActivationKind { activation }

    /// Y[t·ldy + r] = W[r] · X[t] for `count` activation rows of X ([count × cols] f32): X is quantized once (the
    /// activation type llama.cpp pairs with this weight type) into `scratch` (or a buffer made for this call), then the
    /// panels are split across the pool.
    public func multiply(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, ldy: Int,
                         pool: WorkerPool, threads: Int? = nil, scratch: ActivationScratch? = nil) {
        let acts = scratch?.buffer(activation, cols: cols, rows: count)
            ?? QuantizedActivations(kind: activation, cols: cols, count: count)
        acts.quantize(x, rows: count, pool: pool, threads: threads)
        multiply(acts, into: y, ldy: ldy, pool: pool, threads: threads)
    }

    /// The same on activations already quantized (shared by matrices that read the same input).
    public func multiply(_ acts: QuantizedActivations, into y: UnsafeMutablePointer<Float>, ldy: Int,
                         pool: WorkerPool, threads: Int? = nil) {
        PackedWeights.multiply([PackedProduct(self, acts, y, ldy: ldy)], pool: pool, threads: threads)
    }

    /// Runs several products in one parallel region over all their panels (q/k/v, gate/up: one fork-join instead of
    /// three, and the threads stay busy across the matrices' boundaries).
    public static func multiply(_ products: [PackedProduct], pool: WorkerPool, threads: Int? = nil) {
        var total = 0, tokens = 0
        for p in products {
            precondition(p.acts.kind == p.weights.activation && p.acts.cols == p.weights.cols, "activations quantized for another matrix")
            total += p.weights.panels
            tokens = max(tokens, p.acts.count)
        }
        // Decode: contiguous panel ranges (one stream per thread); batches: smaller ranges balance better.
        let chunk = tokens == 1 ? max(1, total / (4 * (threads ?? pool.threadCount))) : 1
        pool.parallelFor(total, threads: threads, minimumChunk: chunk) { range in
            var start = 0
            for p in products {
                let panels = p.weights.panels
                let lo = max(range.lowerBound - start, 0), hi = min(range.upperBound - start, panels)
                if lo < hi { p.weights.multiplyPanels(lo..<hi, p.acts, into: p.y, ldy: p.ldy) }
                start += panels
                if start >= range.upperBound { break }
            }
        }
    }

    /// Rows of panels `range` of Y = W · Xᵀ, on this thread.
    @inline(__always)
    func multiplyPanels(_ range: Range<Int>, _ acts: QuantizedActivations, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        let r = Int64(rows), c = Int64(cols), n = Int64(acts.count), p0 = Int64(range.lowerBound), p1 = Int64(range.upperBound)
        let packed = UnsafeRawPointer(base)
        if activation.isHalfWidth {
            // BF16 panels × bf16 activations (vdpbf16ps, or FMA on AVX2); F16 × f16 (widened, FMA: no f16 dot on x86).
            let w = packed.assumingMemoryBound(to: UInt16.self)
            let b = UnsafeRawPointer(acts.q).assumingMemoryBound(to: UInt16.self)
            if activation == .bf16 { ck_matmul_bf16(w, r, c, p0, p1, b, n, y, Int64(ldy)) } else { ck_matmul_f16(w, r, c, p0, p1, b, n, y, Int64(ldy)) }
            return
        }
        ck_matmul(Int32(type.rawValue), packed, r, c, p0, p1, acts.q, acts.d, UnsafeRawPointer(acts.sums), n, y, Int64(ldy))
    }
}

/// One product of a group: packed weights, their quantized input, where the rows go (Y[t·ldy + r]).
public struct PackedProduct: @unchecked Sendable {
    public let weights: PackedWeights
    public let acts: QuantizedActivations
    public let y: UnsafeMutablePointer<Float>
    public let ldy: Int

    public init(_ weights: PackedWeights, _ acts: QuantizedActivations, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        self.weights = weights
        self.acts = acts
        self.y = y
        self.ldy = ldy
    }
}

/// Quantized-activation buffers kept for a forward pass, one per (activation kind, row width), grown on demand: the
/// decode loop quantizes into the same memory every step instead of allocating it per product.
public final class ActivationScratch: @unchecked Sendable {
    private var buffers: [QuantizedActivations] = []

    public init() {}

    /// A buffer that holds `rows` rows of `cols` values quantized as `kind`.
    public func buffer(_ kind: ActivationKind, cols: Int, rows: Int) -> QuantizedActivations {
        if let i = buffers.firstIndex(where: { $0.kind == kind && $0.cols == cols }) {
            if buffers[i].capacity >= rows { return buffers[i] }
            buffers[i] = QuantizedActivations(kind: kind, cols: cols, capacity: rows)
            return buffers[i]
        }
        let b = QuantizedActivations(kind: kind, cols: cols, capacity: rows)
        buffers.append(b)
        return b
    }
}

extension WeightMatrix {
    /// Drops this matrix's mapped file pages from the resident set (after repacking: the packed copy replaces them;
    /// anything that reads `base` again faults them back in from the page cache).
    public func releaseSourcePages() { ck_release_pages(base, byteCount) }
}
