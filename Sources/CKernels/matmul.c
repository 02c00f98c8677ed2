// Integer matrix products on VNNI-16 panels (Q8_0, Q4_0) with Q8_0 activations, per ISA level.
//
// For row r, token t, block b (32 values): isum = Σ_j W[r][32b+j]·a_t[32b+j] exactly in int32, computed as
// Σ u·a − c·Σa with the stored unsigned u = W + c (c = 128 for Q8_0, 8 for Q4_0); then
// f = fma((float)isum, d_w[r][b]·d_a[t][b], f) in block order. The AVX2 Q8_0 path multiplies signed values directly
// (sign trick: |w|·sign(a, w), as llama.cpp's mul_sum_i8_pairs) — the same isum, so every level gives the same bits.
#include "ckernels.h"
#include "kernels_internal.h"
#include <immintrin.h>
#include <string.h>

int64_t ck_group_block_bytes(int type);
void ck_matmul_k(int type, const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                 const int8_t *q, const float *d, const int16_t *bsum, int64_t n, float *y, int64_t ldy);
void ck_matmul_legacy5(int type, const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                       const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy);
void ck_matmul_q5k(const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                   const int8_t *q, const float *d, const int16_t *bsum, int64_t n, float *y, int64_t ldy);

// Batches read each 64-row panel as one stream in tiles of tokens: block by block and in each block its 4 groups (AVX2:
// 8 halves) in order, the tile's 4 × nt (8 × nt) accumulators in registers or L1. (Group by group down the panel, the
// earlier order, is four interleaved strided streams: 7–13 GB/s per core from DRAM at 2–8 tokens.) Compute-bound
// tiles (in cache barely faster than DRAM: AVX-512 from 3 tokens of Q4_0 and 5 of Q8_0, which has twice the bytes per
// product; AVX2 from 3) also prefetch the stream PF_BYTES ahead into L2, one (block, group) per step, since the
// hardware prefetchers stop at each 4 KiB page and the stall there no longer hides behind loads in flight.
// Memory-bound tiles run best without (Q8_0 at 4 tokens: 31 GB/s without, 25 with; at 6: 27 without, 30 with).
enum { PF256 = 3, PF_BYTES = 12288 };
INLINE int pf512(int type) { return type == CK_Q8_0 ? 5 : 3; }

// MARK: AVX-512 VNNI

// Σ over one block of one 16-row group for one token: 8 vpdpbusd on two chains, the first starting at init.
INLINE CK_AVX512 __m512i isum512(const __m512i *w, const int8_t *a, int32_t init) {
    __m512i i0 = _mm512_set1_epi32(init), i1 = _mm512_setzero_si512();
    for (int s = 0; s < 8; s += 2) {
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

INLINE CK_AVX512 void store512(float *y, __m512 f, int64_t valid) {
    if (valid >= 16) _mm512_storeu_ps(y, f);
    else if (valid > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << valid) - 1), f);
}

// nt tokens (a constant after inlining) × one 64-row panel: per (block, group) the weights are loaded once and used by
// every token, f = fma(isum, d_w·d_a, f). One token is the decode: the panel as one stream, 4 chains in flight.
INLINE CK_AVX512 void tile512(int type, const uint8_t *panel, int64_t gb, int64_t nb, const int8_t *q, int64_t cols,
                              const float *d, const int32_t *sum, int nt, float *y, int64_t ldy, int64_t validRows) {
    const int32_t c = type == CK_Q8_0 ? -128 : -8;
    __m512 f[4][8];
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) f[g][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++)
#pragma clang loop unroll(disable)
        for (int g = 0; g < 4; g++) {
            const uint8_t *blk = panel + (b * 4 + g) * gb;
            if (nt >= pf512(type)) ahead(blk + PF_BYTES, gb);
            __m512i w[8];
            load512(type, blk + 32, w);
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
#pragma clang loop unroll(disable)
            for (int t = 0; t < nt; t++) {
                const __m512i is = isum512(w, q + t * cols + 32 * b, c * sum[t * nb + b]);
                f[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(dw, _mm512_set1_ps(d[t * nb + b])), f[g][t]);
            }
        }
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) store512(y + t * ldy + 16 * g, f[g][t], validRows - 16 * g);
}

CK_AVX512 static void matmul512(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                const int8_t *q, const float *d, const int32_t *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 32, gb = ck_group_block_bytes(type), pb = nb * 4 * gb;
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *panel = packed + p * pb;
#define TILE(T0, NT)                                                                                                   \
    do {                                                                                                               \
        if (type == CK_Q8_0)                                                                                           \
            tile512(CK_Q8_0, panel, gb, nb, q + (T0) * cols, cols, d + (T0) * nb, sum + (T0) * nb, NT,                 \
                    y + (T0) * ldy + 64 * p, ldy, rows - 64 * p);                                                      \
        else                                                                                                           \
            tile512(CK_Q4_0, panel, gb, nb, q + (T0) * cols, cols, d + (T0) * nb, sum + (T0) * nb, NT,                 \
                    y + (T0) * ldy + 64 * p, ldy, rows - 64 * p);                                                      \
    } while (0)
        TILES(8, TILE);
#undef TILE
    }
}

// MARK: AVX2 (no VNNI): the same panels read as two 8-row halves (bytes 0–31: rows 0–7, 32–63: rows 8–15).

// The weights of one block and 8-row half, prepared once for every token. Q8_0: the signed weights v = u ^ 0x80 and
// |v| (the sign trick: maddubs(|v|, sign(a, v)) = v·a in pairs, |v| ≤ 128 read as u8). Q4_0: the two nibble planes
// of each vector, values 8s..8s+3 (w[2s]) and 8s+4..8s+7 (w[2s+1]).
INLINE CK_AVX2 void load256(int type, const uint8_t *v, int h, __m256i *w, __m256i *wabs) {
    if (type == CK_Q8_0) {
        const __m256i flip = _mm256_set1_epi8((char)0x80);
        for (int s = 0; s < 8; s++) {
            w[s] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(v + 64 * s + 32 * h)), flip);
            wabs[s] = _mm256_sign_epi8(w[s], w[s]);
        }
    } else {
        const __m256i m = _mm256_set1_epi8(0x0F);
        for (int s = 0; s < 4; s++) {
            const __m256i x = _mm256_loadu_si256((const __m256i *)(v + 64 * s + 32 * h));
            w[2 * s] = _mm256_and_si256(x, m);
            w[2 * s + 1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m);
        }
    }
}

// Σ for one block, one 8-row half, one token, from init. Q8_0: |w| ≤ 128 and |a| ≤ 127 keep maddubs's pair sums
// below 2^15. Q4_0: maddubs(u4, a) pairs ≤ 3810, all 8 added in 16 bits (≤ 30480 < 2^15), then one madd.
INLINE CK_AVX2 __m256i isum256(int type, const __m256i *w, const __m256i *wabs, const int8_t *a, int32_t init) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_set1_epi32(init);
    if (type == CK_Q8_0) {
        for (int s = 0; s < 8; s++) {
            const __m256i p = _mm256_maddubs_epi16(wabs[s], _mm256_sign_epi8(_mm256_set1_epi32(word(a + 4 * s)), w[s]));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
        }
    } else {
        __m256i p[4];
        for (int s = 0; s < 4; s++)
            p[s] = _mm256_add_epi16(_mm256_maddubs_epi16(w[2 * s], _mm256_set1_epi32(word(a + 8 * s))),
                                    _mm256_maddubs_epi16(w[2 * s + 1], _mm256_set1_epi32(word(a + 8 * s + 4))));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_add_epi16(_mm256_add_epi16(p[0], p[1]), _mm256_add_epi16(p[2], p[3])), ones));
    }
    return acc;
}

INLINE CK_AVX2 void store256(float *y, __m256 f, int64_t valid) {
    if (valid >= 8) { _mm256_storeu_ps(y, f); return; }
    float tmp[8];
    _mm256_storeu_ps(tmp, f);
    for (int64_t i = 0; i < valid; i++) y[i] = tmp[i];
}

// nt ≤ 4 tokens × one 64-row panel, its 8 halves per block in order (a group's second half comes from L1);
// f = fma(isum, d_w·d_a, f). One token is the decode: the panel as one stream, 8 chains in flight.
INLINE CK_AVX2 void tile256(int type, const uint8_t *panel, int64_t gb, int64_t nb, const int8_t *q, int64_t cols,
                            const float *d, const int32_t *sum, int nt, float *y, int64_t ldy, int64_t validRows) {
    const int32_t c = type == CK_Q8_0 ? 0 : -8;
    const int nh = validRows >= 64 ? 8 : (int)((validRows + 7) / 8);  // halves holding real rows
    __m256 f[8][4];
    for (int gh = 0; gh < 8; gh++)
        for (int t = 0; t < nt; t++) f[gh][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++)
        for (int gh = 0; gh < nh; gh++) {
            const uint8_t *blk = panel + (b * 4 + gh / 2) * gb;
            const int h = gh % 2;
            if (nt >= PF256 && h == 0) ahead(blk + PF_BYTES, gb);
            __m256i w[8], wabs[8];
            load256(type, blk + 32, h, w, wabs);
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
            for (int t = 0; t < nt; t++) {
                const __m256i is = isum256(type, w, wabs, q + t * cols + 32 * b, c * sum[t * nb + b]);
                f[gh][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(dw, _mm256_set1_ps(d[t * nb + b])), f[gh][t]);
            }
        }
    for (int gh = 0; gh < nh; gh++)
        for (int t = 0; t < nt; t++) store256(y + t * ldy + 8 * gh, f[gh][t], validRows - 8 * gh);
}

CK_AVX2 static void matmul256(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                              const int8_t *q, const float *d, const int32_t *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 32, gb = ck_group_block_bytes(type), pb = nb * 4 * gb;
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *panel = packed + p * pb;
#define TILE(T0, NT)                                                                                                   \
    do {                                                                                                               \
        if (type == CK_Q8_0)                                                                                           \
            tile256(CK_Q8_0, panel, gb, nb, q + (T0) * cols, cols, d + (T0) * nb, sum + (T0) * nb, NT,                 \
                    y + (T0) * ldy + 64 * p, ldy, rows - 64 * p);                                                      \
        else                                                                                                           \
            tile256(CK_Q4_0, panel, gb, nb, q + (T0) * cols, cols, d + (T0) * nb, sum + (T0) * nb, NT,                 \
                    y + (T0) * ldy + 64 * p, ldy, rows - 64 * p);                                                      \
    } while (0)
        TILES(4, TILE);
#undef TILE
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
