import CGemm
import Foundation

/// Matrix multiply through a system BLAS (oneDNN first, as PyTorch's CPU path; OpenBLAS second), loaded
/// at run time by the CGemm shim. Without either library dsllm falls back to its own Swift tiles, so the
/// libraries speed prefill up but are never needed for correctness.
public enum Gemm {
    /// "onednn", "openblas" or "none". `DSLLM_GEMM=onednn|openblas|none` chooses; the default takes
    /// the first that loads.
    public static let backend: String = {
        let wanted = ProcessInfo.processInfo.environment["DSLLM_GEMM"]
        return String(cString: dsllm_gemm_backend(wanted))
    }()

    public static var isAvailable: Bool { backend != "none" }

    nonisolated(unsafe) private static var lastThreads = 0
    private static let lock = NSLock()

    /// C[m × n] = A[m × k] · B[n × k]ᵀ, row-major with leading dimensions. False when no backend is loaded.
    @discardableResult
    public static func multiplyNT(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                  b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                  threads: Int) -> Bool {
        guard isAvailable else { return false }
        lock.lock()
        defer { lock.unlock() }
        if threads != lastThreads {
            dsllm_gemm_set_threads(Int32(threads))
            lastThreads = threads
        }
        return dsllm_sgemm_nt(m, n, k, a, lda, b, ldb, c, ldc) == 0
    }
}
