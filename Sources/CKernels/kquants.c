// K-quant panels (Q4_K, Q6_K) with Q8_K activations: repacking, kernels per ISA level, and the scalar reference.
// A (super-block of 256 values, 16-row group) of the packed layout:
//
// Q4_K (2368 B; the source holds 16 × 144 = 2304): d[16] f16 @0, dmin[16] f16 @32, sc u8[8][16] @64 (6-bit scales
//   unpacked), mn u8[4][16][2] @192 (mins of sub-blocks 2p and 2p+1 side by side, for vpmaddwd), then for sub-block
//   j (32 values) 4 vectors @320 + 64(4j + s): byte 4r + i = q[r][32j + 8s + i] | q[r][32j + 8s + 4 + i] << 4.
//   W = d·sc_j·q − dmin·mn_j; per row isum = Σ_j sc_j·Σ q·a, imin = Σ_j mn_j·(bsum[2j] + bsum[2j+1]);
//   f = fma(isum, d·d_a, f); f = fma(imin, −(dmin·d_a), f)  (llama.cpp's ggml_vec_dot_q4_K_q8_K integers).
// Q6_K (3360 B, the same as the source): d[16] f16 @0, sc s8[16][16] @32, then per sub-block j (16 values) 192 B
//   @288 + 192j, read as one stream: two low-nibble vectors (e = 0, 1) byte 4r + i = lo4(u[r][16j + 8e + i]) |
//   lo4(u[r][16j + 8e + 4 + i]) << 4, then one high-bit vector whose byte 4r + i holds bits 2m..2m+1 =
//   hi2(u[r][16j + 4m + i]); u = q + 32 in 0..63. (Separate nibble and high-bit planes, three streams per block,
//   read at 11 GB/s per core from DRAM against 29 for this order.) Per row isum = Σ_j sc_j·(Σ u·a − 32·bsum_j) over the
//   16 sub-blocks of 16, f = fma(isum, d·d_a, f).
#include "ckernels.h"
#include "kernels_internal.h"
#include <immintrin.h>
#include <string.h>

// MARK: unpacking the source blocks (ggml-quants.c's get_scale_min_k4 and dequantize_row_q6_K orders)

static void q4k_unpack(const uint8_t *blk, uint8_t q[256], uint8_t sc[8], uint8_t mn[8]) {
    const uint8_t *s = blk + 4, *qs = blk + 16;
    for (int j = 0; j < 8; j++) {
        if (j < 4) { sc[j] = s[j] & 63; mn[j] = s[j + 4] & 63; }
        else { sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4); mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4); }
    }
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) { q[64 * c + l] = qs[32 * c + l] & 0xF; q[64 * c + 32 + l] = qs[32 * c + l] >> 4; }
}

static void q6k_unpack(const uint8_t *blk, uint8_t u[256]) {
    const uint8_t *ql = blk, *qh = blk + 128;
    for (int n = 0; n < 2; n++)
        for (int l = 0; l < 32; l++) {
            const uint8_t h = qh[32 * n + l];
            u[128 * n + l] = (ql[64 * n + l] & 0xF) | ((h & 3) << 4);
            u[128 * n + l + 32] = (ql[64 * n + l + 32] & 0xF) | (((h >> 2) & 3) << 4);
            u[128 * n + l + 64] = (ql[64 * n + l] >> 4) | (((h >> 4) & 3) << 4);
            u[128 * n + l + 96] = (ql[64 * n + l + 32] >> 4) | (((h >> 6) & 3) << 4);
        }
}

void ck_repack_k(int type, const void *src, int64_t rows, int64_t cols, void *dst, int64_t p0, int64_t p1) {
    const int64_t nb = cols / 256, sb = type == CK_Q4_K ? 144 : 210, gb = type == CK_Q4_K ? 2368 : 3360;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t b = 0; b < nb; b++)
            for (int g = 0; g < 4; g++) {
                uint8_t *out = (uint8_t *)dst + ((p * nb + b) * 4 + g) * gb;
                memset(out, 0, (size_t)gb);  // padding rows: zero scales, zero values
                for (int r = 0; r < 16; r++) {
                    const int64_t row = 64 * p + 16 * g + r;
                    if (row >= rows) continue;
                    const uint8_t *blk = (const uint8_t *)src + (row * nb + b) * sb;
                    if (type == CK_Q4_K) {
                        uint8_t q[256], sc[8], mn[8];
                        q4k_unpack(blk, q, sc, mn);
                        memcpy(out + 2 * r, blk, 2);
                        memcpy(out + 32 + 2 * r, blk + 2, 2);
                        for (int j = 0; j < 8; j++) {
                            out[64 + 16 * j + r] = sc[j];
                            out[192 + 32 * (j / 2) + 2 * r + (j & 1)] = mn[j];
                        }
                        for (int j = 0; j < 8; j++)
                            for (int s = 0; s < 4; s++)
                                for (int i = 0; i < 4; i++)
                                    out[320 + 64 * (4 * j + s) + 4 * r + i] =
                                        (uint8_t)(q[32 * j + 8 * s + i] | (q[32 * j + 8 * s + 4 + i] << 4));
                    } else {
                        uint8_t u[256];
                        q6k_unpack(blk, u);
                        memcpy(out + 2 * r, blk + 208, 2);
                        for (int j = 0; j < 16; j++) out[32 + 16 * j + r] = blk[192 + j];
                        for (int v = 0; v < 32; v++)
                            for (int i = 0; i < 4; i++)
                                out[288 + 192 * (v / 2) + 64 * (v % 2) + 4 * r + i] =
                                    (uint8_t)((u[8 * v + i] & 0xF) | ((u[8 * v + 4 + i] & 0xF) << 4));
                        for (int h = 0; h < 16; h++)
                            for (int i = 0; i < 4; i++) {
                                uint8_t bits = 0;
                                for (int m = 0; m < 4; m++) bits |= (uint8_t)(((u[16 * h + 4 * m + i] >> 4) & 3) << (2 * m));
                                out[288 + 192 * h + 128 + 4 * r + i] = bits;
                            }
                    }
                }
            }
}

void ck_matmul_reference_k(int type, const void *src, int64_t rows, int64_t cols, const int8_t *q, const float *d,
                           const int16_t *bsum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 256, sb = type == CK_Q4_K ? 144 : 210;
    for (int64_t t = 0; t < n; t++)
        for (int64_t r = 0; r < rows; r++) {
            float f = 0;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = (const uint8_t *)src + (r * nb + b) * sb;
                const int8_t *a = q + t * cols + 256 * b;
                const int16_t *bs = bsum + t * (cols / 16) + 16 * b;
                const float da = d[t * nb + b];
                if (type == CK_Q4_K) {
                    uint8_t w[256], sc[8], mn[8];
                    q4k_unpack(blk, w, sc, mn);
                    int32_t isum = 0, imin = 0;
                    for (int j = 0; j < 8; j++) {
                        int32_t s = 0;
                        for (int l = 0; l < 32; l++) s += w[32 * j + l] * a[32 * j + l];
                        isum += sc[j] * s;
                        imin += mn[j] * (bs[2 * j] + bs[2 * j + 1]);
                    }
                    f = __builtin_fmaf((float)isum, ck_fp16_to_fp32(u16(blk)) * da, f);
                    f = __builtin_fmaf((float)imin, -(ck_fp16_to_fp32(u16(blk + 2)) * da), f);
                } else {
                    uint8_t u[256];
                    q6k_unpack(blk, u);
                    int32_t isum = 0;
                    for (int j = 0; j < 16; j++) {
                        int32_t s = 0;
                        for (int l = 0; l < 16; l++) s += u[16 * j + l] * a[16 * j + l];
                        isum += (int8_t)blk[192 + j] * (s - 32 * bs[j]);
                    }
                    f = __builtin_fmaf((float)isum, ck_fp16_to_fp32(u16(blk + 208)) * da, f);
                }
            }
            y[t * ldy + r] = f;
        }
}

// MARK: AVX-512 VNNI

// Σ over k-steps for one token: nw u8 vectors against consecutive 4-byte activation groups, two chains.
INLINE CK_AVX512 __m512i dots512(const __m512i *w, int nw, const int8_t *a, __m512i init) {
    __m512i i0 = init, i1 = _mm512_setzero_si512();
    for (int s = 0; s < nw; s += 2) {
        i0 = _mm512_dpbusd_epi32(i0, w[s], _mm512_set1_epi32(word(a + 4 * s)));
        i1 = _mm512_dpbusd_epi32(i1, w[s + 1], _mm512_set1_epi32(word(a + 4 * s + 4)));
    }
    return _mm512_add_epi32(i0, i1);
}

// Tiles of PF_TOKENS or more tokens (AVX2: PF_TOKENS256) are compute-bound (Zen 4, one core: ~21 GB/s of Q4_K at 4
// tokens in L2); there the hardware prefetchers, which stop at 4 KiB pages, leave a DRAM stall at each new page that no
// longer hides behind loads in flight (6–8 tokens from DRAM ran at 70% of their in-cache rate, AVX2 3–8 at 85%). Those
// tiles prefetch the stream PF_BYTES ahead into L2, a slice per step of the loop. Memory-bound tiles run best without:
// there the extra requests only compete with the hardware's (AVX-512, 2 tokens: 31 → 24 GB/s with them).
enum { PF_TOKENS = 4, PF_TOKENS256 = 3, PF_BYTES = 12288 };

// Per (super-block, token) integers shared by the four groups, computed once per super-block of a tile: Q4_K the
// bsum pairs for vpmaddwd against the mins, (bsum[4p] + bsum[4p+1]) | (bsum[4p+2] + bsum[4p+3]) << 16 in x[t][p]
// (each sum of 32 values ≤ 4064 fits in 16 bits); Q6_K the −32·bsum_j terms in x[t][j] (broadcast loads in the loop).
INLINE CK_AVX512 void kprep512(int type, const int16_t *bs, int64_t cols, int nt, int32_t x[][16]) {
    for (int t = 0; t < nt; t++) {
        const int16_t *b16 = bs + t * (cols / 16);
        if (type == CK_Q4_K)
            for (int p = 0; p < 4; p++) {
                const int32_t lo = b16[4 * p] + b16[4 * p + 1], hi = b16[4 * p + 2] + b16[4 * p + 3];
                x[t][p] = (int32_t)((uint32_t)(lo & 0xFFFF) | ((uint32_t)hi << 16));
            }
        else
            for (int j = 0; j < 16; j++) x[t][j] = -32 * b16[j];
    }
}

// One (super-block, group) for nt tokens: token t's activations at q + t·cols, scale d[t·nb], prepared pairs x[t].
// isum = Σ_j sc_j·Σ q·a, imin = Σ_j mn_j·(bsum[2j] + bsum[2j+1]); f = fma(isum, d·d_a, f); f = fma(imin, −dmin·d_a, f).
INLINE CK_AVX512 void q4k512(const uint8_t *blk, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                             const int32_t x[][16], int nt, __m512 *f) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512i isum[8];
    for (int t = 0; t < nt; t++) isum[t] = _mm512_setzero_si512();
    for (int j = 0; j < 8; j++) {
        const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + 64 + 16 * j)));
        __m512i w[8];
        for (int s = 0; s < 4; s++) {
            __m512i v = _mm512_loadu_si512(blk + 320 + 64 * (4 * j + s));
            w[2 * s] = _mm512_and_si512(v, m4);
            w[2 * s + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        }
        if (nt >= PF_TOKENS) ahead(blk + PF_BYTES + 296 * j, 296);  // 8 × 296 = the group's 2368 bytes
        for (int t = 0; t < nt; t++)
            isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dots512(w, 8, q + t * cols + 32 * j, _mm512_setzero_si512()), sc));
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

// The four u8 vectors of Q6_K sub-block j (k-steps of 4 values). (A GFNI gf2p8affineqb + vpternlogd version took
// 10 ops instead of 17 and was no faster, in cache or from DRAM.)
INLINE CK_AVX512 void q6k_unpack512(const uint8_t *blk, int j, __m512i *w) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i lo0 = _mm512_loadu_si512(blk + 288 + 192 * j), lo1 = _mm512_loadu_si512(blk + 288 + 192 * j + 64);
    const __m512i hv = _mm512_loadu_si512(blk + 288 + 192 * j + 128);
    w[0] = _mm512_or_si512(_mm512_and_si512(lo0, m4), _mm512_and_si512(_mm512_slli_epi16(hv, 4), m30));
    w[1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo0, 4), m4), _mm512_and_si512(_mm512_slli_epi16(hv, 2), m30));
    w[2] = _mm512_or_si512(_mm512_and_si512(lo1, m4), _mm512_and_si512(hv, m30));
    w[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo1, 4), m4), _mm512_and_si512(_mm512_srli_epi16(hv, 2), m30));
}

// isum = Σ_j sc_j·(Σ u·a − 32·bsum_j) (the dot chain starts at x[t][j] = −32·bsum_j); f = fma(isum, d·d_a, f).
INLINE CK_AVX512 void q6k512(const uint8_t *blk, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                             const int32_t x[][16], int nt, __m512 *f) {
    __m512i isum[8];
    for (int t = 0; t < nt; t++) isum[t] = _mm512_setzero_si512();
    for (int j = 0; j < 16; j++) {
        const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 32 + 16 * j)));
        __m512i w[4];
        q6k_unpack512(blk, j, w);
        if (nt >= PF_TOKENS) ahead(blk + PF_BYTES + 210 * j, 210);  // 16 × 210 = the group's 3360 bytes
        for (int t = 0; t < nt; t++)
            isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dots512(w, 4, q + t * cols + 16 * j, _mm512_set1_epi32(x[t][j])), sc));
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
    for (int t = 0; t < nt; t++)
        f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, _mm512_set1_ps(d[t * nb])), f[t]);
}

INLINE CK_AVX512 void kstep512(int type, const uint8_t *blk, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                               const int32_t x[][16], int nt, __m512 *f) {
    if (type == CK_Q4_K) q4k512(blk, q, cols, d, nb, x, nt, f);
    else q6k512(blk, q, cols, d, nb, x, nt, f);
}

INLINE CK_AVX512 void kstore512(float *y, __m512 f, int64_t valid) {
    if (valid >= 16) _mm512_storeu_ps(y, f);
    else if (valid > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << valid) - 1), f);
}

// One tile of nt ≤ 8 tokens on one 64-row panel: y[t·ldy + row0 + r] for its rows. The panel is read as one stream,
// super-block by super-block and in each its 4 groups in order, so the hardware prefetchers see one sequential read
// (group by group down the panel, the earlier order, is four interleaved strided streams: 8–11 GB/s per core from
// DRAM at 2–5 tokens against ~31 for this order); the 4 × nt accumulators stay in registers or L1.
INLINE CK_AVX512 void ktile512(int type, const uint8_t *panel, int64_t gb, int64_t rows, int64_t row0, int64_t cols,
                               const int8_t *q, const float *d, const int16_t *bs, int nt, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
    __m512 f[4][8];
    int32_t x[8][16];
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) f[g][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        kprep512(type, bs + 16 * b, cols, nt, x);
        for (int g = 0; g < 4; g++) kstep512(type, panel + (b * 4 + g) * gb, q + 256 * b, cols, d + b, nb, x, nt, f[g]);
    }
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) kstore512(y + t * ldy + row0 + 16 * g, f[g][t], rows - row0 - 16 * g);
}

// Balanced tiles of at most 8 tokens (n = 9 → 5 + 4); a batch re-reads the panel per tile, from L2 after the first.
INLINE CK_AVX512 void kpanel512(int type, const uint8_t *panel, int64_t gb, int64_t rows, int64_t row0, int64_t cols,
                                const int8_t *q, const float *d, const int16_t *bs, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
#define KTILE(T0, NT) ktile512(type, panel, gb, rows, row0, cols, q + (T0) * cols, d + (T0) * nb, bs + (T0) * (cols / 16), NT, y + (T0) * ldy, ldy)
    TILES(8, KTILE);
#undef KTILE
}

CK_AVX512 static void kmatmul512(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                 const int8_t *q, const float *d, const int16_t *bs, int64_t n, float *y, int64_t ldy) {
    const int64_t gb = type == CK_Q4_K ? 2368 : 3360, pb = cols / 256 * 4 * gb;
    for (int64_t p = p0; p < p1; p++) {
        if (type == CK_Q4_K) kpanel512(CK_Q4_K, packed + p * pb, gb, rows, 64 * p, cols, q, d, bs, n, y, ldy);
        else kpanel512(CK_Q6_K, packed + p * pb, gb, rows, 64 * p, cols, q, d, bs, n, y, ldy);
    }
}

// MARK: AVX2: each 64-byte vector as two 8-row halves (bytes 32h..32h+31). vpmaddubsw gives per row two int16 sums of
// two products each; these are added in 16 bits while they provably fit (|a| ≤ 128: a Q4_K sub-block's 8 k-step
// vectors ≤ 8·2·15·128 = 30720, a Q6_K pair of vectors ≤ 2·2·63·128 = 32256), then one vpmaddwd against the scale
// duplicated in both int16 halves of the row's lane gives sc·Σ w·a in int32 — the same integers as the reference.

// Σ_{s<nw} maddubs(w[s], a[4s..4s+3]) in int16 (nw ≤ 8 for Q4_K's nibbles, ≤ 2 for Q6_K's 6-bit values).
INLINE CK_AVX2 __m256i dots16(const __m256i *w, int nw, const int8_t *a) {
    __m256i p[8];
    for (int s = 0; s < nw; s++) p[s] = _mm256_maddubs_epi16(w[s], _mm256_set1_epi32(word(a + 4 * s)));
    for (int m = 1; m < nw; m *= 2)
        for (int s = 0; s + m < nw; s += 2 * m) p[s] = _mm256_add_epi16(p[s], p[s + m]);
    return p[0];
}

// isum = Σ_j sc_j·Σ q·a and imin = Σ_j mn_j·(bsum[2j] + bsum[2j+1]) for the 8 rows of half h, then the two fmas.
INLINE CK_AVX2 void q4k256(const uint8_t *blk, int h, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                           const int16_t *bs, int nt, __m256 *f) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
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
        for (int s = 0; s < 4; s++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(blk + 320 + 64 * (4 * j + s) + 32 * h));
            w[2 * s] = _mm256_and_si256(x, m4);
            w[2 * s + 1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
        }
        if (nt >= PF_TOKENS256 && h == 0) ahead(blk + PF_BYTES + 296 * j, 296);
        for (int t = 0; t < nt; t++)
            isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(dots16(w, 8, q + t * cols + 32 * j), sc));
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
    const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 32 + 16 * h)));
    __m256i mn[4];
    for (int p = 0; p < 4; p++) mn[p] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192 + 32 * p + 16 * h)));
    for (int t = 0; t < nt; t++) {
        const int16_t *b16 = bs + t * (cols / 16);
        __m256i im = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) {
            const int32_t lo = b16[4 * p] + b16[4 * p + 1], hi = b16[4 * p + 2] + b16[4 * p + 3];
            im = _mm256_add_epi32(im, _mm256_madd_epi16(mn[p], _mm256_set1_epi32((int32_t)((uint32_t)(lo & 0xFFFF) | ((uint32_t)hi << 16)))));
        }
        const __m256 da = _mm256_set1_ps(d[t * nb]);
        f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, da), f[t]);
        f[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(im), _mm256_mul_ps(dm, da), f[t]);
    }
}

// isum = Σ_j sc_j·Σ u·a − 32·Σ_j sc_j·bsum_j for the 8 rows of half h, then the fma. The second sum takes vpmaddwd on
// scale pairs (sc_2p, sc_2p+1) per row against the adjacent bsum pair, one broadcast load each.
INLINE CK_AVX2 void q6k256(const uint8_t *blk, int h, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                           const int16_t *bs, int nt, __m256 *f) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    // from the pairs: int16 (sc_2p, sc_2p) or (sc_2p+1, sc_2p+1) in row r's lane
    const __m256i even = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
    const __m256i odd = _mm256_add_epi8(even, _mm256_set1_epi8(2));
    __m256i isum[4], sp[8];
    for (int t = 0; t < nt; t++) isum[t] = _mm256_setzero_si256();
    for (int p = 0; p < 8; p++) {
        const __m128i s0 = _mm_loadl_epi64((const __m128i *)(blk + 32 + 32 * p + 8 * h));
        const __m128i s1 = _mm_loadl_epi64((const __m128i *)(blk + 48 + 32 * p + 8 * h));
        sp[p] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(s0, s1));
    }
    for (int j = 0; j < 16; j++) {
        const __m256i sc = _mm256_shuffle_epi8(sp[j / 2], j % 2 ? odd : even);
        const __m256i lo0 = _mm256_loadu_si256((const __m256i *)(blk + 288 + 192 * j + 32 * h));
        const __m256i lo1 = _mm256_loadu_si256((const __m256i *)(blk + 288 + 192 * j + 64 + 32 * h));
        const __m256i hv = _mm256_loadu_si256((const __m256i *)(blk + 288 + 192 * j + 128 + 32 * h));
        if (nt >= PF_TOKENS256 && h == 0) ahead(blk + PF_BYTES + 210 * j, 210);
        __m256i w[4];
        w[0] = _mm256_or_si256(_mm256_and_si256(lo0, m4), _mm256_and_si256(_mm256_slli_epi16(hv, 4), m30));
        w[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo0, 4), m4), _mm256_and_si256(_mm256_slli_epi16(hv, 2), m30));
        w[2] = _mm256_or_si256(_mm256_and_si256(lo1, m4), _mm256_and_si256(hv, m30));
        w[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hv, 2), m30));
        for (int t = 0; t < nt; t++) {
            const int8_t *a = q + t * cols + 16 * j;
            isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(dots16(w, 2, a), sc),
                                                                 _mm256_madd_epi16(dots16(w + 2, 2, a + 8), sc)));
        }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
    for (int t = 0; t < nt; t++) {
        const int16_t *b16 = bs + t * (cols / 16);
        __m256i c = _mm256_setzero_si256();
        for (int p = 0; p < 8; p++) c = _mm256_add_epi32(c, _mm256_madd_epi16(sp[p], _mm256_set1_epi32(word((const int8_t *)(b16 + 2 * p)))));
        isum[t] = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(c, 5));
        f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, _mm256_set1_ps(d[t * nb])), f[t]);
    }
}

INLINE CK_AVX2 void kstep256(int type, const uint8_t *blk, int h, const int8_t *q, int64_t cols, const float *d, int64_t nb,
                             const int16_t *bs, int nt, __m256 *f) {
    if (type == CK_Q4_K) q4k256(blk, h, q, cols, d, nb, bs, nt, f);
    else q6k256(blk, h, q, cols, d, nb, bs, nt, f);
}

INLINE CK_AVX2 void kstore256(float *y, __m256 f, int64_t valid) {
    if (valid >= 8) { _mm256_storeu_ps(y, f); return; }
    float tmp[8];
    _mm256_storeu_ps(tmp, f);
    for (int64_t i = 0; i < valid; i++) y[i] = tmp[i];
}

// One tile of nt ≤ 4 tokens on one 64-row panel: the panel is read as one stream, block by block and in each block
// its 8 halves in order (a group's second half comes from L1), so the hardware prefetchers see one sequential read;
// the 8 × nt accumulators live in memory (touched once per block and half). (Half by half down the panel, the
// earlier order, is 8 interleaved strided streams: Q4_K/Q6_K decode read 9 GB/s from DRAM against ~26.)
INLINE CK_AVX2 void ktile256(int type, const uint8_t *panel, int64_t gb, int64_t rows, int64_t row0, int64_t cols,
                             const int8_t *q, const float *d, const int16_t *bs, int nt, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
    const int nh = rows - row0 >= 64 ? 8 : (int)((rows - row0 + 7) / 8);  // halves holding real rows
    __m256 f[8][4];
    for (int gh = 0; gh < 8; gh++)
        for (int t = 0; t < 4; t++) f[gh][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++)
        for (int gh = 0; gh < nh; gh++)
            kstep256(type, panel + (b * 4 + gh / 2) * gb, gh % 2, q + 256 * b, cols, d + b, nb, bs + 16 * b, nt, f[gh]);
    for (int gh = 0; gh < nh; gh++)
        for (int t = 0; t < nt; t++) kstore256(y + t * ldy + row0 + 8 * gh, f[gh][t], rows - row0 - 8 * gh);
}

// Tiles of 4 tokens (the rest last); a batch re-reads the panel per tile, from L2 after the first.
INLINE CK_AVX2 void kpanel256(int type, const uint8_t *panel, int64_t gb, int64_t rows, int64_t row0, int64_t cols,
                              const int8_t *q, const float *d, const int16_t *bs, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 256;
    for (int64_t t0 = 0; t0 < n; t0 += 4) {
        const int8_t *qq = q + t0 * cols;
        const float *dd = d + t0 * nb;
        const int16_t *bb = bs + t0 * (cols / 16);
        float *yy = y + t0 * ldy;
        switch (n - t0) {
        case 1: ktile256(type, panel, gb, rows, row0, cols, qq, dd, bb, 1, yy, ldy); break;
        case 2: ktile256(type, panel, gb, rows, row0, cols, qq, dd, bb, 2, yy, ldy); break;
        case 3: ktile256(type, panel, gb, rows, row0, cols, qq, dd, bb, 3, yy, ldy); break;
        default: ktile256(type, panel, gb, rows, row0, cols, qq, dd, bb, 4, yy, ldy); break;
        }
    }
}

CK_AVX2 static void kmatmul256(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                               const int8_t *q, const float *d, const int16_t *bs, int64_t n, float *y, int64_t ldy) {
    const int64_t gb = type == CK_Q4_K ? 2368 : 3360, pb = cols / 256 * 4 * gb;
    for (int64_t p = p0; p < p1; p++) {
        if (type == CK_Q4_K) kpanel256(CK_Q4_K, packed + p * pb, gb, rows, 64 * p, cols, q, d, bs, n, y, ldy);
        else kpanel256(CK_Q6_K, packed + p * pb, gb, rows, 64 * p, cols, q, d, bs, n, y, ldy);
    }
}

void ck_matmul_k(int type, const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                 const int8_t *q, const float *d, const int16_t *bsum, int64_t n, float *y, int64_t ldy) {
    if (ck_isa() >= CK_ISA_AVX512) kmatmul512(type, packed, rows, cols, p0, p1, q, d, bsum, n, y, ldy);
    else kmatmul256(type, packed, rows, cols, p0, p1, q, d, bsum, n, y, ldy);
}
