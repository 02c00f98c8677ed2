import CGemm
import Foundation

/// Matrix multiply through a system BLAS (oneDNN first, as PyTorch's CPU path; OpenBLAS second), loaded
/// at run time by the CGemm shim. Without either library dsllm falls back to its own Swift code, so the
/// libraries speed prefill and training up but are never needed for correctness.
public enum Gemm {
    /// "onednn", "openblas" or "none". `DSLLM_GEMM=onednn|openblas|none` chooses; the default takes
    /// the first that loads.
    public static let backend: String = {
        let wanted = ProcessInfo.processInfo.environment["DSLLM_GEMM"]
        return String(cString: dsllm_gemm_backend(wanted))
    }()

    public static var isAvailable: Bool { backend != "none" }

    nonisolated(unsafe) static var lastThreads = 0
    static let lock = NSLock()

    /// C = alpha·op(A)·op(B) + beta·C (row-major; op transposes when the flag is set), through the system BLAS,
    /// or a plain Swift loop when none is loaded (correct, slow: tests on machines without oneDNN/OpenBLAS).
    public static func multiply(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
                                c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        if isAvailable {
            lock.lock()
            if threads != lastThreads {
                dsllm_gemm_set_threads(Int32(threads))
                lastThreads = threads
            }
            let rc = dsllm_sgemm(transposeA ? 84 : 78, transposeB ? 84 : 78, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            lock.unlock()
            if rc == 0 { return }
        }
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k {
                    let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    s += av * bv
                }
                c[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }

    /// Whether oneDNN's bf16 GEMM runs on this CPU (AMX or AVX512-BF16): probed once with a 1×1×1 product.
    public static let hasNativeBF16: Bool = {
        guard isAvailable else { return false }
        var one: UInt16 = 0x3f80, out: Float = 0
        let rc = dsllm_gemm_bf16(78, 78, 1, 1, 1, 1, &one, 1, &one, 1, 0, &out, 1)
        return rc == 0 && out == 1
    }()

    /// C = alpha·op(A)·op(B) + beta·C with bfloat16 operands, f32 accumulation and output (oneDNN on AMX /
    /// AVX512-BF16). Returns false where that is not available; callers then use `multiply` on operands
    /// rounded to bf16 in f32, which gives the same products.
    public static func multiplyBF16(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                                    a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int, beta: Float,
                                    c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) -> Bool {
        guard hasNativeBF16 else { return false }
        lock.lock()
        defer { lock.unlock() }
        if threads != lastThreads {
            dsllm_gemm_set_threads(Int32(threads))
            lastThreads = threads
        }
        return dsllm_gemm_bf16(transposeA ? 84 : 78, transposeB ? 84 : 78, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0
    }
}
