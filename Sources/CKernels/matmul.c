// Integer matrix products on VNNI-16 panels (Q8_0, Q4_0) with Q8_0 activations, per ISA level.
//
// For row r, token t, block b (32 values): isum = Σ_j W[r][32b+j]·a_t[32b+j] exactly in int32, computed as
// Σ u·a − c·Σa with the stored unsigned u = W + c (c = 128 for Q8_0, 8 for Q4_0); then
// f = fma((float)isum, d_w[r][b]·d_a[t][b], f) in block order. The AVX2 Q8_0 path multiplies signed values directly
// (sign trick: |w|·sign(a, w), as llama.cpp's mul_sum_i8_pairs) — the same isum, so every level gives the same bits.
#include "ckernels.h"
#include <immintrin.h>
#include <string.h>

int64_t ck_group_block_bytes(int type);
void ck_matmul_k(int type, const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                 const int8_t *q, const float *d, const int16_t *bsum, int64_t n, float *y, int64_t ldy);
void ck_matmul_legacy5(int type, const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                       const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy);
void ck_matmul_q5k(const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                   const int8_t *q, const float *d, const int16_t *bsum, int64_t n, float *y, int64_t ldy);

#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

static inline int32_t word(const int8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// MARK: AVX-512 VNNI

// Σ over one block of one 16-row group for one token: 8 (Q8_0) or 4×2 (Q4_0) vpdpbusd on two chains.
INLINE CK_AVX512 __m512i isum512(const __m512i *w, int nw, const int8_t *a, int32_t init) {
    __m512i i0 = _mm512_set1_epi32(init), i1 = _mm512_setzero_si512();
    for (int s = 0; s < nw; s += 2) {
        i0 = _mm512_dpbusd_epi32(i0, w[s], _mm512_set1_epi32(word(a + 4 * s)));
        i1 = _mm512_dpbusd_epi32(i1, w[s + 1], _mm512_set1_epi32(word(a + 4 * s + 4)));
    }
    return _mm512_add_epi32(i0, i1);
}

// Loads one (block, group) of weights as 8 u8 vectors in k order (Q4_0: nibble planes unpacked).
INLINE CK_AVX512 void load512(int type, const uint8_t *v, __m512i *w) {
    if (type == CK_Q8_0) {
        for (int s = 0; s < 8; s++) w[s] = _mm512_loadu_si512(v + 64 * s);
    } else {
        const __m512i m = _mm512_set1_epi8(0x0F);
        for (int s = 0; s < 4; s++) {
            __m512i x = _mm512_loadu_si512(v + 64 * s);
            w[2 * s] = _mm512_and_si512(x, m);
            w[2 * s + 1] = _mm512_and_si512(_mm512_srli_epi16(x, 4), m);
        }
    }
}

INLINE CK_AVX512 void store512(float *y, __m512 f, int valid) {
    if (valid >= 16) _mm512_storeu_ps(y, f);
    else _mm512_mask_storeu_ps(y, (__mmask16)((1u << valid) - 1), f);
}

// One 16-row group × nt tokens (nt ≤ 8, a constant after inlining): weights loaded once per block, reused by every token.
INLINE CK_AVX512 void group512(int type, const uint8_t *g0, int64_t bstride, int64_t nb, const int8_t *q, int64_t cols,
                               const float *d, const int32_t *sum, int nt, float *y, int64_t ldy, int valid) {
    const int32_t c = type == CK_Q8_0 ? -128 : -8;
    __m512 f[8];
    for (int t = 0; t < nt; t++) f[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = g0 + b * bstride;
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        __m512i w[8];
        load512(type, blk + 32, w);
        for (int t = 0; t < nt; t++) {
            __m512i is = isum512(w, 8, q + t * cols + 32 * b, c * sum[t * nb + b]);
            f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(dw, _mm512_set1_ps(d[t * nb + b])), f[t]);
        }
    }
    for (int t = 0; t < nt; t++) store512(y + t * ldy, f[t], valid);
}

// One 64-row panel × one token (decode): blocks outer, the four groups inner, so the panel is read as one stream
// and four accumulators are in flight.
INLINE CK_AVX512 void gemv512(int type, const uint8_t *panel, int64_t gb, int64_t nb, const int8_t *q, const float *d,
                              const int32_t *sum, float *y, int64_t validRows) {
    const int32_t c = type == CK_Q8_0 ? -128 : -8;
    __m512 f[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t b = 0; b < nb; b++) {
        const __m512 da = _mm512_set1_ps(d[b]);
        const int32_t init = c * sum[b];
        for (int g = 0; g < 4; g++) {
            const uint8_t *blk = panel + (b * 4 + g) * gb;
            __m512i w[8];
            load512(type, blk + 32, w);
            __m512i is = isum512(w, 8, q + 32 * b, init);
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
            f[g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(dw, da), f[g]);
        }
    }
    for (int g = 0; g < 4; g++) {
        int64_t valid = validRows - 16 * g;
        if (valid > 0) store512(y + 16 * g, f[g], (int)(valid > 16 ? 16 : valid));
    }
}

#define TILE_CASES(CALL) \
    switch (nt) { case 1: CALL(1); break; case 2: CALL(2); break; case 3: CALL(3); break; case 4: CALL(4); break; \
                  case 5: CALL(5); break; case 6: CALL(6); break; case 7: CALL(7); break; default: CALL(8); break; }

CK_AVX512 static void matmul512(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                const int8_t *q, const float *d, const int32_t *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 32, gb = ck_group_block_bytes(type), pb = nb * 4 * gb;
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *panel = packed + p * pb;
        if (n == 1) {
            if (type == CK_Q8_0) gemv512(CK_Q8_0, panel, gb, nb, q, d, sum, y + 64 * p, rows - 64 * p);
            else gemv512(CK_Q4_0, panel, gb, nb, q, d, sum, y + 64 * p, rows - 64 * p);
            continue;
        }
        for (int g = 0; g < 4; g++) {
            int64_t valid = rows - 64 * p - 16 * g;
            if (valid <= 0) break;
            for (int64_t t0 = 0; t0 < n; t0 += 8) {
                int nt = (int)(n - t0 < 8 ? n - t0 : 8);
#define CALL(NT) do { if (type == CK_Q8_0) group512(CK_Q8_0, panel + g * gb, 4 * gb, nb, q + t0 * cols, cols, d + t0 * nb, \
                       sum + t0 * nb, NT, y + t0 * ldy + 64 * p + 16 * g, ldy, (int)(valid > 16 ? 16 : valid)); \
                      else group512(CK_Q4_0, panel + g * gb, 4 * gb, nb, q + t0 * cols, cols, d + t0 * nb, \
                       sum + t0 * nb, NT, y + t0 * ldy + 64 * p + 16 * g, ldy, (int)(valid > 16 ? 16 : valid)); } while (0)
                TILE_CASES(CALL)
#undef CALL
            }
        }
    }
}

// MARK: AVX2 (no VNNI): the same panels read as two 8-row halves (bytes 0–31: rows 0–7, 32–63: rows 8–15).

// Σ for one block, one 8-row half, one token. Q8_0: sign trick on the signed weights (u ^ 0x80), maddubs then madd;
// |w| ≤ 128 and |a| ≤ 127 keep maddubs's pair sums below 2^15. Q4_0: maddubs(u4, a) pairs ≤ 3810, two planes added
// in 16 bits (≤ 7620), then madd; the −8·Σa correction starts the accumulator.
INLINE CK_AVX2 __m256i isum256(int type, const uint8_t *v, int h, const int8_t *a, int32_t init) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_set1_epi32(init);
    if (type == CK_Q8_0) {
        const __m256i flip = _mm256_set1_epi8((char)0x80);
        for (int s = 0; s < 8; s++) {
            __m256i w = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(v + 64 * s + 32 * h)), flip);
            __m256i av = _mm256_set1_epi32(word(a + 4 * s));
            __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(av, w));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
        }
    } else {
        const __m256i m = _mm256_set1_epi8(0x0F);
        for (int s = 0; s < 4; s++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(v + 64 * s + 32 * h));
            __m256i lo = _mm256_and_si256(x, m), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), m);
            __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(word(a + 8 * s))),
                                         _mm256_maddubs_epi16(hi, _mm256_set1_epi32(word(a + 8 * s + 4))));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
        }
    }
    return acc;
}

INLINE CK_AVX2 void store256(float *y, __m256 f, int valid) {
    if (valid >= 8) { _mm256_storeu_ps(y, f); return; }
    float tmp[8];
    _mm256_storeu_ps(tmp, f);
    for (int i = 0; i < valid; i++) y[i] = tmp[i];
}

// One 8-row half of a group × nt ≤ 4 tokens.
INLINE CK_AVX2 void half256(int type, const uint8_t *g0, int64_t bstride, int64_t nb, int h, const int8_t *q, int64_t cols,
                            const float *d, const int32_t *sum, int nt, float *y, int64_t ldy, int valid) {
    const int32_t c = type == CK_Q8_0 ? 0 : -8;
    __m256 f[4];
    for (int t = 0; t < nt; t++) f[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = g0 + b * bstride;
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
        for (int t = 0; t < nt; t++) {
            __m256i is = isum256(type, blk + 32, h, q + t * cols + 32 * b, c * sum[t * nb + b]);
            f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(dw, _mm256_set1_ps(d[t * nb + b])), f[t]);
        }
    }
    for (int t = 0; t < nt; t++) store256(y + t * ldy, f[t], valid);
}

INLINE CK_AVX2 void gemv256(int type, const uint8_t *panel, int64_t gb, int64_t nb, const int8_t *q, const float *d,
                            const int32_t *sum, float *y, int64_t validRows) {
    const int32_t c = type == CK_Q8_0 ? 0 : -8;
    __m256 f[8];
    for (int i = 0; i < 8; i++) f[i] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const __m256 da = _mm256_set1_ps(d[b]);
        const int32_t init = c * sum[b];
        for (int g = 0; g < 4; g++) {
            const uint8_t *blk = panel + (b * 4 + g) * gb;
            for (int h = 0; h < 2; h++) {
                __m256i is = isum256(type, blk + 32, h, q + 32 * b, init);
                const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
                f[2 * g + h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(dw, da), f[2 * g + h]);
            }
        }
    }
    for (int i = 0; i < 8; i++) {
        int64_t valid = validRows - 8 * i;
        if (valid > 0) store256(y + 8 * i, f[i], (int)(valid > 8 ? 8 : valid));
    }
}

CK_AVX2 static void matmul256(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                              const int8_t *q, const float *d, const int32_t *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 32, gb = ck_group_block_bytes(type), pb = nb * 4 * gb;
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *panel = packed + p * pb;
        if (n == 1) {
            if (type == CK_Q8_0) gemv256(CK_Q8_0, panel, gb, nb, q, d, sum, y + 64 * p, rows - 64 * p);
            else gemv256(CK_Q4_0, panel, gb, nb, q, d, sum, y + 64 * p, rows - 64 * p);
            continue;
        }
        for (int gh = 0; gh < 8; gh++) {
            int g = gh / 2, h = gh % 2;
            int64_t valid = rows - 64 * p - 8 * gh;
            if (valid <= 0) break;
            for (int64_t t0 = 0; t0 < n; t0 += 4) {
                int nt = (int)(n - t0 < 4 ? n - t0 : 4);
#define CALL(NT) do { if (type == CK_Q8_0) half256(CK_Q8_0, panel + g * gb, 4 * gb, nb, h, q + t0 * cols, cols, d + t0 * nb, \
                       sum + t0 * nb, NT, y + t0 * ldy + 64 * p + 8 * gh, ldy, (int)(valid > 8 ? 8 : valid)); \
                      else half256(CK_Q4_0, panel + g * gb, 4 * gb, nb, h, q + t0 * cols, cols, d + t0 * nb, \
                       sum + t0 * nb, NT, y + t0 * ldy + 64 * p + 8 * gh, ldy, (int)(valid > 8 ? 8 : valid)); } while (0)
                switch (nt) { case 1: CALL(1); break; case 2: CALL(2); break; case 3: CALL(3); break; default: CALL(4); break; }
#undef CALL
            }
        }
    }
}

void ck_matmul(int type, const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
               const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy) {
    if (type == CK_Q4_K || type == CK_Q6_K) { ck_matmul_k(type, packed, rows, cols, p0, p1, q, d, sum, n, y, ldy); return; }
    if (type == CK_Q5_K) { ck_matmul_q5k(packed, rows, cols, p0, p1, q, d, sum, n, y, ldy); return; }
    if (type == CK_Q4_1 || type == CK_Q5_0 || type == CK_Q5_1) {  // legacy5.c
        ck_matmul_legacy5(type, packed, rows, cols, p0, p1, q, d, sum, n, y, ldy);
        return;
    }
    if (ck_isa() >= CK_ISA_AVX512) matmul512(type, packed, rows, cols, p0, p1, q, d, sum, n, y, ldy);
    else matmul256(type, packed, rows, cols, p0, p1, q, d, sum, n, y, ldy);
}
