import CKernels
import DSTensor
import Foundation
import Testing
import TestSupport

/// F16 weights × f16-rounded activations (CKernels f16.c), called directly: the F16C rounding of the activations, the
/// panel layout, and the one float order of ck_matmul_f16 at every ISA level this machine runs.
@Suite(.serialized) struct PackedF16Tests {
    /// Runs `body` at each level this machine supports (from `lowest`), restoring the level in use afterwards.
    static func eachLevel(from lowest: KernelISA = .none, _ body: (KernelISA) -> Void) {
        let saved = KernelISA.current
        defer { KernelISA.current = saved }
        for level in KernelISA.available where level >= lowest {
            KernelISA.current = level
            body(level)
        }
    }

    static func bits(_ f: Float) -> UInt32 { f.bitPattern }

    /// ck_round_f16 (vcvtps2ph imm 0 where the CPU has F16C) against the scalar ck_fp32_to_fp16 and against known
    /// f16 bit patterns: ties to even, the subnormal range and its underflow, the overflow threshold 65520, ±inf, NaN.
    @Test func roundingMatchesTheScalarConversion() async {
        // Goes below AVX2 for the whole process: see KernelLevelLock.
        await KernelLevelLock.hold {
            let one = Float(1), ulp = Float(1) / 1024  // f16 spacing at 1
            let expected: [(Float, UInt16)] = [
                (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000),
                (one + ulp / 2, 0x3C00),  // tie → even (1.0)
                (one + 3 * ulp / 2, 0x3C02),  // tie → even (1 + 2 ulp)
                (one + ulp / 2 + ulp / 4096, 0x3C01),  // just above the tie
                (Float(sign: .plus, exponent: -24, significand: 1), 0x0001),  // smallest f16 subnormal
                (Float(sign: .plus, exponent: -25, significand: 1), 0x0000),  // half of it: tie → even (0)
                (Float(sign: .plus, exponent: -25, significand: 1.5), 0x0001),
                (Float(sign: .minus, exponent: -24, significand: 1.5), 0x8002),  // 1.5 × 2⁻²⁴: tie → even (2)
                (Float(sign: .plus, exponent: -14, significand: 1) - Float(sign: .plus, exponent: -24, significand: 1), 0x03FF),
                (Float(sign: .plus, exponent: -14, significand: 1), 0x0400),  // smallest normal
                (Float.leastNonzeroMagnitude, 0x0000), (-Float.leastNormalMagnitude, 0x8000),
                (65504, 0x7BFF), (65519.996, 0x7BFF), (65520, 0x7C00), (-65520, 0xFC00), (1e10, 0x7C00),
                (.infinity, 0x7C00), (-.infinity, 0xFC00), (.greatestFiniteMagnitude, 0x7C00),
                (.nan, 0x7E00), (-Float.nan, 0xFE00),
            ]
            let x = expected.map(\.0)
            Self.eachLevel { level in
                var out = [UInt16](repeating: 0xAAAA, count: x.count)
                ck_round_f16(x, Int64(x.count), &out)
                for (i, (value, want)) in expected.enumerated() {
                    #expect(out[i] == want, "\(value) at \(level): \(String(out[i], radix: 16)) != \(String(want, radix: 16))")
                    if !value.isNaN { #expect(out[i] == ck_fp32_to_fp16(value), "\(value) at \(level) vs ck_fp32_to_fp16") }
                }
                // NaN payloads as F16C: quiet bit set, top 9 payload bits and the sign kept.
                let nans: [(UInt32, UInt16)] = [(0x7F80_0001, 0x7E00), (0x7FA0_0000, 0x7F00), (0xFFC0_2000, 0xFE01), (0x7FFF_FFFF, 0x7FFF)]
                var nanOut = [UInt16](repeating: 0, count: nans.count)
                ck_round_f16(nans.map { Float(bitPattern: $0.0) }, Int64(nans.count), &nanOut)
                #expect(nanOut == nans.map(\.1), "NaN payloads at \(level)")
            }
            // Many values of every magnitude (odd count: the vector tails too) agree with the scalar conversion bit for bit.
            var rng = SeededRandom(seed: 41)
            let many = (0..<4099).map { _ in
                Float(sign: Bool.random(using: &rng) ? .minus : .plus, exponent: Int.random(in: -30...17, using: &rng),
                      significand: Float.random(in: 1..<2, using: &rng))
            }
            Self.eachLevel { level in
                var out = [UInt16](repeating: 0, count: many.count)
                ck_round_f16(many, Int64(many.count), &out)
                let bad = many.indices.filter { out[$0] != ck_fp32_to_fp16(many[$0]) }
                #expect(bad.isEmpty, "\(bad.count) of \(many.count) differ at \(level), first \(bad.first.map { many[$0] } ?? 0)")
            }
        }
    }

    /// Panel layout: element (p, k, r) at [(p·cols + k)·64 + r], padding rows zero.
    @Test func repackLayout() {
        let rows = 70, cols = 5
        let w = (0..<(rows * cols)).map { UInt16($0 + 1) }
        var packed = [UInt16](repeating: 0xFFFF, count: ck_f16_packed_size(Int64(rows), Int64(cols)) / 2)
        #expect(packed.count == 128 * cols)
        ck_repack_f16(w, Int64(rows), Int64(cols), &packed, 0, 2)
        for p in 0..<2 {
            for k in 0..<cols {
                for r in 0..<64 {
                    let row = 64 * p + r
                    #expect(packed[(p * cols + k) * 64 + r] == (row < rows ? w[row * cols + k] : 0))
                }
            }
        }
    }

    /// ck_matmul_f16 equals ck_matmul_f16_reference bit for bit at every level (AVX-512, AVX2, scalar), for every batch
    /// size (decode, partial and whole token tiles), rows not a multiple of 64, chunk tails, and panel ranges split as
    /// threads split them; and it is within 1e-5 of the double-precision product of the f16 values, relative to Σ_k |W·b|
    /// (the scale of a summation's rounding error; relative to |Σ| alone, cancellation would make any order fail).
    @Test func productsMatchTheReferenceBitForBit() async {
        // Goes below AVX2 for the whole process: see KernelLevelLock.
        await KernelLevelLock.hold {
            var rng = SeededRandom(seed: 43)
            for (rows, cols) in [(70, 264), (130, 600), (64, 17)] {
                let wf = (0..<(rows * cols)).map { _ in Float.random(in: -1...1, using: &rng) }
                var w = [UInt16](repeating: 0, count: wf.count)
                ck_round_f16(wf, Int64(wf.count), &w)
                let panels = (rows + 63) / 64
                var packed = [UInt16](repeating: 0, count: ck_f16_packed_size(Int64(rows), Int64(cols)) / 2)
                ck_repack_f16(w, Int64(rows), Int64(cols), &packed, 0, Int64(panels))
                for n in [1, 2, 5, 8, 17] {
                    let x = (0..<(n * cols)).map { _ in Float.random(in: -2...2, using: &rng) }
                    var b = [UInt16](repeating: 0, count: x.count)
                    ck_round_f16(x, Int64(x.count), &b)
                    let ldy = rows + 3  // the gap must stay untouched
                    var reference = [Float](repeating: .nan, count: n * ldy)
                    ck_matmul_f16_reference(w, Int64(rows), Int64(cols), b, Int64(n), &reference, Int64(ldy))
                    var worst = 0.0
                    for t in 0..<n {
                        for r in 0..<rows {
                            var exact = 0.0, magnitude = 0.0
                            for k in 0..<cols {
                                let product = Double(ck_fp16_to_fp32(w[r * cols + k])) * Double(ck_fp16_to_fp32(b[t * cols + k]))
                                exact += product
                                magnitude += abs(product)
                            }
                            worst = max(worst, abs(Double(reference[t * ldy + r]) - exact) / max(magnitude, 1e-30))
                        }
                    }
                    #expect(worst < 1e-5, "reference \(rows)×\(cols) × \(n): relative error \(worst)")
                    Self.eachLevel { level in
                        var y = [Float](repeating: 12345, count: n * ldy)
                        let split = Int64(panels / 2)
                        ck_matmul_f16(packed, Int64(rows), Int64(cols), 0, split, b, Int64(n), &y, Int64(ldy))
                        ck_matmul_f16(packed, Int64(rows), Int64(cols), split, Int64(panels), b, Int64(n), &y, Int64(ldy))
                        var mismatches = 0, gapWritten = 0
                        for t in 0..<n {
                            for r in 0..<ldy {
                                if r >= rows {
                                    if y[t * ldy + r] != 12345 { gapWritten += 1 }
                                } else if Self.bits(y[t * ldy + r]) != Self.bits(reference[t * ldy + r]) {
                                    mismatches += 1
                                }
                            }
                        }
                        #expect(mismatches == 0, "\(rows)×\(cols) × \(n) at \(level): \(mismatches) values differ from the reference")
                        #expect(gapWritten == 0, "\(rows)×\(cols) × \(n) at \(level): wrote past the rows")
                    }
                }
            }
        }
    }
}
