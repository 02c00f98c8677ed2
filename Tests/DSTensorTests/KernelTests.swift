import DSFormats
@testable import DSTensor
import Foundation
import Testing
import TestSupport

@Suite struct KernelTests {
    /// The fused row kernels agree with dequantize-then-dot for every type, on odd and even lengths.
    @Test func fusedDotsMatchTheReference() {
        var rng = SeededRandom(seed: 99)
        for type in [GGMLType.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q4_K, .q5_K, .q6_K] {
            let cols = type.blockSize == 1 ? 1000 : 512
            let rows = 3
            let values = (0..<(rows * cols)).map { _ in Float.random(in: -1...1, using: &rng) }
            let x = (0..<cols).map { _ in Float.random(in: -1...1, using: &rng) }
            var bytes: [UInt8]
            if Quantize.supports(type) {
                bytes = [UInt8](repeating: 0, count: rows * cols / type.blockSize * type.blockBytes)
                values.withUnsafeBufferPointer { v in
                    bytes.withUnsafeMutableBytes { Quantize.row(type, v.baseAddress!, count: rows * cols, into: $0.baseAddress!) }
                }
            } else {
                // Random K-quant blocks with small finite scales (d, dmin first; Q6_K's d last).
                let size = type.blockBytes
                bytes = (0..<(rows * cols / 256 * size)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                for blk in 0..<(rows * cols / 256) {
                    let o = blk * size
                    if type == .q6_K { bytes[o + 208] = 0x00; bytes[o + 209] = 0x1C } else {
                        bytes[o] = 0x00; bytes[o + 1] = 0x1C; bytes[o + 2] = 0x00; bytes[o + 3] = 0x18
                    }
                }
            }
            bytes.withUnsafeBytes { raw in
                let m = WeightMatrix(type: type, rows: rows, cols: cols, base: raw.baseAddress!)
                var scratch = [Float](repeating: 0, count: cols)
                var y = [Float](repeating: 0, count: rows)
                x.withUnsafeBufferPointer { xp in
                    scratch.withUnsafeMutableBufferPointer { s in
                        y.withUnsafeMutableBufferPointer { m.multiply(xp.baseAddress!, into: $0.baseAddress!, pool: WorkerPool(threads: 2)) }
                        for r in 0..<rows {
                            m.row(r, into: s.baseAddress!)
                            let reference = zip(s, xp).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                            #expect(abs(Double(y[r]) - reference) <= 1e-4 * max(1, abs(reference)), "\(type) row \(r): \(y[r]) vs \(reference)")
                        }
                    }
                }
            }
        }
    }

    @Test func poolRunsEveryTaskOnce() {
        let pool = WorkerPool(threads: 3)
        for n in [1, 2, 7, 100] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: n)
            hits.initialize(repeating: 0, count: n)
            nonisolated(unsafe) let h = hits
            pool.run(tasks: n) { h[$0] += 1 }
            #expect((0..<n).allSatisfy { hits[$0] == 1 })
            hits.deallocate()
        }
    }
}

