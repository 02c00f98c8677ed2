#ifndef DSLLM_CGEMM_H
#define DSLLM_CGEMM_H
// The only place dsllm touches a BLAS. The libraries are opened at run time (dlopen), so the build
// needs no headers and survives oneDNN's 2.x -> 3.x API change: dnnl_sgemm and cblas_sgemm kept the
// same signatures in every version we care about.

/// Loads a backend once; returns its name ("onednn", "openblas") or "none". `preference` is
/// "onednn", "openblas", "none" or NULL (= oneDNN, then OpenBLAS). Safe to call from any thread.
const char *dsllm_gemm_backend(const char *preference);

/// Threads the backend may use (OpenMP for oneDNN, OpenBLAS's own pool).
void dsllm_gemm_set_threads(int threads);

/// General row-major C = alpha·op(A)·op(B) + beta·C, op = transpose when transA/transB is 'T' (training needs
/// all three shapes: X·Wᵀ forward, dY·W and dYᵀ·X backward). Returns 0 on success, -1 without a backend.
int dsllm_sgemm(char transA, char transB, long M, long N, long K, float alpha, const float *A, long lda,
                const float *B, long ldb, float beta, float *C, long ldc);

/// The same with bfloat16 operands and f32 accumulation/output (oneDNN's dnnl_gemm_bf16bf16f32: AMX or
/// AVX512-BF16). Returns -1 when oneDNN is not loaded or the CPU has no bf16 instructions (callers then
/// round the operands to bf16 in f32 and use dsllm_sgemm: the same numbers, without the speed).
int dsllm_gemm_bf16(char transA, char transB, long M, long N, long K, float alpha, const unsigned short *A, long lda,
                    const unsigned short *B, long ldb, float beta, float *C, long ldc);

#endif
