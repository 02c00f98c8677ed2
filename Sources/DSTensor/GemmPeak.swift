import Foundation

extension Gemm {
    /// FLOP/s of the GEMM the training step uses at this precision, measured now on this machine: a 1024³ product
    /// (2.1 GFLOP), the best of at least 12 runs and 0.3 s after a warm-up, with `threads` threads — bf16 through
    /// oneDNN's bf16 GEMM where the CPU has it (AMX / AVX512-BF16), else the f32 GEMM (what bf16-rounded operands run
    /// through then). The denominator of the MFU that `dsllm train` reports (issue 23). nil without a GEMM library
    /// (the Swift fallback is no peak).
    public static func measuredPeak(bf16: Bool, threads: Int) -> Double? {
        guard isAvailable else { return nil }
        let n = 1024
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n), c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let h = UnsafeMutablePointer<UInt16>.allocate(capacity: n * n)
        defer { a.deallocate(); c.deallocate(); h.deallocate() }
        for i in 0..<(n * n) {
            a[i] = Float(i % 97) / 97 - 0.5
            h[i] = UInt16(truncatingIfNeeded: a[i].bitPattern >> 16)
        }
        let native = bf16 && hasNativeBF16
        var best = Double.infinity
        // At least 12 products and 0.3 s after a warm-up: a few 5-ms runs measured 0.5–0.7× the steady rate on a
        // cold start (threads waking, clocks ramping), which made MFU read over 100%.
        let began = DispatchTime.now().uptimeNanoseconds
        var run = 0
        while run < 13 || DispatchTime.now().uptimeNanoseconds - began < 300_000_000 {
            let start = DispatchTime.now().uptimeNanoseconds
            if native {
                _ = multiplyBF16(transposeA: false, transposeB: true, m: n, n: n, k: n, a: h, lda: n, b: h, ldb: n, beta: 0,
                                 c: c, ldc: n, threads: threads)
            } else {
                multiply(transposeA: false, transposeB: true, m: n, n: n, k: n, a: a, lda: n, b: a, ldb: n, beta: 0,
                         c: c, ldc: n, threads: threads)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if run > 0 { best = min(best, seconds) }  // run 0 warms up (threads, packing buffers)
            run += 1
            if run >= 200 { break }
        }
        return 2 * Double(n * n * n) / best
    }
}
