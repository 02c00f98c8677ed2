// BF16 weights with bf16 activations, as llama.cpp multiplies them (vec_dot_type BF16: the activation row rounded to
// bf16 half to even, ggml_compute_fp32_to_bf16). Panels as for the integer types: rows padded to 64, and for k-pair s
// (values 2s, 2s+1) the four 16-row groups in turn, each one 64-byte vector = 16 rows × (W[r][2s], W[r][2s+1]) — the
// operand order of vdpbf16ps, so a panel is one sequential stream and no horizontal sums are needed.
// y[t·ldy + r] = Σ_k W[r][k]·b[t][k]. AVX512_BF16: vdpbf16ps; otherwise (AVX2) the pairs widened to f32 and FMA'd.
#include "ckernels.h"
#include <immintrin.h>
#include <string.h>

#define CK_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c")))
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

void ck_round_bf16(const float *x, int64_t n, uint16_t *out) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        if ((u & 0x7fffffff) > 0x7f800000) { out[i] = (uint16_t)((u >> 16) | 64); continue; }  // NaN stays quiet NaN
        out[i] = (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }
}

size_t ck_bf16_packed_size(int64_t rows, int64_t cols) { return (size_t)((rows + 63) / 64 * 64 * cols * 2); }

void ck_repack_bf16(const uint16_t *src, int64_t rows, int64_t cols, uint16_t *dst, int64_t p0, int64_t p1) {
    const int64_t pairs = cols / 2;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t s = 0; s < pairs; s++)
            for (int r = 0; r < 64; r++) {
                const int64_t row = 64 * p + r;
                uint16_t *out = dst + ((p * pairs + s) * 64 + r) * 2;
                out[0] = row < rows ? src[row * cols + 2 * s] : 0;
                out[1] = row < rows ? src[row * cols + 2 * s + 1] : 0;
            }
}

static inline int32_t pair(const uint16_t *b) { int32_t v; memcpy(&v, b, 4); return v; }

INLINE CK_AVX512BF16 void store16(float *y, __m512 f, int64_t valid) {
    if (valid >= 16) _mm512_storeu_ps(y, f);
    else if (valid > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << valid) - 1), f);
}

// nt tokens × one 16-row group of a panel: one weight vector per k-pair, reused by every token.
INLINE CK_AVX512BF16 void tile512(const uint16_t *panel, int g, int64_t pairs, const uint16_t *b, int64_t cols, int nt,
                                  float *y, int64_t ldy, int64_t valid) {
    __m512 acc[8];
    for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t s = 0; s < pairs; s++) {
        const __m512bh w = (__m512bh)_mm512_loadu_si512(panel + (s * 4 + g) * 32);
        for (int t = 0; t < nt; t++) acc[t] = _mm512_dpbf16_ps(acc[t], w, (__m512bh)_mm512_set1_epi32(pair(b + t * cols + 2 * s)));
    }
    for (int t = 0; t < nt; t++) store16(y + t * ldy, acc[t], valid);
}

CK_AVX512BF16 static void matmul_bf16_512(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                          const uint16_t *b, int64_t n, float *y, int64_t ldy) {
    const int64_t pairs = cols / 2;
    for (int64_t p = p0; p < p1; p++) {
        const uint16_t *panel = w + p * pairs * 128;
        if (n == 1) {  // decode: the panel as one stream, 4 groups × 2 k-parities = 8 chains in flight
            __m512 acc[8];
            for (int i = 0; i < 8; i++) acc[i] = _mm512_setzero_ps();
            int64_t s = 0;
            for (; s + 2 <= pairs; s += 2)
                for (int e = 0; e < 2; e++) {
                    const __m512bh x = (__m512bh)_mm512_set1_epi32(pair(b + 2 * (s + e)));
                    for (int g = 0; g < 4; g++)
                        acc[2 * g + e] = _mm512_dpbf16_ps(acc[2 * g + e], (__m512bh)_mm512_loadu_si512(panel + ((s + e) * 4 + g) * 32), x);
                }
            for (; s < pairs; s++)
                for (int g = 0; g < 4; g++)
                    acc[2 * g] = _mm512_dpbf16_ps(acc[2 * g], (__m512bh)_mm512_loadu_si512(panel + (s * 4 + g) * 32),
                                                  (__m512bh)_mm512_set1_epi32(pair(b + 2 * s)));
            for (int g = 0; g < 4; g++) store16(y + 64 * p + 16 * g, _mm512_add_ps(acc[2 * g], acc[2 * g + 1]), rows - 64 * p - 16 * g);
            continue;
        }
        for (int g = 0; g < 4; g++) {
            const int64_t valid = rows - 64 * p - 16 * g;
            if (valid <= 0) break;
            for (int64_t t0 = 0; t0 < n; t0 += 8) {
                const int nt = (int)(n - t0 < 8 ? n - t0 : 8);
                float *yy = y + t0 * ldy + 64 * p + 16 * g;
                const uint16_t *bb = b + t0 * cols;
                switch (nt) {
                case 1: tile512(panel, g, pairs, bb, cols, 1, yy, ldy, valid); break;
                case 2: tile512(panel, g, pairs, bb, cols, 2, yy, ldy, valid); break;
                case 3: tile512(panel, g, pairs, bb, cols, 3, yy, ldy, valid); break;
                case 4: tile512(panel, g, pairs, bb, cols, 4, yy, ldy, valid); break;
                case 5: tile512(panel, g, pairs, bb, cols, 5, yy, ldy, valid); break;
                case 6: tile512(panel, g, pairs, bb, cols, 6, yy, ldy, valid); break;
                case 7: tile512(panel, g, pairs, bb, cols, 7, yy, ldy, valid); break;
                default: tile512(panel, g, pairs, bb, cols, 8, yy, ldy, valid); break;
                }
            }
        }
    }
}

// AVX2: an 8-row half of a group's vector holds 8 (w[2s], w[2s+1]) pairs; shifting left by 16 gives the first as f32,
// masking the low half gives the second.
CK_AVX2 static void matmul_bf16_256(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                    const uint16_t *b, int64_t n, float *y, int64_t ldy) {
    const int64_t pairs = cols / 2;
    const __m256i high = _mm256_set1_epi32((int32_t)0xFFFF0000u);
    for (int64_t p = p0; p < p1; p++) {
        const uint16_t *panel = w + p * pairs * 128;
        if (n == 1) {  // decode: the panel as one stream, eight 8-row accumulators
            __m256 acc[8];
            for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_ps();
            for (int64_t s = 0; s < pairs; s++) {
                uint32_t x0 = (uint32_t)b[2 * s] << 16, x1 = (uint32_t)b[2 * s + 1] << 16;
                float f0, f1;
                memcpy(&f0, &x0, 4);
                memcpy(&f1, &x1, 4);
                const __m256 b0 = _mm256_set1_ps(f0), b1 = _mm256_set1_ps(f1);
                for (int gh = 0; gh < 8; gh++) {
                    const __m256i v = _mm256_loadu_si256((const __m256i *)(panel + s * 128 + 16 * gh));
                    acc[gh] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), b0, acc[gh]);
                    acc[gh] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v, high)), b1, acc[gh]);
                }
            }
            for (int gh = 0; gh < 8; gh++) {
                const int64_t valid = rows - 64 * p - 8 * gh;
                float out[8];
                _mm256_storeu_ps(out, acc[gh]);
                for (int64_t i = 0; i < (valid < 8 ? valid : 8); i++) y[64 * p + 8 * gh + i] = out[i];
            }
            continue;
        }
        for (int gh = 0; gh < 8; gh++) {
            const int g = gh / 2, h = gh % 2;
            const int64_t valid = rows - 64 * p - 8 * gh;
            if (valid <= 0) break;
            for (int64_t t = 0; t < n; t++) {
                __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
                const uint16_t *bt = b + t * cols;
                for (int64_t s = 0; s < pairs; s++) {
                    const __m256i v = _mm256_loadu_si256((const __m256i *)(panel + (s * 4 + g) * 32 + 16 * h));
                    uint32_t x0 = (uint32_t)bt[2 * s] << 16, x1 = (uint32_t)bt[2 * s + 1] << 16;
                    float f0, f1;
                    memcpy(&f0, &x0, 4);
                    memcpy(&f1, &x1, 4);
                    a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), _mm256_set1_ps(f0), a0);
                    a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v, high)), _mm256_set1_ps(f1), a1);
                }
                float out[8];
                _mm256_storeu_ps(out, _mm256_add_ps(a0, a1));
                for (int64_t i = 0; i < (valid < 8 ? valid : 8); i++) y[t * ldy + 64 * p + 8 * gh + i] = out[i];
            }
        }
    }
}

void ck_matmul_bf16(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1, const uint16_t *b, int64_t n,
                    float *y, int64_t ldy) {
    if (ck_has_avx512_bf16()) matmul_bf16_512(w, rows, cols, p0, p1, b, n, y, ldy);
    else matmul_bf16_256(w, rows, cols, p0, p1, b, n, y, ldy);
}
