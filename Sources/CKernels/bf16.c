// BF16 weights with bf16 activations, as llama.cpp multiplies them (vec_dot_type BF16: the activation row rounded to
// bf16 half to even, ggml_compute_fp32_to_bf16). Panels as for the integer types: rows padded to 64, and for k-pair s
// (values 2s, 2s+1) the four 16-row groups in turn, each one 64-byte vector = 16 rows × (W[r][2s], W[r][2s+1]) — the
// operand order of vdpbf16ps, so a panel is one sequential stream and no horizontal sums are needed.
// y[t·ldy + r] = Σ_k W[r][k]·b[t][k]. AVX512_BF16: vdpbf16ps; otherwise (AVX2) the pairs widened to f32 and FMA'd.
#include "ckernels.h"
#include "kernels_internal.h"
#include <immintrin.h>
#include <string.h>

#define CK_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c")))

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

// nt ≤ 3 tokens × one 64-row panel, read as one stream (k-pair by k-pair, the 4 groups of each in order). Per (row,
// token) two chains, over the even and the odd k-pairs (an odd last pair goes to the even chain), added at the end:
// y = even + odd, the same bits for every batch size. 4 groups × 2 parities × nt = 8–24 accumulators in registers;
// one token is the decode (8 chains in flight). (Group by group, the earlier batch order, read four strided streams:
// 11 GB/s per core from DRAM at 2–8 tokens. Spans of 16 KB run by every tile in turn, the last one prefetching the
// next span so that DRAM overlaps the later tiles, ran 10–20% slower than whole-panel tiles at 4–16 tokens.)
INLINE CK_AVX512BF16 void tile512(const uint16_t *panel, int64_t pairs, const uint16_t *b, int64_t cols, int nt, float *y,
                                  int64_t ldy, int64_t valid) {
    __m512 acc[4][3][2];
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) acc[g][t][0] = acc[g][t][1] = _mm512_setzero_ps();
    int64_t s = 0;
    for (; s + 2 <= pairs; s += 2)
        for (int e = 0; e < 2; e++)
            for (int g = 0; g < 4; g++) {
                const __m512bh w = (__m512bh)_mm512_loadu_si512(panel + ((s + e) * 4 + g) * 32);
                for (int t = 0; t < nt; t++)
                    acc[g][t][e] = _mm512_dpbf16_ps(acc[g][t][e], w, (__m512bh)_mm512_set1_epi32(pair(b + t * cols + 2 * (s + e))));
            }
    if (s < pairs)
        for (int g = 0; g < 4; g++) {
            const __m512bh w = (__m512bh)_mm512_loadu_si512(panel + (s * 4 + g) * 32);
            for (int t = 0; t < nt; t++)
                acc[g][t][0] = _mm512_dpbf16_ps(acc[g][t][0], w, (__m512bh)_mm512_set1_epi32(pair(b + t * cols + 2 * s)));
        }
    for (int g = 0; g < 4; g++)
        for (int t = 0; t < nt; t++) store16(y + t * ldy + 16 * g, _mm512_add_ps(acc[g][t][0], acc[g][t][1]), valid - 16 * g);
}

// Balanced tiles of at most 3 tokens (what the 32 registers hold); batches re-read the panel per tile, from L2.
CK_AVX512BF16 static void matmul_bf16_512(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                          const uint16_t *b, int64_t n, float *y, int64_t ldy) {
    const int64_t pairs = cols / 2, tiles = (n + 2) / 3;
    for (int64_t p = p0; p < p1; p++) {
        const uint16_t *panel = w + p * pairs * 128;
        for (int64_t i = 0, t0 = 0; i < tiles; i++) {
            const int nt = (int)(n / tiles + (i < n % tiles));
            const uint16_t *bb = b + t0 * cols;
            float *yy = y + t0 * ldy + 64 * p;
            if (nt == 1) tile512(panel, pairs, bb, cols, 1, yy, ldy, rows - 64 * p);
            else if (nt == 2) tile512(panel, pairs, bb, cols, 2, yy, ldy, rows - 64 * p);
            else tile512(panel, pairs, bb, cols, 3, yy, ldy, rows - 64 * p);
            t0 += nt;
        }
    }
}

// AVX2: an 8-row half of a group's vector holds 8 (w[2s], w[2s+1]) pairs; shifting left by 16 gives the first as f32,
// masking the low half gives the second. Per (row, token) one chain: y = fma(w[2s+1], b[2s+1], fma(w[2s], b[2s], y))
// over s in order, the same bits for every batch size.

INLINE CK_AVX2 void store8(float *y, __m256 f, int64_t valid) {
    if (valid >= 8) { _mm256_storeu_ps(y, f); return; }
    float out[8];
    _mm256_storeu_ps(out, f);
    for (int64_t i = 0; i < valid; i++) y[i] = out[i];
}

// The bf16 activation value b (a bf16 bit pattern) as f32, broadcast.
INLINE CK_AVX2 __m256 widen1(uint16_t b) {
    const uint32_t x = (uint32_t)b << 16;
    float f;
    memcpy(&f, &x, 4);
    return _mm256_set1_ps(f);
}

// nt ≤ 4 tokens × one 64-row panel, read as one stream (k-pair by k-pair, its 8 halves in order); the 8 × nt
// accumulators live in L1 beyond the decode's 8. (Half by half and token by token, the earlier batch order, read
// strided streams: 2–8 GB/s per core from DRAM.)
INLINE CK_AVX2 void tile256(const uint16_t *panel, int64_t pairs, const uint16_t *b, int64_t cols, int nt, float *y,
                            int64_t ldy, int64_t valid) {
    const __m256i high = _mm256_set1_epi32((int32_t)0xFFFF0000u);
    const int nh = valid >= 64 ? 8 : (int)((valid + 7) / 8);  // halves holding real rows
    __m256 acc[8][4];
    for (int gh = 0; gh < 8; gh++)
        for (int t = 0; t < nt; t++) acc[gh][t] = _mm256_setzero_ps();
    for (int64_t s = 0; s < pairs; s++) {
        __m256 b0[4], b1[4];
        for (int t = 0; t < nt; t++) b0[t] = widen1(b[t * cols + 2 * s]), b1[t] = widen1(b[t * cols + 2 * s + 1]);
        for (int gh = 0; gh < nh; gh++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(panel + s * 128 + 16 * gh));
            const __m256 lo = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), hi = _mm256_castsi256_ps(_mm256_and_si256(v, high));
            for (int t = 0; t < nt; t++) acc[gh][t] = _mm256_fmadd_ps(hi, b1[t], _mm256_fmadd_ps(lo, b0[t], acc[gh][t]));
        }
    }
    for (int gh = 0; gh < nh; gh++)
        for (int t = 0; t < nt; t++) store8(y + t * ldy + 8 * gh, acc[gh][t], valid - 8 * gh);
}

// Balanced tiles of at most 4 tokens; batches re-read the panel per tile, from L2.
CK_AVX2 static void matmul_bf16_256(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                    const uint16_t *b, int64_t n, float *y, int64_t ldy) {
    const int64_t pairs = cols / 2, tiles = (n + 3) / 4;
    for (int64_t p = p0; p < p1; p++) {
        const uint16_t *panel = w + p * pairs * 128;
        for (int64_t i = 0, t0 = 0; i < tiles; i++) {
            const int nt = (int)(n / tiles + (i < n % tiles));
            const uint16_t *bb = b + t0 * cols;
            float *yy = y + t0 * ldy + 64 * p;
            switch (nt) {
            case 1: tile256(panel, pairs, bb, cols, 1, yy, ldy, rows - 64 * p); break;
            case 2: tile256(panel, pairs, bb, cols, 2, yy, ldy, rows - 64 * p); break;
            case 3: tile256(panel, pairs, bb, cols, 3, yy, ldy, rows - 64 * p); break;
            default: tile256(panel, pairs, bb, cols, 4, yy, ldy, rows - 64 * p); break;
            }
            t0 += nt;
        }
    }
}

void ck_matmul_bf16(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1, const uint16_t *b, int64_t n,
                    float *y, int64_t ldy) {
    if (ck_has_avx512_bf16()) matmul_bf16_512(w, rows, cols, p0, p1, b, n, y, ldy);
    else matmul_bf16_256(w, rows, cols, p0, p1, b, n, y, ldy);
}
