// Q5_K panels with Q8_K activations: repacking, kernels per ISA level, and the scalar reference (Q4_K's scheme,
// kquants.c, plus a fifth bit). A (super-block of 256 values, 16-row group) of the packed layout (2880 B; the source
// holds 16 × 176 = 2816):
//   d[16] f16 @0, dmin[16] f16 @32, sc u8[8][16] @64 (6-bit scales unpacked), mn u8[4][16][2] @192 (mins of
//   sub-blocks 2p and 2p+1 side by side, for vpmaddwd), then per sub-block j (32 values) 320 B @320 + 320j, read as
//   one stream: 4 nibble vectors, byte 4r + i of vector s = lo4(u[r][32j + 8s + i]) | lo4(u[r][32j + 8s + 4 + i]) << 4,
//   then one high-bit vector, byte 4r + i bit e = bit 4 of u[r][32j + 4e + i]  (u = the 5-bit quant, 0–31).
// W = d·sc_j·u − dmin·mn_j; per row isum = Σ_j sc_j·Σ u·a, imin = Σ_j mn_j·(bsum[2j] + bsum[2j+1]);
//   f = fma(isum, d·d_a, f); f = fma(imin, −(dmin·d_a), f)  (llama.cpp's ggml_vec_dot_q5_K_q8_K integers).
#include "ckernels.h"
#include "kernels_internal.h"
#include <immintrin.h>
#include <string.h>

enum { GB = 2880, SB = 176 };

// MARK: source blocks (ggml-quants.c: f16 d, f16 dmin, scales[12] as get_scale_min_k4, qh[32], qs[128];
// dequantize_row_q5_K's order: sub-blocks 2c and 2c+1 are the low and high nibbles of qs[32c..32c+31], with qh bits
// 2c and 2c+1)

static void q5k_unpack(const uint8_t *blk, uint8_t u[256], uint8_t sc[8], uint8_t mn[8]) {
    const uint8_t *s = blk + 4, *qh = blk + 16, *qs = blk + 48;
    for (int j = 0; j < 8; j++) {
        if (j < 4) { sc[j] = s[j] & 63; mn[j] = s[j + 4] & 63; }
        else { sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4); mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4); }
    }
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            u[64 * c + l] = (uint8_t)((qs[32 * c + l] & 0xF) | (((qh[l] >> (2 * c)) & 1) << 4));
            u[64 * c + 32 + l] = (uint8_t)((qs[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4));
        }
}

void ck_repack_q5k(const void *src, int64_t rows, int64_t cols, void *dst, int64_t p0, int64_t p1) {
    const int64_t nb = cols / 256;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t b = 0; b < nb; b++)
            for (int g = 0; g < 4; g++) {
                uint8_t *out = (uint8_t *)dst + ((p * nb + b) * 4 + g) * GB;
                memset(out, 0, GB);  // padding rows: zero scales, zero values
                for (int r = 0; r < 16; r++) {
                    const int64_t row = 64 * p + 16 * g + r;
                    if (row >= rows) continue;
                    const uint8_t *blk = (const uint8_t *)src + (row * nb + b) * SB;
                    uint8_t u[256], sc[8], mn[8];
                    q5k_unpack(blk, u, sc, mn);
                    memcpy(out + 2 * r, blk, 2);
                    memcpy(out + 32 + 2 * r, blk + 2, 2);
                    for (int j = 0; j < 8; j++) {
                        out[64 + 16 * j + r] = sc[j];
                        out[192 + 32 * (j / 2) + 2 * r + (j & 1)] = mn[j];
                    }
                    for (int j = 0; j < 8; j++) {
                        uint8_t *sub = out + 320 + 320 * j;
                        for (int i = 0; i < 4; i++) {
                            for (int s = 0; s < 4; s++)
                                sub[64 * s + 4 * r + i] =
                                    (uint8_t)((u[32 * j + 8 * s + i] & 0xF) | ((u[32 * j + 8 * s + 4 + i] & 0xF) << 4));
                            uint8_t bits = 0;
                            for (int e = 0; e < 8; e++) bits |= (uint8_t)(((u[32 * j + 4 * e + i] >> 4) & 1) << e);
                            sub[256 + 4 * r + i] = bits;
                        }
                    }
                }
            }
}

// The definition (integer sums as ggml, then the two float steps per super-block).
void ck_matmul_reference_q5k(const void *src, int64_t rows, int64_t cols, const int8_t *q, const float *d,
                             const int16_t *bsum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
    for (int64_t t = 0; t < n; t++)
        for (int64_t r = 0; r < rows; r++) {
            float f = 0;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = (const uint8_t *)src + (r * nb + b) * SB;
                const int8_t *a = q + t * cols + 256 * b;
                const int16_t *bs = bsum + t * (cols / 16) + 16 * b;
                const float da = d[t * nb + b];
                uint8_t w[256], sc[8], mn[8];
                q5k_unpack(blk, w, sc, mn);
                int32_t isum = 0, imin = 0;
                for (int j = 0; j < 8; j++) {
                    int32_t s = 0;
                    for (int l = 0; l < 32; l++) s += w[32 * j + l] * a[32 * j + l];
                    isum += sc[j] * s;
                    imin += mn[j] * (bs[2 * j] + bs[2 * j + 1]);
                }
                f = __builtin_fmaf((float)isum, ck_fp16_to_fp32(u16(blk)) * da, f);
                f = __builtin_fmaf((float)imin, -(ck_fp16_to_fp32(u16(blk + 2)) * da), f);
            }
            y[t * ldy + r] = f;
        }
}

// The packed mins paired for vpmaddwd, per token of a tile, once per super-block (the groups and halves share them):
// x[t][p] = (bsum[4p] + bsum[4p+1]) in the low and (bsum[4p+2] + bsum[4p+3]) in the high 16 bits (each sum of 32
// values ≤ 4064 fits).
static inline void bsum_pairs(const int16_t *bs, int64_t cols, int nt, int32_t x[][4]) {
    for (int t = 0; t < nt; t++)
        for (int p = 0; p < 4; p++) {
            const int16_t *b16 = bs + t * (cols / 16);
            const int32_t lo = b16[4 * p] + b16[4 * p + 1], hi = b16[4 * p + 2] + b16[4 * p + 3];
            x[t][p] = (int32_t)((uint32_t)(lo & 0xFFFF) | ((uint32_t)hi << 16));
        }
}

// Compute-bound tiles (AVX-512 from 4 tokens, AVX2 from 3) prefetch the panel stream PF_BYTES ahead into L2, a slice
// per sub-block, so that the DRAM stall at each new 4 KiB page (where the hardware prefetchers stop) stays hidden;
// memory-bound tiles leave it to the hardware (kquants.c has the measurements). The loads of each sub-block follow
// the stored order too (nibbles, then the high bits): loading the high-bit vector first cost a third of the DRAM rate
// (AVX2 decode 19 → 30 GB/s, AVX-512 3 tokens 17 → 30).
enum { PF_TOKENS = 4, PF_TOKENS256 = 3, PF_BYTES = 12288 };

// MARK: AVX-512 VNNI

// The 8 k-step vectors of sub-block j (vpternlogd 0xF8 = a | (b & c) merges bit 4).
INLINE CK_AVX512 void unpack512(const uint8_t *sub, __m512i *w) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m10 = _mm512_set1_epi8(0x10);
    for (int s = 0; s < 4; s++) {
        const __m512i x = _mm512_loadu_si512(sub + 64 * s);
        w[2 * s] = _mm512_and_si512(x, m4);
        w[2 * s + 1] = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
    }
    const __m512i hv = _mm512_loadu_si512(sub + 256);  // after the nibbles, as stored (see PF_BYTES)
    w[0] = _mm512_ternarylogic_epi32(w[0], _mm512_slli_epi16(hv, 4), m10, 0xF8);
    w[1] = _mm512_ternarylogic_epi32(w[1], _mm512_slli_epi16(hv, 3), m10, 0xF8);
    w[2] = _mm512_ternarylogic_epi32(w[2], _mm512_slli_epi16(hv, 2), m10, 0xF8);
    w[3] = _mm512_ternarylogic_epi32(w[3], _mm512_slli_epi16(hv, 1), m10, 0xF8);
    w[4] = _mm512_ternarylogic_epi32(w[4], hv, m10, 0xF8);
    w[5] = _mm512_ternarylogic_epi32(w[5], _mm512_srli_epi16(hv, 1), m10, 0xF8);
    w[6] = _mm512_ternarylogic_epi32(w[6], _mm512_srli_epi16(hv, 2), m10, 0xF8);
    w[7] = _mm512_ternarylogic_epi32(w[7], _mm512_srli_epi16(hv, 3), m10, 0xF8);
}

// Σ u·a over one sub-block for one token: 8 vpdpbusd on two chains.
INLINE CK_AVX512 __m512i dots512(const __m512i *w, const int8_t *a) {
    __m512i i0 = _mm512_setzero_si512(), i1 = _mm512_setzero_si512();
    for (int s = 0; s < 8; s += 2) {
        i0 = _mm512_dpbusd_epi32(i0, w[s], _mm512_set1_epi32(word(a + 4 * s)));
        i1 = _mm512_dpbusd_epi32(i1, w[s + 1], _mm512_set1_epi32(word(a + 4 * s + 4)));
    }
    return _mm512_add_epi32(i0, i1);
}

// One (super-block, group) for nt tokens: token t's activations at q + t·cols, scale d[t·nb], bsum pairs x[t].
// isum = Σ_j sc_j·Σ u·a, imin = Σ_j mn_j·(bsum[2j] + bsum[2j+1]); f = fma(isum, d·d_a, f); f = fma(imin, −dmin·d_a, f).
INLINE CK_AVX512 void q5k512(const uint8_t *blk, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                             const int32_t x[][4], int nt, __m512 *f) {
    __m512i isum[8];
    for (int t = 0; t < nt; t++) isum[t] = _mm512_setzero_si512();
    for (int j = 0; j < 8; j++) {
        const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + 64 + 16 * j)));
        __m512i w[8];
        unpack512(blk + 320 + 320 * j, w);
        if (nt >= PF_TOKENS) ahead(blk + PF_BYTES + 360 * j, 360);  // 8 × 360 = the group's 2880 bytes
        for (int t = 0; t < nt; t++)
            isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dots512(w, q + t * cols + 32 * j), sc));
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
    const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32)));
    __m512i mn[4];
    for (int p = 0; p < 4; p++) mn[p] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(blk + 192 + 32 * p)));
    for (int t = 0; t < nt; t++) {
        __m512i im = _mm512_setzero_si512();
        for (int p = 0; p < 4; p++) im = _mm512_add_epi32(im, _mm512_madd_epi16(mn[p], _mm512_set1_epi32(x[t][p])));
        const __m512 da = _mm512_set1_ps(d[t * nb]);
        f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, da), f[t]);
        f[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(im), _mm512_mul_ps(dm, da), f[t]);
    }
}

INLINE CK_AVX512 void store512(float *y, __m512 f, int64_t valid) {
    if (valid >= 16) _mm512_storeu_ps(y, f);
    else if (valid > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << valid) - 1), f);
}

// One tile of nt ≤ 8 tokens on one 64-row panel, the panel read as one stream: super-block by super-block, in each its
// 4 groups in order (group by group down the panel is four strided streams: 9–10 GB/s per core from DRAM at 2–4
// tokens); the 4 × nt accumulators stay in registers or L1.
INLINE CK_AVX512 void tile512(const uint8_t *panel, int64_t rows, int64_t row0, int64_t cols, const int8_t *q,
                              const float *d, const int16_t *bs, int nt, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
    __m512 f[4][8];
    int32_t x[8][4];
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) f[g][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        bsum_pairs(bs + 16 * b, cols, nt, x);
        for (int g = 0; g < 4; g++) q5k512(panel + (b * 4 + g) * GB, q + 256 * b, cols, d + b, nb, x, nt, f[g]);
    }
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) store512(y + t * ldy + row0 + 16 * g, f[g][t], rows - row0 - 16 * g);
}

// Balanced tiles of at most 8 tokens (n = 9 → 5 + 4); a batch re-reads the panel per tile, from L2 after the first.
CK_AVX512 static void panel512(const uint8_t *panel, int64_t rows, int64_t row0, int64_t cols, const int8_t *q,
                               const float *d, const int16_t *bs, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
#define QTILE(T0, NT) tile512(panel, rows, row0, cols, q + (T0) * cols, d + (T0) * nb, bs + (T0) * (cols / 16), NT, y + (T0) * ldy, ldy)
    TILES(8, QTILE);
#undef QTILE
}

// MARK: AVX2: each 64-byte vector as two 8-row halves (bytes 32h..32h+31). vpmaddubsw gives per row two int16 sums of
// two products each (≤ 2·31·128); four k-steps are added in 16 bits (≤ 31744 < 2^15), then one vpmaddwd against the
// scale duplicated in both int16 halves of the row's lane gives sc·Σ u·a over 16 values in int32 (kquants.c's Q4_K
// scheme, in two halves per sub-block for the fifth bit) — the same integers as the reference.

INLINE CK_AVX2 void unpack256(const uint8_t *sub, int h, __m256i *w) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m10 = _mm256_set1_epi8(0x10);
    for (int s = 0; s < 4; s++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(sub + 64 * s + 32 * h));
        w[2 * s] = _mm256_and_si256(x, m4);
        w[2 * s + 1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
    }
    const __m256i hv = _mm256_loadu_si256((const __m256i *)(sub + 256 + 32 * h));  // after the nibbles, as stored
    w[0] = _mm256_or_si256(w[0], _mm256_and_si256(_mm256_slli_epi16(hv, 4), m10));
    w[1] = _mm256_or_si256(w[1], _mm256_and_si256(_mm256_slli_epi16(hv, 3), m10));
    w[2] = _mm256_or_si256(w[2], _mm256_and_si256(_mm256_slli_epi16(hv, 2), m10));
    w[3] = _mm256_or_si256(w[3], _mm256_and_si256(_mm256_slli_epi16(hv, 1), m10));
    w[4] = _mm256_or_si256(w[4], _mm256_and_si256(hv, m10));
    w[5] = _mm256_or_si256(w[5], _mm256_and_si256(_mm256_srli_epi16(hv, 1), m10));
    w[6] = _mm256_or_si256(w[6], _mm256_and_si256(_mm256_srli_epi16(hv, 2), m10));
    w[7] = _mm256_or_si256(w[7], _mm256_and_si256(_mm256_srli_epi16(hv, 3), m10));
}

// Σ_{s<4} maddubs(w[s], a[4s..4s+3]) per row in int16 (16 values).
INLINE CK_AVX2 __m256i dots16(const __m256i *w, const int8_t *a) {
    const __m256i p0 = _mm256_add_epi16(_mm256_maddubs_epi16(w[0], _mm256_set1_epi32(word(a))),
                                        _mm256_maddubs_epi16(w[1], _mm256_set1_epi32(word(a + 4))));
    const __m256i p1 = _mm256_add_epi16(_mm256_maddubs_epi16(w[2], _mm256_set1_epi32(word(a + 8))),
                                        _mm256_maddubs_epi16(w[3], _mm256_set1_epi32(word(a + 12))));
    return _mm256_add_epi16(p0, p1);
}

// isum = Σ_j sc_j·Σ u·a and imin = Σ_j mn_j·(bsum[2j] + bsum[2j+1]) for the 8 rows of half h, then the two fmas.
INLINE CK_AVX2 void q5k256(const uint8_t *blk, int h, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                           const int32_t x[][4], int nt, __m256 *f) {
    // byte r of the 8 scales → int16 (sc, sc) in row r's lane (0x80 lanes of pshufb give 0: u8 zero-extends)
    const __m256i dup = _mm256_setr_epi8(0, -128, 0, -128, 1, -128, 1, -128, 2, -128, 2, -128, 3, -128, 3, -128,
                                         4, -128, 4, -128, 5, -128, 5, -128, 6, -128, 6, -128, 7, -128, 7, -128);
    __m256i isum[4];
    for (int t = 0; t < nt; t++) isum[t] = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++) {
        int64_t s8;
        memcpy(&s8, blk + 64 + 16 * j + 8 * h, 8);
        const __m256i sc = _mm256_shuffle_epi8(_mm256_set1_epi64x(s8), dup);
        __m256i w[8];
        unpack256(blk + 320 + 320 * j, h, w);
        if (nt >= PF_TOKENS256 && h == 0) ahead(blk + PF_BYTES + 360 * j, 360);
        for (int t = 0; t < nt; t++) {
            const int8_t *a = q + t * cols + 32 * j;
            isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(dots16(w, a), sc),
                                                                 _mm256_madd_epi16(dots16(w + 4, a + 16), sc)));
        }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
    const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 32 + 16 * h)));
    __m256i mn[4];
    for (int p = 0; p < 4; p++) mn[p] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192 + 32 * p + 16 * h)));
    for (int t = 0; t < nt; t++) {
        __m256i im = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) im = _mm256_add_epi32(im, _mm256_madd_epi16(mn[p], _mm256_set1_epi32(x[t][p])));
        const __m256 da = _mm256_set1_ps(d[t * nb]);
        f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, da), f[t]);
        f[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(im), _mm256_mul_ps(dm, da), f[t]);
    }
}

INLINE CK_AVX2 void store256(float *y, __m256 f, int64_t valid) {
    if (valid >= 8) { _mm256_storeu_ps(y, f); return; }
    float tmp[8];
    _mm256_storeu_ps(tmp, f);
    for (int64_t i = 0; i < valid; i++) y[i] = tmp[i];
}

// One tile of nt ≤ 4 tokens on one 64-row panel, read as one stream: super-block by super-block and in each its 8
// halves in order (a group's second half comes from L1); the 8 × nt accumulators live in memory (kquants.c's ktile256).
INLINE CK_AVX2 void tile256(const uint8_t *panel, int64_t rows, int64_t row0, int64_t cols, const int8_t *q,
                            const float *d, const int16_t *bs, int nt, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
    const int nh = rows - row0 >= 64 ? 8 : (int)((rows - row0 + 7) / 8);  // halves holding real rows
    __m256 f[8][4];
    int32_t x[4][4];
    for (int gh = 0; gh < 8; gh++)
        for (int t = 0; t < 4; t++) f[gh][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        bsum_pairs(bs + 16 * b, cols, nt, x);
        for (int gh = 0; gh < nh; gh++)
            q5k256(panel + (b * 4 + gh / 2) * GB, gh % 2, q + 256 * b, cols, d + b, nb, x, nt, f[gh]);
    }
    for (int gh = 0; gh < nh; gh++)
        for (int t = 0; t < nt; t++) store256(y + t * ldy + row0 + 8 * gh, f[gh][t], rows - row0 - 8 * gh);
}

// Tiles of 4 tokens (the rest last); a batch re-reads the panel per tile, from L2 after the first.
CK_AVX2 static void panel256(const uint8_t *panel, int64_t rows, int64_t row0, int64_t cols, const int8_t *q,
                             const float *d, const int16_t *bs, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
    for (int64_t t0 = 0; t0 < n; t0 += 4) {
        const int8_t *qq = q + t0 * cols;
        const float *dd = d + t0 * nb;
        const int16_t *bb = bs + t0 * (cols / 16);
        float *yy = y + t0 * ldy;
        switch (n - t0) {
        case 1: tile256(panel, rows, row0, cols, qq, dd, bb, 1, yy, ldy); break;
        case 2: tile256(panel, rows, row0, cols, qq, dd, bb, 2, yy, ldy); break;
        case 3: tile256(panel, rows, row0, cols, qq, dd, bb, 3, yy, ldy); break;
        default: tile256(panel, rows, row0, cols, qq, dd, bb, 4, yy, ldy); break;
        }
    }
}

// y = W·a for Q5_K panels [p0, p1) with Q8_K activations (bsum: n × cols/16 int16).
void ck_matmul_q5k(const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                   const int8_t *q, const float *d, const int16_t *bsum, int64_t n, float *y, int64_t ldy) {
    const int64_t pb = cols / 256 * 4 * GB;
    const int avx512 = ck_isa() >= CK_ISA_AVX512;
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *panel = (const uint8_t *)packed + p * pb;
        if (avx512) panel512(panel, rows, 64 * p, cols, q, d, bsum, n, y, ldy);
        else panel256(panel, rows, 64 * p, cols, q, d, bsum, n, y, ldy);
    }
}
