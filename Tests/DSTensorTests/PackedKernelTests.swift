import CKernels
import DSFormats
@testable import DSTensor
import Foundation
import Testing
import TestSupport

/// CKernels against ggml's own functions (tools/golden/make_kernel_golden.py: quantize_row_q8_0 / q8_K / q8_1 and vec_dot from the
/// llama.cpp build) and against its scalar reference, at every ISA level this machine runs.
@Suite(.serialized) struct PackedKernelTests {
    struct Golden: Decodable {
        struct Row: Decodable { var x: [Float]; var blocks: String }
        struct Dot: Decodable { var type: String; var k: Int; var weights: String; var x: [Float]; var dot: Float }
        var q8_0: [Row]
        var q8_K: [Row]
        var q8_1: [Row]
        var dots: [Dot]
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/kernel-golden.json")
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// Every level from AVX2 up to what the CPU has, restoring the level in use afterwards. (Never `none` here: other
    /// suites run in parallel, and below AVX2 their packed models would fall back to f32 activations. Products are
    /// bit-identical across these levels, so switching under them changes nothing.)
    static func eachLevel(from lowest: KernelISA = .avx2, _ body: (KernelISA) throws -> Void) rethrows {
        let saved = KernelISA.current
        defer { KernelISA.current = saved }
        for level in KernelISA.available where level >= lowest {
            KernelISA.current = level
            try body(level)
        }
    }

    /// ggml's Q8_0 block bytes (f16 d, 32 × s8) from our activation layout.
    static func q8_0Blocks(_ x: [Float], scalar: Bool) -> [UInt8] {
        let acts = QuantizedActivations(kind: .q8_0, cols: x.count, count: 1)
        if scalar {
            ck_quantize_q8_0_ref(x, Int64(x.count), acts.q, acts.d, acts.sums.assumingMemoryBound(to: Int32.self))
        } else {
            acts.quantize(x, pool: WorkerPool(threads: 1))
        }
        var out: [UInt8] = []
        for b in 0..<(x.count / 32) {
            let h = ck_fp32_to_fp16(acts.d[b])
            out += [UInt8(h & 0xFF), UInt8(h >> 8)]
            for j in 0..<32 { out.append(UInt8(bitPattern: acts.q[32 * b + j])) }
            var s: Int32 = 0
            for j in 0..<32 { s += Int32(acts.q[32 * b + j]) }
            #expect(s == acts.sums.assumingMemoryBound(to: Int32.self)[b], "block sum")
        }
        return out
    }

    /// ggml's Q8_K block bytes (f32 d, 256 × s8, 16 × i16 bsums).
    static func q8_KBlocks(_ x: [Float], scalar: Bool) -> [UInt8] {
        let acts = QuantizedActivations(kind: .q8_K, cols: x.count, count: 1)
        if scalar {
            ck_quantize_q8_K_ref(x, Int64(x.count), acts.q, acts.d, acts.sums.assumingMemoryBound(to: Int16.self))
        } else {
            acts.quantize(x, pool: WorkerPool(threads: 1))
        }
        var out: [UInt8] = []
        let bsums = acts.sums.assumingMemoryBound(to: Int16.self)
        for b in 0..<(x.count / 256) {
            withUnsafeBytes(of: acts.d[b].bitPattern.littleEndian) { out += $0 }
            for j in 0..<256 { out.append(UInt8(bitPattern: acts.q[256 * b + j])) }
            for j in 0..<16 { withUnsafeBytes(of: bsums[16 * b + j].littleEndian) { out += $0 } }
        }
        return out
    }

    /// ggml's Q8_1 block bytes (f16 d, f16 s = d·Σq, 32 × s8): s is kept as the f32 value of its f16.
    static func q8_1Blocks(_ x: [Float], scalar: Bool) -> [UInt8] {
        let acts = QuantizedActivations(kind: .q8_1, cols: x.count, count: 1)
        let s = acts.sums.assumingMemoryBound(to: Float.self)
        if scalar {
            ck_quantize_q8_1_ref(x, Int64(x.count), acts.q, acts.d, s)
        } else {
            acts.quantize(x, pool: WorkerPool(threads: 1))
        }
        var out: [UInt8] = []
        for b in 0..<(x.count / 32) {
            for h in [ck_fp32_to_fp16(acts.d[b]), ck_fp32_to_fp16(s[b])] { out += [UInt8(h & 0xFF), UInt8(h >> 8)] }
            for j in 0..<32 { out.append(UInt8(bitPattern: acts.q[32 * b + j])) }
        }
        return out
    }

    @Test func activationQuantizersMatchGGMLByteForByte() async {
        // Sets the kernel level: kept apart from the tests that go below AVX2 (see KernelLevelLock).
        await KernelLevelLock.hold {
            for (i, row) in Self.golden.q8_0.enumerated() {
                #expect(Self.q8_0Blocks(row.x, scalar: true) == Self.bytes(hex: row.blocks), "Q8_0 row \(i), scalar")
            }
            for (i, row) in Self.golden.q8_K.enumerated() {
                #expect(Self.q8_KBlocks(row.x, scalar: true) == Self.bytes(hex: row.blocks), "Q8_K row \(i), scalar")
            }
            for (i, row) in Self.golden.q8_1.enumerated() {
                #expect(Self.q8_1Blocks(row.x, scalar: true) == Self.bytes(hex: row.blocks), "Q8_1 row \(i), scalar")
            }
            Self.eachLevel { level in
                for (i, row) in Self.golden.q8_0.enumerated() {
                    #expect(Self.q8_0Blocks(row.x, scalar: false) == Self.bytes(hex: row.blocks), "Q8_0 row \(i) at \(level)")
                }
                for (i, row) in Self.golden.q8_K.enumerated() {
                    #expect(Self.q8_KBlocks(row.x, scalar: false) == Self.bytes(hex: row.blocks), "Q8_K row \(i) at \(level)")
                }
                for (i, row) in Self.golden.q8_1.enumerated() {
                    #expect(Self.q8_1Blocks(row.x, scalar: false) == Self.bytes(hex: row.blocks), "Q8_1 row \(i) at \(level)")
                }
            }
        }
    }

    /// The packed product of one weight row with one activation row equals ggml's vec_dot up to float order.
    @Test func packedDotsMatchGGMLVecDot() async throws {
        // Sets the kernel level: kept apart from the tests that go below AVX2 (see KernelLevelLock).
        try await KernelLevelLock.hold {
            let types: [String: GGMLType] = ["q8_0": .q8_0, "q4_0": .q4_0, "q4_K": .q4_K, "q6_K": .q6_K,
                                             "q4_1": .q4_1, "q5_0": .q5_0, "q5_1": .q5_1, "q5_K": .q5_K]
            try Self.eachLevel { level in
                for (i, c) in Self.golden.dots.enumerated() {
                    let type = try #require(types[c.type])
                    guard PackedWeights.supports(type) else { continue }
                    let w = Self.bytes(hex: c.weights)
                    let y: Float = w.withUnsafeBytes { raw in
                        let m = WeightMatrix(type: type, rows: 1, cols: c.k, base: raw.baseAddress!)
                        let p = PackedWeights(m, pool: WorkerPool(threads: 1))!
                        var out: Float = .nan
                        p.multiply(c.x, count: 1, into: &out, ldy: 1, pool: WorkerPool(threads: 1))
                        return out
                    }
                    #expect(abs(y - c.dot) <= 2e-6 * max(1, abs(c.dot)), "\(c.type) dot \(i) at \(level): \(y) vs ggml \(c.dot)")
                }
            }
        }
    }

    /// Batched and single-row products, padded panels, every tile width: the same bits as the scalar reference on
    /// the original blocks, at every level (so decode, prefill and batch size never change a result).
    @Test func packedProductsAreBitIdenticalToTheReference() async {
        // Sets the kernel level: kept apart from the tests that go below AVX2 (see KernelLevelLock).
        await KernelLevelLock.hold {
            var rng = SeededRandom(seed: 19)
            let pool = WorkerPool(threads: 2)
            for type in [GGMLType.q8_0, .q4_0, .q4_K, .q6_K, .q4_1, .q5_0, .q5_1, .q5_K] {
                #expect(PackedWeights.supports(type), "\(type) has packed kernels")
              for cols in [512, 128] {  // 128: a short row (4 blocks of 32), as a small model's output head
                let rows = 100  // 100 rows: two panels, the second mostly padding
                if cols % type.blockSize != 0 { continue }
                let values = (0..<(rows * cols)).map { _ in Float.random(in: -1...1, using: &rng) }
                var bytes = [UInt8](repeating: 0, count: rows * cols / type.blockSize * type.blockBytes)
                values.withUnsafeBufferPointer { v in
                    bytes.withUnsafeMutableBytes { Quantize.row(type, v.baseAddress!, count: rows * cols, into: $0.baseAddress!) }
                }
                bytes.withUnsafeBytes { raw in
                    let m = WeightMatrix(type: type, rows: rows, cols: cols, base: raw.baseAddress!)
                    let packed = PackedWeights(m, pool: pool)!
                    for count in [1, 2, 3, 4, 5, 6, 8, 13] {
                        let x = (0..<(count * cols)).map { _ in Float.random(in: -3...3, using: &rng) }
                        let kind = ActivationKind(rawValue: Int(ck_activation_kind(Int32(type.rawValue))))!
                        let acts = QuantizedActivations(kind: kind, cols: cols, count: count)
                        acts.quantize(x, pool: pool)
                        var expected = [Float](repeating: .nan, count: count * rows)
                        ck_matmul_reference(Int32(type.rawValue), raw.baseAddress!, Int64(rows), Int64(cols), acts.q, acts.d,
                                            acts.sums, Int64(count), &expected, Int64(rows))
                        Self.eachLevel { level in
                            var y = [Float](repeating: .nan, count: count * rows)
                            packed.multiply(acts, into: &y, ldy: rows, pool: pool)
                            #expect(y == expected, "\(type) × \(count) rows at \(level)")
                            // Through WeightMatrix (what the model calls) as well, quantizing inside.
                            var viaMatrix = [Float](repeating: .nan, count: count * rows)
                            var mp = m
                            mp.packed = packed
                            viaMatrix.withUnsafeMutableBufferPointer { mp.multiply(batch: x, count: count, into: $0.baseAddress!, pool: pool) }
                            #expect(viaMatrix == expected, "\(type) × \(count) via WeightMatrix at \(level)")
                        }
                        // And close to the exact product of the dequantized weights and activations. (Q4_1/Q5_1: the min
                        // term uses Q8_1's f16-rounded s = f16(d·Σq) in place of d·Σq, as ggml does; the reference adds
                        // m·(s − d·Σq) per block to match.)
                        let sums = acts.sums.assumingMemoryBound(to: Float.self)
                        let hasMin = type == .q4_1 || type == .q5_1
                        var worst = 0.0
                        var w = [Float](repeating: 0, count: cols)
                        for r in 0..<rows {
                            w.withUnsafeMutableBufferPointer { m.row(r, into: $0.baseAddress!) }
                            for t in 0..<count {
                                var ref = 0.0
                                for i in 0..<cols { ref += Double(w[i]) * Double(acts.q[t * cols + i]) * Double(acts.d[(t * cols + i) / kind.blockValues]) }
                                for b in 0..<(hasMin ? cols / 32 : 0) {
                                    let off = (r * cols / 32 + b) * type.blockBytes + 2
                                    let m = ck_fp16_to_fp32(UInt16(raw[off]) | UInt16(raw[off + 1]) << 8)
                                    let sumq = (0..<32).reduce(0) { $0 + Int(acts.q[t * cols + 32 * b + $1]) }
                                    ref += Double(m) * (Double(sums[t * cols / 32 + b]) - Double(acts.d[t * cols / 32 + b]) * Double(sumq))
                                }
                                worst = max(worst, abs(Double(expected[t * rows + r]) - ref) / max(1, abs(ref)))
                            }
                        }
                        #expect(worst < 1e-5, "\(type) × \(count): \(worst)")
                    }
                }
              }
            }
        }
    }

    /// BF16 panels with bf16-rounded activations (llama.cpp's pairing): decode and token tiles, vdpbf16ps and the AVX2
    /// widened FMA, agree with the exact product of the rounded values.
    @Test func bf16ProductsMatchTheRoundedReference() async {
        // Sets the kernel level: kept apart from the tests that go below AVX2 (see KernelLevelLock).
        await KernelLevelLock.hold {
            var rng = SeededRandom(seed: 23)
            let pool = WorkerPool(threads: 2)
            let rows = 70, cols = 264  // not multiples of the vector widths: tails exercised
            let w = (0..<(rows * cols)).map { _ in BFloat16.fromFloat(Float.random(in: -1...1, using: &rng)) }
            w.withUnsafeBytes { raw in
                let m = WeightMatrix(type: .bf16, rows: rows, cols: cols, base: raw.baseAddress!)
                let packed = PackedWeights(m, pool: pool)!
                for count in [1, 3, 9, 17] {
                    let x = (0..<(count * cols)).map { _ in Float.random(in: -2...2, using: &rng) }
                    var xb = [UInt16](repeating: 0, count: x.count)
                    ck_round_bf16(x, Int64(x.count), &xb)
                    Self.eachLevel { level in
                        var y = [Float](repeating: .nan, count: count * rows)
                        packed.multiply(x, count: count, into: &y, ldy: rows, pool: pool)
                        var worst = 0.0
                        for t in 0..<count {
                            for r in 0..<rows {
                                var ref = 0.0
                                for k in 0..<cols { ref += Double(BFloat16.toFloat(w[r * cols + k])) * Double(BFloat16.toFloat(xb[t * cols + k])) }
                                worst = max(worst, abs(Double(y[t * rows + r]) - ref) / max(1, abs(ref)))
                            }
                        }
                        #expect(worst < 1e-5, "bf16 × \(count) at \(level) (vdpbf16ps: \(KernelISA.hasBF16)): \(worst)")
                    }
                }
            }
        }
    }

    @Test func isaLevelsAreOrderedAndSettable() {
        let saved = KernelISA.current
        defer { KernelISA.current = saved }
        KernelISA.current = .amx
        #expect(KernelISA.current == KernelISA.detected, "asking for more than the CPU has gives what it has")
        #expect(KernelISA(name: "AVX2") == .avx2 && KernelISA(name: "sse") == nil)
    }
}
