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
#include <immintrin.h>
#include <string.h>

#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

enum { GB = 2880, SB = 176 };

static inline uint16_t u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline int32_t word(const int8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

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

// The packed mins paired for vpmaddwd: (bsum[4p] + bsum[4p+1]) in the low and (bsum[4p+2] + bsum[4p+3]) in the high
// 16 bits (each sum of 32 values ≤ 4064 fits).
static inline int32_t bsum_pair(const int16_t *b16, int p) {
    const int32_t lo = b16[4 * p] + b16[4 * p + 1], hi = b16[4 * p + 2] + b16[4 * p + 3];
    return (int32_t)((uint32_t)(lo & 0xFFFF) | ((uint32_t)hi << 16));
}

// MARK: AVX-512 VNNI

// The 8 k-step vectors of sub-block j (vpternlogd 0xF8 = a | (b & c) merges bit 4).
INLINE CK_AVX512 void unpack512(const uint8_t *sub, __m512i *w) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m10 = _mm512_set1_epi8(0x10);
    const __m512i hv = _mm512_loadu_si512(sub + 256);
    for (int s = 0; s < 4; s++) {
        const __m512i x = _mm512_loadu_si512(sub + 64 * s);
        w[2 * s] = _mm512_and_si512(x, m4);
        w[2 * s + 1] = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
    }
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

// One (super-block, group) for nt tokens: token t's activations at q + t·cols, scale d[t·nb], bsums bs + t·cols/16.
INLINE CK_AVX512 void q5k512(const uint8_t *blk, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                             const int16_t *bs, int nt, __m512 *f) {
    __m512i isum[6];
    for (int t = 0; t < nt; t++) isum[t] = _mm512_setzero_si512();
    for (int j = 0; j < 8; j++) {
        const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + 64 + 16 * j)));
        __m512i w[8];
        unpack512(blk + 320 + 320 * j, w);
        for (int t = 0; t < nt; t++)
            isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dots512(w, q + t * cols + 32 * j), sc));
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
    const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32)));
    __m512i mn[4];
    for (int p = 0; p < 4; p++) mn[p] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(blk + 192 + 32 * p)));
    for (int t = 0; t < nt; t++) {
        const int16_t *b16 = bs + t * (cols / 16);
        __m512i im = _mm512_setzero_si512();
        for (int p = 0; p < 4; p++) im = _mm512_add_epi32(im, _mm512_madd_epi16(mn[p], _mm512_set1_epi32(bsum_pair(b16, p))));
        const __m512 da = _mm512_set1_ps(d[t * nb]);
        f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, da), f[t]);
        f[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(im), _mm512_mul_ps(dm, da), f[t]);
    }
}

INLINE CK_AVX512 void store512(float *y, __m512 f, int64_t valid) {
    if (valid >= 16) _mm512_storeu_ps(y, f);
    else if (valid > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << valid) - 1), f);
}

// One 64-row panel: decode streams it with four groups in flight; batches take a group at a time, 6-token tiles.
CK_AVX512 static void panel512(const uint8_t *panel, int64_t rows, int64_t row0, int64_t cols, const int8_t *q,
                               const float *d, const int16_t *bs, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
    if (n == 1) {
        __m512 f[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t b = 0; b < nb; b++)
            for (int g = 0; g < 4; g++) q5k512(panel + (b * 4 + g) * GB, q + 256 * b, cols, d + b, nb, bs + 16 * b, 1, &f[g]);
        for (int g = 0; g < 4; g++) store512(y + row0 + 16 * g, f[g], rows - row0 - 16 * g);
        return;
    }
    for (int g = 0; g < 4; g++) {
        if (rows - row0 - 16 * g <= 0) break;
        for (int64_t t0 = 0; t0 < n; t0 += 6) {
            const int nt = (int)(n - t0 < 6 ? n - t0 : 6);
            __m512 f[6];
            for (int t = 0; t < 6; t++) f[t] = _mm512_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = panel + (b * 4 + g) * GB;
                const int8_t *qq = q + t0 * cols + 256 * b;
                const float *dd = d + t0 * nb + b;
                const int16_t *bb = bs + t0 * (cols / 16) + 16 * b;
                switch (nt) {
                case 1: q5k512(blk, qq, cols, dd, nb, bb, 1, f); break;
                case 2: q5k512(blk, qq, cols, dd, nb, bb, 2, f); break;
                case 3: q5k512(blk, qq, cols, dd, nb, bb, 3, f); break;
                case 4: q5k512(blk, qq, cols, dd, nb, bb, 4, f); break;
                case 5: q5k512(blk, qq, cols, dd, nb, bb, 5, f); break;
                default: q5k512(blk, qq, cols, dd, nb, bb, 6, f); break;
                }
            }
            for (int t = 0; t < nt; t++) store512(y + (t0 + t) * ldy + row0 + 16 * g, f[t], rows - row0 - 16 * g);
        }
    }
}

// MARK: AVX2: each 64-byte vector as two 8-row halves (bytes 32h..32h+31); maddubs pairs ≤ 2·31·127, two planes
// added in 16 bits ≤ 15748 < 2^15.

INLINE CK_AVX2 void unpack256(const uint8_t *sub, int h, __m256i *w) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m10 = _mm256_set1_epi8(0x10);
    const __m256i hv = _mm256_loadu_si256((const __m256i *)(sub + 256 + 32 * h));
    for (int s = 0; s < 4; s++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(sub + 64 * s + 32 * h));
        w[2 * s] = _mm256_and_si256(x, m4);
        w[2 * s + 1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
    }
    w[0] = _mm256_or_si256(w[0], _mm256_and_si256(_mm256_slli_epi16(hv, 4), m10));
    w[1] = _mm256_or_si256(w[1], _mm256_and_si256(_mm256_slli_epi16(hv, 3), m10));
    w[2] = _mm256_or_si256(w[2], _mm256_and_si256(_mm256_slli_epi16(hv, 2), m10));
    w[3] = _mm256_or_si256(w[3], _mm256_and_si256(_mm256_slli_epi16(hv, 1), m10));
    w[4] = _mm256_or_si256(w[4], _mm256_and_si256(hv, m10));
    w[5] = _mm256_or_si256(w[5], _mm256_and_si256(_mm256_srli_epi16(hv, 1), m10));
    w[6] = _mm256_or_si256(w[6], _mm256_and_si256(_mm256_srli_epi16(hv, 2), m10));
    w[7] = _mm256_or_si256(w[7], _mm256_and_si256(_mm256_srli_epi16(hv, 3), m10));
}

INLINE CK_AVX2 __m256i pairdot256(__m256i w0, __m256i w1, const int8_t *a) {
    const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(w0, _mm256_set1_epi32(word(a))),
                                       _mm256_maddubs_epi16(w1, _mm256_set1_epi32(word(a + 4))));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

INLINE CK_AVX2 void q5k256(const uint8_t *blk, int h, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                           const int16_t *bs, int nt, __m256 *f) {
    __m256i isum[4];
    for (int t = 0; t < nt; t++) isum[t] = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++) {
        const __m256i sc = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 64 + 16 * j + 8 * h)));
        __m256i w[8];
        unpack256(blk + 320 + 320 * j, h, w);
        for (int t = 0; t < nt; t++) {
            const int8_t *a = q + t * cols + 32 * j;
            __m256i s = _mm256_add_epi32(_mm256_add_epi32(pairdot256(w[0], w[1], a), pairdot256(w[2], w[3], a + 8)),
                                         _mm256_add_epi32(pairdot256(w[4], w[5], a + 16), pairdot256(w[6], w[7], a + 24)));
            isum[t] = _mm256_add_epi32(isum[t], _mm256_mullo_epi32(s, sc));
        }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
    const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 32 + 16 * h)));
    for (int t = 0; t < nt; t++) {
        const int16_t *b16 = bs + t * (cols / 16);
        __m256i im = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) {
            const __m256i mn = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192 + 32 * p + 16 * h)));
            im = _mm256_add_epi32(im, _mm256_madd_epi16(mn, _mm256_set1_epi32(bsum_pair(b16, p))));
        }
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

CK_AVX2 static void panel256(const uint8_t *panel, int64_t rows, int64_t row0, int64_t cols, const int8_t *q,
                             const float *d, const int16_t *bs, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
    if (n == 1) {  // decode: the panel as one stream, eight halves in flight
        __m256 f[8];
        for (int i = 0; i < 8; i++) f[i] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++)
            for (int gh = 0; gh < 8; gh++)
                q5k256(panel + (b * 4 + gh / 2) * GB, gh % 2, q + 256 * b, cols, d + b, nb, bs + 16 * b, 1, &f[gh]);
        for (int i = 0; i < 8; i++) store256(y + row0 + 8 * i, f[i], rows - row0 - 8 * i);
        return;
    }
    for (int gh = 0; gh < 8; gh++) {
        const int g = gh / 2, h = gh % 2;
        if (rows - row0 - 8 * gh <= 0) break;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const int nt = (int)(n - t0 < 4 ? n - t0 : 4);
            __m256 f[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = panel + (b * 4 + g) * GB;
                const int8_t *qq = q + t0 * cols + 256 * b;
                const float *dd = d + t0 * nb + b;
                const int16_t *bb = bs + t0 * (cols / 16) + 16 * b;
                switch (nt) {
                case 1: q5k256(blk, h, qq, cols, dd, nb, bb, 1, f); break;
                case 2: q5k256(blk, h, qq, cols, dd, nb, bb, 2, f); break;
                case 3: q5k256(blk, h, qq, cols, dd, nb, bb, 3, f); break;
                default: q5k256(blk, h, qq, cols, dd, nb, bb, 4, f); break;
                }
            }
            for (int t = 0; t < nt; t++) store256(y + (t0 + t) * ldy + row0 + 8 * gh, f[t], rows - row0 - 8 * gh);
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
