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
#include <immintrin.h>
#include <string.h>

#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

static inline uint16_t u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline int32_t word(const int8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

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

// One block of one group for nt tokens (token t: activations qq + t·cols, scale dd[t·nb], sum/s ss[t·nb]).
INLINE CK_AVX512 void block512(int type, const uint8_t *blk, const int8_t *qq, int64_t cols, const float *dd,
                               const void *ss, int64_t nb, int nt, __m512 *f) {
    __m512i w[8];
    load512(type, blk, w);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
    const __m512 mw = has_min(type) ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32))) : dw;
    for (int t = 0; t < nt; t++) {
        const int8_t *a = qq + t * cols;
        __m512i i0 = type == CK_Q5_0 ? _mm512_set1_epi32(offset(type) * ((const int32_t *)ss)[t * nb]) : _mm512_setzero_si512();
        __m512i i1 = _mm512_setzero_si512();
        for (int s = 0; s < 8; s += 2) {
            i0 = _mm512_dpbusd_epi32(i0, w[s], _mm512_set1_epi32(word(a + 4 * s)));
            i1 = _mm512_dpbusd_epi32(i1, w[s + 1], _mm512_set1_epi32(word(a + 4 * s + 4)));
        }
        const __m512 is = _mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1));
        f[t] = _mm512_fmadd_ps(is, _mm512_mul_ps(dw, _mm512_set1_ps(dd[t * nb])), f[t]);
        if (has_min(type)) f[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(((const float *)ss)[t * nb]), f[t]);
    }
}

INLINE CK_AVX512 void store512(float *y, __m512 f, int64_t valid) {
    if (valid >= 16) _mm512_storeu_ps(y, f);
    else if (valid > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << valid) - 1), f);
}

// One 64-row panel: decode reads it as one stream with the four groups in flight; batches take one group at a time
// in tiles of up to 8 tokens, each block's weights unpacked once per tile.
INLINE CK_AVX512 void panel512(int type, const uint8_t *panel, int64_t rows, int64_t row0, int64_t cols, const int8_t *q,
                               const float *d, const void *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 32, gb = gbytes(type);
    const size_t es = 4;  // int32 sums (Q8_0) and f32 s (Q8_1) are both 4 bytes per block
    if (n == 1) {
        __m512 f[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t b = 0; b < nb; b++)
            for (int g = 0; g < 4; g++)
                block512(type, panel + (b * 4 + g) * gb, q + 32 * b, cols, d + b, (const char *)sum + es * b, nb, 1, &f[g]);
        for (int g = 0; g < 4; g++) store512(y + row0 + 16 * g, f[g], rows - row0 - 16 * g);
        return;
    }
    for (int g = 0; g < 4; g++) {
        if (rows - row0 - 16 * g <= 0) break;
        for (int64_t t0 = 0; t0 < n; t0 += 8) {
            const int nt = (int)(n - t0 < 8 ? n - t0 : 8);
            __m512 f[8];
            for (int t = 0; t < 8; t++) f[t] = _mm512_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = panel + (b * 4 + g) * gb;
                const int8_t *qq = q + t0 * cols + 32 * b;
                const float *dd = d + t0 * nb + b;
                const void *ss = (const char *)sum + es * (t0 * nb + b);
                switch (nt) {
                case 1: block512(type, blk, qq, cols, dd, ss, nb, 1, f); break;
                case 2: block512(type, blk, qq, cols, dd, ss, nb, 2, f); break;
                case 3: block512(type, blk, qq, cols, dd, ss, nb, 3, f); break;
                case 4: block512(type, blk, qq, cols, dd, ss, nb, 4, f); break;
                case 5: block512(type, blk, qq, cols, dd, ss, nb, 5, f); break;
                case 6: block512(type, blk, qq, cols, dd, ss, nb, 6, f); break;
                case 7: block512(type, blk, qq, cols, dd, ss, nb, 7, f); break;
                default: block512(type, blk, qq, cols, dd, ss, nb, 8, f); break;
                }
            }
            for (int t = 0; t < nt; t++) store512(y + (t0 + t) * ldy + row0 + 16 * g, f[t], rows - row0 - 16 * g);
        }
    }
}

CK_AVX512 static void matmul512(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t pb = cols / 32 * 4 * gbytes(type);
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *panel = packed + p * pb;
        if (type == CK_Q4_1) panel512(CK_Q4_1, panel, rows, 64 * p, cols, q, d, sum, n, y, ldy);
        else if (type == CK_Q5_0) panel512(CK_Q5_0, panel, rows, 64 * p, cols, q, d, sum, n, y, ldy);
        else panel512(CK_Q5_1, panel, rows, 64 * p, cols, q, d, sum, n, y, ldy);
    }
}

// MARK: AVX2: each 64-byte vector as two 8-row halves (bytes 32h..32h+31); maddubs pairs ≤ 2·31·127, two planes
// added in 16 bits ≤ 15748 < 2^15.

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

// Σ over 8 values of k-step vectors w0 (values 0–3) and w1 (4–7) against a[0..7], per row in int32.
INLINE CK_AVX2 __m256i pairdot256(__m256i w0, __m256i w1, const int8_t *a) {
    const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(w0, _mm256_set1_epi32(word(a))),
                                       _mm256_maddubs_epi16(w1, _mm256_set1_epi32(word(a + 4))));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// One block of one 8-row half for nt tokens (as block512).
INLINE CK_AVX2 void block256(int type, const uint8_t *blk, int h, const int8_t *qq, int64_t cols, const float *dd,
                             const void *ss, int64_t nb, int nt, __m256 *f) {
    __m256i w[8];
    load256(type, blk, h, w);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
    const __m256 mw = has_min(type) ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 32 + 16 * h))) : dw;
    for (int t = 0; t < nt; t++) {
        const int8_t *a = qq + t * cols;
        __m256i is = _mm256_add_epi32(_mm256_add_epi32(pairdot256(w[0], w[1], a), pairdot256(w[2], w[3], a + 8)),
                                      _mm256_add_epi32(pairdot256(w[4], w[5], a + 16), pairdot256(w[6], w[7], a + 24)));
        if (type == CK_Q5_0) is = _mm256_add_epi32(is, _mm256_set1_epi32(offset(type) * ((const int32_t *)ss)[t * nb]));
        f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(dw, _mm256_set1_ps(dd[t * nb])), f[t]);
        if (has_min(type)) f[t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(((const float *)ss)[t * nb]), f[t]);
    }
}

INLINE CK_AVX2 void store256(float *y, __m256 f, int64_t valid) {
    if (valid >= 8) { _mm256_storeu_ps(y, f); return; }
    float tmp[8];
    _mm256_storeu_ps(tmp, f);
    for (int64_t i = 0; i < valid; i++) y[i] = tmp[i];
}

INLINE CK_AVX2 void panel256(int type, const uint8_t *panel, int64_t rows, int64_t row0, int64_t cols, const int8_t *q,
                             const float *d, const void *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t nb = cols / 32, gb = gbytes(type);
    const size_t es = 4;
    if (n == 1) {  // decode: the panel as one stream, eight halves in flight
        __m256 f[8];
        for (int i = 0; i < 8; i++) f[i] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++)
            for (int gh = 0; gh < 8; gh++)
                block256(type, panel + (b * 4 + gh / 2) * gb, gh % 2, q + 32 * b, cols, d + b, (const char *)sum + es * b,
                         nb, 1, &f[gh]);
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
                const uint8_t *blk = panel + (b * 4 + g) * gb;
                const int8_t *qq = q + t0 * cols + 32 * b;
                const float *dd = d + t0 * nb + b;
                const void *ss = (const char *)sum + es * (t0 * nb + b);
                switch (nt) {
                case 1: block256(type, blk, h, qq, cols, dd, ss, nb, 1, f); break;
                case 2: block256(type, blk, h, qq, cols, dd, ss, nb, 2, f); break;
                case 3: block256(type, blk, h, qq, cols, dd, ss, nb, 3, f); break;
                default: block256(type, blk, h, qq, cols, dd, ss, nb, 4, f); break;
                }
            }
            for (int t = 0; t < nt; t++) store256(y + (t0 + t) * ldy + row0 + 8 * gh, f[t], rows - row0 - 8 * gh);
        }
    }
}

CK_AVX2 static void matmul256(int type, const uint8_t *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                              const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy) {
    const int64_t pb = cols / 32 * 4 * gbytes(type);
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *panel = packed + p * pb;
        if (type == CK_Q4_1) panel256(CK_Q4_1, panel, rows, 64 * p, cols, q, d, sum, n, y, ldy);
        else if (type == CK_Q5_0) panel256(CK_Q5_0, panel, rows, 64 * p, cols, q, d, sum, n, y, ldy);
        else panel256(CK_Q5_1, panel, rows, 64 * p, cols, q, d, sum, n, y, ldy);
    }
}

// y = W·a for Q4_1/Q5_0/Q5_1 panels [p0, p1) (sum: int32 Σq per block for Q5_0, f32 s per block for Q4_1/Q5_1).
void ck_matmul_legacy5(int type, const void *packed, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                       const int8_t *q, const float *d, const void *sum, int64_t n, float *y, int64_t ldy) {
    if (ck_isa() >= CK_ISA_AVX512) matmul512(type, packed, rows, cols, p0, p1, q, d, sum, n, y, ldy);
    else matmul256(type, packed, rows, cols, p0, p1, q, d, sum, n, y, ldy);
}
