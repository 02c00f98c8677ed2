// CKernels: the innermost ISA-specific kernels of the inference engine (activation quantizers, weight repacking,
// integer GEMV/GEMM on repacked panels). Everything around them (threading, tiling, the model) is Swift.
// Variants per ISA level are compiled in one object with per-function target attributes and chosen once at
// start-up from cpuid/xgetbv; ck_set_isa forces a lower level (DSLLM_ISA, tests).
//
// Layout ("VNNI-16 panels", docs/inference.md): rows are padded to whole 64-row panels; a panel is block-major,
// and each (block, 16-row group) holds the 16 rows' f16 scales, then vectors of 64 bytes = 16 rows × 4 bytes, row r
// at bytes 4r..4r+3 — the operand order of vpdpbusd (and of an AMX B tile), so no horizontal sums are needed.
#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { CK_ISA_NONE = 0, CK_ISA_AVX2 = 1, CK_ISA_AVX512 = 2, CK_ISA_AMX = 3 };

/// Highest level this CPU and OS support (AVX2 = AVX2+FMA+F16C; AVX512 = F/BW/VL/DQ + VNNI; AMX = tile + int8).
int ck_isa_detected(void);
/// The level kernels run at now.
int ck_isa(void);
/// Uses `level` (clamped to what is detected); returns the level in use.
int ck_set_isa(int level);
/// AVX512_BF16 (vdpbf16ps) is available and enabled.
int ck_has_avx512_bf16(void);

// ggml type ids of the repackable types.
enum { CK_Q4_0 = 2, CK_Q4_1 = 3, CK_Q5_0 = 6, CK_Q5_1 = 7, CK_Q8_0 = 8, CK_Q4_K = 12, CK_Q5_K = 13, CK_Q6_K = 14 };

/// Activation for Q4_0/Q8_0 weights, as llama.cpp's x86 quantize_row_q8_0: per 32 values d = amax/127 rounded to
/// f16 (stored here as its f32 value), q = round_half_even(x · 127/amax); plus sum[b] = Σ q (the zero-point term).
void ck_quantize_q8_0(const float *x, int64_t k, int8_t *q, float *d, int32_t *sum);
/// Activation for K-quant weights, as llama.cpp's quantize_row_q8_K_ref: per 256 values iscale = −127/max (max = the
/// signed value of largest magnitude), q = min(127, round_half_even(iscale·x)), d = 1/iscale, bsum[j] = Σ q over 16.
void ck_quantize_q8_K(const float *x, int64_t k, int8_t *q, float *d, int16_t *bsum);
/// Activation for Q4_1/Q5_1 weights, as llama.cpp's x86 quantize_row_q8_1: q and d as ck_quantize_q8_0; plus
/// s[b] = f16(amax/127 · Σq) (the unrounded d, as ggml), stored as the f32 value of that f16 (the min term's factor).
void ck_quantize_q8_1(const float *x, int64_t k, int8_t *q, float *d, float *s);
/// The scalar definitions of these (what runs below AVX2; tests compare the vector versions with them).
void ck_quantize_q8_0_ref(const float *x, int64_t k, int8_t *q, float *d, int32_t *sum);
void ck_quantize_q8_K_ref(const float *x, int64_t k, int8_t *q, float *d, int16_t *bsum);
void ck_quantize_q8_1_ref(const float *x, int64_t k, int8_t *q, float *d, float *s);

/// Whether a type can be repacked (and its activation kind: 0 = Q8_0 for Q4_0/Q5_0/Q8_0, 1 = Q8_K for Q4_K/Q5_K/Q6_K,
/// 3 = Q8_1 for Q4_1/Q5_1), −1 if not. (2 is bf16, which has its own entry points.)
int ck_activation_kind(int type);
/// Bytes of the repacked matrix (rows padded to 64).
size_t ck_packed_size(int type, int64_t rows, int64_t cols);
/// Repacks panels [p0, p1) of a row-major ggml matrix (rows × cols, cols a whole number of blocks).
void ck_repack(int type, const void *src, int64_t rows, int64_t cols, void *dst, int64_t p0, int64_t p1);

/// y[t·ldy + r] = Σ_k W[r][k]·a_t[k] for tokens t < n and rows r of panels [p0, p1) with r < rows, on the packed
/// matrix and quantized activations (q: n × cols bytes; d: n × (cols/32 or cols/256); sum: n × (cols/32) int32 for
/// Q8_0 activations, n × (cols/16) int16 for Q8_K, n × (cols/32) f32 s for Q8_1). Integer sums are exact; per row and
/// block the float step is f = fma((float)isum, d_w·d_a, f) in block order, followed for the types with a min by
/// f = fma(m_w, s_a, f) (Q4_1, Q5_1) or f = fma((float)imin, −(dmin_w·d_a), f) (Q4_K, Q5_K), so every ISA level,
/// tile width and batch size gives the same bits.
void ck_matmul(int type, const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
               const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy);

/// Scalar reference of ck_matmul on the original ggml blocks (tests): same integer sums and float steps.
void ck_matmul_reference(int type, const void *src, int64_t rows, int64_t cols, const int8_t *q, const float *d,
                         const void *sum, int64_t n, float *y, int64_t ldy);

/// BF16 panels (bf16.c: 64-row panels, k-pair major, 16 rows × 2 values per 64-byte vector; cols even).
size_t ck_bf16_packed_size(int64_t rows, int64_t cols);
void ck_repack_bf16(const uint16_t *src, int64_t rows, int64_t cols, uint16_t *dst, int64_t p0, int64_t p1);
/// y[t·ldy + r] = W[r]·b[t] for n bf16 activation rows and the rows of panels [p0, p1): vdpbf16ps where the CPU has
/// AVX512_BF16, f32 FMA on the widened values otherwise (the float order differs between the two).
void ck_matmul_bf16(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1, const uint16_t *b, int64_t n,
                    float *y, int64_t ldy);
/// f32 → bf16 round-half-even (ggml_compute_fp32_to_bf16), NaN kept quiet.
void ck_round_bf16(const float *x, int64_t n, uint16_t *out);

/// F16 panels (f16.c: 64-row panels, k-major, the 64 rows of one k per 128 bytes, element (p, k, r) at
/// [(p·cols + k)·64 + r]; any cols). Bytes: ceil(rows/64)·64·cols·2.
size_t ck_f16_packed_size(int64_t rows, int64_t cols);
/// dst panel p (p0 ≤ p < p1) from row-major f16 src (rows × cols): dst[(p·cols + k)·64 + r] = src[(64p + r)·cols + k],
/// 0 for padding rows.
void ck_repack_f16(const uint16_t *src, int64_t rows, int64_t cols, uint16_t *dst, int64_t p0, int64_t p1);
/// y[t·ldy + r] = Σ_k W[r][k]·b[t][k] for n f16 activation rows b (n × cols) and the rows of panels [p0, p1), in one
/// float order at every ISA level, tile width and batch size: per (r, t), y = 0, then per chunk of 256 k
/// s = fma chain over the chunk from 0, y = y + s. AVX-512 / AVX2 widen f16 → f32 (vcvtph2ps) and FMA; scalar below.
void ck_matmul_f16(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1, const uint16_t *b, int64_t n,
                   float *y, int64_t ldy);
/// Scalar definition of ck_matmul_f16 on row-major W (rows × cols) — the same bits (tests).
void ck_matmul_f16_reference(const uint16_t *src, int64_t rows, int64_t cols, const uint16_t *b, int64_t n, float *y,
                             int64_t ldy);
/// out[i] = f16(x[i]) round-half-even as F16C's vcvtps2ph imm 0 (ggml_fp32_to_fp16_row): overflow → ±inf, f16
/// subnormals kept, NaN → quiet NaN (sign | 0x7E00 | mantissa >> 13).
void ck_round_f16(const float *x, int64_t n, uint16_t *out);

/// f32 ↔ f16 with round-half-even (as F16C), for the scalar paths.
uint16_t ck_fp32_to_fp16(float f);
float ck_fp16_to_fp32(uint16_t h);

/// Anonymous memory for repacked weights: 2 MiB aligned, madvise(MADV_HUGEPAGE) where allowed (silently 4 KiB pages
/// otherwise). NULL on failure. `huge` reports whether the advice was taken.
void *ck_alloc_huge(size_t bytes, int *huge);
void ck_free_huge(void *p, size_t bytes);
/// Drops the page-cache pages of a mapped file range from this process's resident set (the repacked copy replaces them).
void ck_release_pages(const void *p, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
