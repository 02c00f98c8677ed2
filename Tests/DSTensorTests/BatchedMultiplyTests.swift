import DSFormats
@testable import DSTensor
import Foundation
import Testing
import TestSupport

@Suite struct BatchedMultiplyTests {
    /// Y = X·Wᵀ for batches that take each path (row kernels, FMA tiles, system GEMM with panels) agrees
    /// with a Double reference on the dequantized weights.
    @Test func everyPathMatchesTheReference() {
        var rng = SeededRandom(seed: 7)
        let pool = WorkerPool(threads: 2)
        for type in [GGMLType.f32, .f16, .q8_0, .q4_K] {
            // Q4_K needs 256-wide rows; 600 rows at 4096 columns would force several GEMM panels, so use
            // cols large enough that the 2M-float panel holds fewer rows than the matrix.
            let cols = 8192, rows = 300
            let values = (0..<(rows * cols)).map { _ in Float.random(in: -1...1, using: &rng) }
            var bytes = [UInt8](repeating: 0, count: rows * cols / type.blockSize * type.blockBytes)
            if Quantize.supports(type) {
                values.withUnsafeBufferPointer { v in
                    bytes.withUnsafeMutableBytes { Quantize.row(type, v.baseAddress!, count: rows * cols, into: $0.baseAddress!) }
                }
            } else {
                for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
                for blk in 0..<(rows * cols / 256) {
                    let o = blk * type.blockBytes
                    bytes[o] = 0x00; bytes[o + 1] = 0x1C; bytes[o + 2] = 0x00; bytes[o + 3] = 0x18
                }
            }
            for count in [2, 5, WeightMatrix.gemmMinimumBatch + 3] {
                let x = (0..<(count * cols)).map { _ in Float.random(in: -1...1, using: &rng) }
                var y = [Float](repeating: .nan, count: count * rows)
                bytes.withUnsafeBytes { raw in
                    let m = WeightMatrix(type: type, rows: rows, cols: cols, base: raw.baseAddress!)
                    y.withUnsafeMutableBufferPointer { m.multiply(batch: x, count: count, into: $0.baseAddress!, pool: pool) }
                    var w = [Float](repeating: 0, count: cols)
                    var worst = 0.0
                    for r in 0..<rows {
                        w.withUnsafeMutableBufferPointer { m.row(r, into: $0.baseAddress!) }
                        for t in 0..<count {
                            var ref = 0.0
                            for i in 0..<cols { ref += Double(w[i]) * Double(x[t * cols + i]) }
                            worst = max(worst, abs(Double(y[t * rows + r]) - ref) / max(1, abs(ref)))
                        }
                    }
                    #expect(worst < 1e-4, "\(type) batch \(count) (gemm: \(Gemm.backend)): worst relative error \(worst)")
                }
            }
        }
    }

    /// Where the system's oneDNN or OpenBLAS is installed (make deps installs both), the shim loads it;
    /// a silent fallback to the Swift tiles would cost prefill speed without anyone noticing.
    @Test func systemGemmLoadsWhenInstalled() {
        let installed = ["/usr/lib/x86_64-linux-gnu/libdnnl.so.2", "/usr/lib/x86_64-linux-gnu/libdnnl.so.3",
                         "/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib/aarch64-linux-gnu/libopenblas.so.0"]
            .contains { FileManager.default.fileExists(atPath: $0) }
        let forced = ProcessInfo.processInfo.environment["DSLLM_GEMM"] == "none"
        if installed && !forced { #expect(Gemm.isAvailable, "a BLAS is installed but the shim loaded \(Gemm.backend)") }
        if forced { #expect(!Gemm.isAvailable) }
    }
}
