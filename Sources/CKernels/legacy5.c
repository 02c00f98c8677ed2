// Q4_1, Q5_0 and Q5_1 on VNNI-16 panels (see ckernels.h): repacking, kernels per ISA level, the scalar reference.
// Q5_0 multiplies Q8_0 activations, Q4_1 and Q5_1 multiply Q8_1 activations (llama.cpp's vec_dot_type).
//
// u is the unsigned stored quant of a value: Q4_1 the nibble (0–15), Q5_0/Q5_1 nibble | bit << 4 (0–31).
// W = d·u + m (Q4_1, Q5_1), W = d·(u − 16) (Q5_0). A (block, 16-row group) of the packed layout:
//   Q4_1 (320 B = 16 × 20): d[16] f16 @0, m[16] f16 @32, 4 nibble vectors @64
//   Q5_0 (352 B = 16 × 22): d[16] f16 @0, 4 nibble vectors @32, 1 high-bit vector @288
//   Q5_1 (384 B = 16 × 24): d[16] f16 @0, m[16] f16 @32, 4 nibble vectors @64, 1 high-bit vector @320
// nibble vector s (as Q4_0): byte 4r + j = lo4(u[r][8s + j]) | lo4(u[r][8s + 4 + j]) << 4, which unpacks into the
// k-step vectors w[2s] (values 8s..8s+3) and w[2s+1] (8s+4..8s+7); high-bit vector: byte 4r + j bit i = bit 4 of
// u[r][4i + j], so k-step vector w[i] gets it by one shift to bit 4 (the same byte, so 16-bit shifts do).
// Per row r, token t, block b: isum = Σ u·a exactly in int32 (Q5_0: Σ u·a − 16·Σa, Σa from the Q8_0 sums); then
//   f = fma((float)isum, d_w·d_a, f), and for Q4_1/Q5_1 f = fma(m_w, s_a, f) (s_a = f16(d·Σa) of Q8_1)
// in block order — ggml's ggml_vec_dot_{q4_1_q8_1, q5_0_q8_0, q5_1_q8_1} terms, so every level gives the same bits.
#include "ckernels.h"
#include "kernels_internal.h"
#include <immintrin.h>
#include <string.h>

// Layout constants per type (folded after inlining: every kernel is instantiated per type).
INLINE int gbytes(int type) { return type == CK_Q4_1 ? 320 : type == CK_Q5_0 ? 352 : 384; }
INLINE int has_min(int type) { return type != CK_Q5_0; }
INLINE int has_high(int type) { return type != CK_Q4_1; }
INLINE int nib_at(int type) { return type == CK_Q5_0 ? 32 : 64; }
INLINE int high_at(int type) { return type == CK_Q5_0 ? 288 : 320; }
// The zero point folded into isum: −16·Σa for Q5_0 (u = q + 16), none where the min term carries it.
INLINE int32_t offset(int type) { return type == CK_Q5_0 ? -16 : 0; }

// MARK: source blocks (ggml-quants.c dequantize_row_q4_1 / q5_0 / q5_1)

// u[j] of one source block: Q4_1 = f16 d, f16 m, qs[16]; Q5_0 = f16 d, qh[4], qs[16]; Q5_1 = f16 d, f16 m, qh[4],
// qs[16]; value j < 16 is the low nibble of qs[j] with qh bit j, value j + 16 the high nibble with qh bit j + 16.
static void unpack_block(int type, const uint8_t *blk, uint8_t u[32]) {
    const uint8_t *qs = blk + (type == CK_Q4_1 ? 4 : type == CK_Q5_0 ? 6 : 8);
    uint32_t qh = 0;
    if (type != CK_Q4_1) memcpy(&qh, blk + (type == CK_Q5_0 ? 2 : 4), 4);
    for (int j = 0; j < 16; j++) {
        u[j] = (uint8_t)((qs[j] & 0xF) | (((qh >> j) & 1) << 4));
        u[j + 16] = (uint8_t)((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
    }
}

static int64_t src_bytes(int type) { return type == CK_Q4_1 ? 20 : type == CK_Q5_0 ? 22 : 24; }

void ck_repack_legacy5(int type, const void *src, int64_t rows, int64_t cols, void *dst, int64_t p0, int64_t p1) {
    const int64_t nb = cols / 32, sb = src_bytes(type), gb = gbytes(type);
    for (int64_t p = p0; p < p1; p++)
        for (int64_t b = 0; b < nb; b++)
            for (int g = 0; g < 4; g++) {
                uint8_t *out = (uint8_t *)dst + ((p * nb + b) * 4 + g) * gb;
                memset(out, 0, (size_t)gb);  // padding rows: zero scales, mins and values
                for (int r = 0; r < 16; r++) {
                    const int64_t row = 64 * p + 16 * g + r;
                    if (row >= rows) continue;
                    const uint8_t *blk = (const uint8_t *)src + (row * nb + b) * sb;
                    uint8_t u[32];
                    unpack_block(type, blk, u);
                    memcpy(out + 2 * r, blk, 2);
                    if (has_min(type)) memcpy(out + 32 + 2 * r, blk + 2, 2);
                    uint8_t *nib = out + nib_at(type), *hi = out + high_at(type);
                    for (int s = 0; s < 4; s++)
                        for (int j = 0; j < 4; j++)
                            nib[64 * s + 4 * r + j] = (uint8_t)((u[8 * s + j] & 0xF) | ((u[8 * s + 4 + j] & 0xF) << 4));
                    if (has_high(type))
                        for (int j = 0; j < 4; j++) {
                            uint8_t bits = 0;
                            for (int i = 0; i < 8; i++) bits |= (uint8_t)(((u[4 * i + j] >> 4) & 1) << i);
                            hi[4 * r + j] = bits;
                        }
                }
            }
}

// The definition: per row and block isum = Σ (u + offset)·a, f = fma(isum, d_w·d_a, f), then the min term.
void ck_matmul_reference_legacy5(int type, const void *src, int64_t rows, int64_t cols, const int8_t *q, const float *d,
                                 const void *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 32, sb = src_bytes(type);
    const float *s = sum;  // Q8_1: f32 s per block (Q5_0 needs no sums here: the offset is applied per value)
    for (int64_t t = 0; t < n; t++)
        for (int64_t r = 0; r < rows; r++) {
            float f = 0;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = (const uint8_t *)src + (r * nb + b) * sb;
                const int8_t *a = q + t * cols + 32 * b;
                uint8_t u[32];
                unpack_block(type, blk, u);
                int32_t isum = 0;
                for (int j = 0; j < 32; j++) isum += (u[j] + offset(type)) * a[j];
                f = __builtin_fmaf((float)isum, ck_fp16_to_fp32(u16(blk)) * d[t * nb + b], f);
                if (has_min(type)) f = __builtin_fmaf(ck_fp16_to_fp32(u16(blk + 2)), s[t * nb + b], f);
            }
            y[t * ldy + r] = f;
        }
}

// MARK: AVX-512 VNNI

// The 8 k-step vectors (u8) of one (block, group): nibble planes split, high bits shifted to bit 4 and merged
// (vpternlogd 0xF8 = a | (b & c)).
INLINE CK_AVX512 void load512(int type, const uint8_t *blk, __m512i *w) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int s = 0; s < 4; s++) {
        const __m512i x = _mm512_loadu_si512(blk + nib_at(type) + 64 * s);
        w[2 * s] = _mm512_and_si512(x, m4);
        w[2 * s + 1] = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
    }
    if (has_high(type)) {
        const __m512i hv = _mm512_loadu_si512(blk + high_at(type)), m10 = _mm512_set1_epi8(0x10);
        w[0] = _mm512_ternarylogic_epi32(w[0], _mm512_slli_epi16(hv, 4), m10, 0xF8);
        w[1] = _mm512_ternarylogic_epi32(w[1], _mm512_slli_epi16(hv, 3), m10, 0xF8);
        w[2] = _mm512_ternarylogic_epi32(w[2], _mm512_slli_epi16(hv, 2), m10, 0xF8);
        w[3] = _mm512_ternarylogic_epi32(w[3], _mm512_slli_epi16(hv, 1), m10, 0xF8);
        w[4] = _mm512_ternarylogic_epi32(w[4], hv, m10, 0xF8);
        w[5] = _mm512_ternarylogic_epi32(w[5], _mm512_srli_epi16(hv, 1), m10, 0xF8);
        w[6] = _mm512_ternarylogic_epi32(w[6], _mm512_srli_epi16(hv, 2), m10, 0xF8);
        w[7] = _mm512_ternarylogic_epi32(w[7], _mm512_srli_epi16(hv, 3), m10, 0xF8);
    }
}

// Batches read each 64-row panel as one stream in tiles of tokens: block by block and in each block its 4 groups (AVX2:
// 8 halves) in order, the tile's accumulators in registers or L1 (group by group down the panel, the earlier order,
// is four interleaved strided streams: 7–18 GB/s per core from DRAM at 2–8 tokens). Compute-bound tiles (from PF512 /
// PF256 tokens) prefetch the stream PF_BYTES ahead into L2, one (block, group) per step, as the hardware prefetchers
// stop at each 4 KiB page (matmul.c, kquants.c).
enum { PF512 = 3, PF256 = 3, PF_BYTES = 12288 };

INLINE CK_AVX512 void store512(float *y, __m512 f, int64_t valid) {
    if (valid >= 16) _mm512_storeu_ps(y, f);
    else if (valid > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << valid) - 1), f);
}

// nt tokens (a constant after inlining) × one 64-row panel (token t: activations q + t·cols, scale d[t·nb], sum/s
// ss[t·nb]); per (block, group) the weights are unpacked once for every token. isum = Σ u·a (+ offset·Σa), then
// f = fma(isum, d_w·d_a, f) and f = fma(m_w, s_a, f). One token is the decode: one stream, 4 chains in flight. (The
// token loop stays rolled: unrolled, clang hoists the activation broadcasts out of the group loop into 64-byte stack
// slots, and 5–7 tokens ran at 70% of the rate of 8.)
INLINE CK_AVX512 void tile512(int type, const uint8_t *panel, int64_t nb, const int8_t *q, int64_t cols, const float *d,
                              const void *sum, int nt, float *y, int64_t ldy, int64_t validRows) {
    const int64_t gb = gbytes(type);
    __m512 f[4][8];
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) f[g][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++)
#pragma clang loop unroll(disable)
        for (int g = 0; g < 4; g++) {
            const uint8_t *blk = panel + (b * 4 + g) * gb;
            if (nt >= PF512) ahead(blk + PF_BYTES, gb);
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
            const __m512 mw = has_min(type) ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32))) : dw;
            __m512i w[8];
            load512(type, blk, w);
#pragma clang loop unroll(disable)
            for (int t = 0; t < nt; t++) {
                const int8_t *a = q + t * cols + 32 * b;
                __m512i i0 = type == CK_Q5_0 ? _mm512_set1_epi32(offset(type) * ((const int32_t *)sum)[t * nb + b])
                                             : _mm512_setzero_si512();
                __m512i i1 = _mm512_setzero_si512();
                for (int s = 0; s < 8; s += 2) {
                    i0 = _mm512_dpbusd_epi32(i0, w[s], _mm512_set1_epi32(word(a + 4 * s)));
                    i1 = _mm512_dpbusd_epi32(i1, w[s + 1], _mm512_set1_epi32(word(a + 4 * s + 4)));
                }
                const __m512 is = _mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1));
                f[g][t] = _mm512_fmadd_ps(is, _mm512_mul_ps(dw, _mm512_set1_ps(d[t * nb + b])), f[g][t]);
                if (has_min(type)) f[g][t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(((const float *)sum)[t * nb + b]), f[g][t]);
            }
        }
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) store512(y + t * ldy + 16 * g, f[g][t], validRows - 16 * g);
}

CK_AVX512 static void matmul512(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 32, pb = nb * 4 * gbytes(type);
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *panel = packed + p * pb;
#define TILE(T0, NT)                                                                                                   \
    do {                                                                                                               \
        const int8_t *qq = q + (T0) * cols;                                                                            \
        const float *dd = d + (T0) * nb;                                                                               \
        const void *ss = (const char *)sum + 4 * (T0) * nb; /* int32 sums and f32 s: 4 bytes per block */              \
        float *yy = y + (T0) * ldy + 64 * p;                                                                           \
        if (type == CK_Q4_1) tile512(CK_Q4_1, panel, nb, qq, cols, dd, ss, NT, yy, ldy, rows - 64 * p);                \
        else if (type == CK_Q5_0) tile512(CK_Q5_0, panel, nb, qq, cols, dd, ss, NT, yy, ldy, rows - 64 * p);           \
        else tile512(CK_Q5_1, panel, nb, qq, cols, dd, ss, NT, yy, ldy, rows - 64 * p);                                \
    } while (0)
        TILES(8, TILE);
#undef TILE
    }
}

// MARK: AVX2: each 64-byte vector as two 8-row halves (bytes 32h..32h+31). vpmaddubsw pairs ≤ 2·31·127 = 7874; four
// k-steps are added in 16 bits (≤ 31496 < 2^15; Q4_1 all eight: ≤ 8·2·15·127 = 30480), then vpmaddwd by 1.

INLINE CK_AVX2 void load256(int type, const uint8_t *blk, int h, __m256i *w) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int s = 0; s < 4; s++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(blk + nib_at(type) + 64 * s + 32 * h));
        w[2 * s] = _mm256_and_si256(x, m4);
        w[2 * s + 1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
    }
    if (has_high(type)) {
        const __m256i hv = _mm256_loadu_si256((const __m256i *)(blk + high_at(type) + 32 * h)), m10 = _mm256_set1_epi8(0x10);
        w[0] = _mm256_or_si256(w[0], _mm256_and_si256(_mm256_slli_epi16(hv, 4), m10));
        w[1] = _mm256_or_si256(w[1], _mm256_and_si256(_mm256_slli_epi16(hv, 3), m10));
        w[2] = _mm256_or_si256(w[2], _mm256_and_si256(_mm256_slli_epi16(hv, 2), m10));
        w[3] = _mm256_or_si256(w[3], _mm256_and_si256(_mm256_slli_epi16(hv, 1), m10));
        w[4] = _mm256_or_si256(w[4], _mm256_and_si256(hv, m10));
        w[5] = _mm256_or_si256(w[5], _mm256_and_si256(_mm256_srli_epi16(hv, 1), m10));
        w[6] = _mm256_or_si256(w[6], _mm256_and_si256(_mm256_srli_epi16(hv, 2), m10));
        w[7] = _mm256_or_si256(w[7], _mm256_and_si256(_mm256_srli_epi16(hv, 3), m10));
    }
}

// Σ_{s<4} maddubs(w[s], a[4s..4s+3]) per row in int16 (16 values).
INLINE CK_AVX2 __m256i dots16(const __m256i *w, const int8_t *a) {
    const __m256i p0 = _mm256_add_epi16(_mm256_maddubs_epi16(w[0], _mm256_set1_epi32(word(a))),
                                        _mm256_maddubs_epi16(w[1], _mm256_set1_epi32(word(a + 4))));
    const __m256i p1 = _mm256_add_epi16(_mm256_maddubs_epi16(w[2], _mm256_set1_epi32(word(a + 8))),
                                        _mm256_maddubs_epi16(w[3], _mm256_set1_epi32(word(a + 12))));
    return _mm256_add_epi16(p0, p1);
}

INLINE CK_AVX2 void store256(float *y, __m256 f, int64_t valid) {
    if (valid >= 8) { _mm256_storeu_ps(y, f); return; }
    float tmp[8];
    _mm256_storeu_ps(tmp, f);
    for (int64_t i = 0; i < valid; i++) y[i] = tmp[i];
}

// nt ≤ 4 tokens × one 64-row panel, its 8 halves per block in order (a group's second half comes from L1); the same
// integers and float steps as tile512. One token is the decode: one stream, 8 chains in flight.
INLINE CK_AVX2 void tile256(int type, const uint8_t *panel, int64_t nb, const int8_t *q, int64_t cols, const float *d,
                            const void *sum, int nt, float *y, int64_t ldy, int64_t validRows) {
    const int64_t gb = gbytes(type);
    const int nh = validRows >= 64 ? 8 : (int)((validRows + 7) / 8);  // halves holding real rows
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 f[8][4];
    for (int gh = 0; gh < 8; gh++)
        for (int t = 0; t < nt; t++) f[gh][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++)
        for (int gh = 0; gh < nh; gh++) {
            const uint8_t *blk = panel + (b * 4 + gh / 2) * gb;
            const int h = gh % 2;
            if (nt >= PF256 && h == 0) ahead(blk + PF_BYTES, gb);
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
            const __m256 mw = has_min(type) ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 32 + 16 * h))) : dw;
            __m256i w[8];
            load256(type, blk, h, w);
            for (int t = 0; t < nt; t++) {
                const int8_t *a = q + t * cols + 32 * b;
                __m256i is;
                if (has_high(type)) is = _mm256_add_epi32(_mm256_madd_epi16(dots16(w, a), ones), _mm256_madd_epi16(dots16(w + 4, a + 16), ones));
                else is = _mm256_madd_epi16(_mm256_add_epi16(dots16(w, a), dots16(w + 4, a + 16)), ones);
                if (type == CK_Q5_0) is = _mm256_add_epi32(is, _mm256_set1_epi32(offset(type) * ((const int32_t *)sum)[t * nb + b]));
                f[gh][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(dw, _mm256_set1_ps(d[t * nb + b])), f[gh][t]);
                if (has_min(type)) f[gh][t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(((const float *)sum)[t * nb + b]), f[gh][t]);
            }
        }
    for (int gh = 0; gh < nh; gh++)
        for (int t = 0; t < nt; t++) store256(y + t * ldy + 8 * gh, f[gh][t], validRows - 8 * gh);
}

CK_AVX2 static void matmul256(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                              const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 32, pb = nb * 4 * gbytes(type);
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *panel = packed + p * pb;
#define TILE(T0, NT)                                                                                                   \
    do {                                                                                                               \
        const int8_t *qq = q + (T0) * cols;                                                                            \
        const float *dd = d + (T0) * nb;                                                                               \
        const void *ss = (const char *)sum + 4 * (T0) * nb;                                                            \
        float *yy = y + (T0) * ldy + 64 * p;                                                                           \
        if (type == CK_Q4_1) tile256(CK_Q4_1, panel, nb, qq, cols, dd, ss, NT, yy, ldy, rows - 64 * p);                \
        else if (type == CK_Q5_0) tile256(CK_Q5_0, panel, nb, qq, cols, dd, ss, NT, yy, ldy, rows - 64 * p);           \
        else tile256(CK_Q5_1, panel, nb, qq, cols, dd, ss, NT, yy, ldy, rows - 64 * p);                                \
    } while (0)
        TILES(4, TILE);
#undef TILE
    }
}

// y = W·a for Q4_1/Q5_0/Q5_1 panels [p0, p1) (sum: int32 Σq per block for Q5_0, f32 s per block for Q4_1/Q5_1).
void ck_matmul_legacy5(int type, const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                       const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy) {
    if (ck_isa() >= CK_ISA_AVX512) matmul512(type, packed, rows, cols, p0, p1, q, d, sum, n, y, ldy);
    else matmul256(type, packed, rows, cols, p0, p1, q, d, sum, n, y, ldy);
}
