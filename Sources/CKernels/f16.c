// F16 weights with f16 activations, as llama.cpp multiplies them (type F16: vec_dot_type F16, the activation row
// rounded by ggml_fp32_to_fp16_row = F16C vcvtps2ph imm 0, round to nearest even; ggml_vec_dot_f16 widens both to f32
// and accumulates with FMA in f32). Zen 4 has no f16 dot instruction, so the kernels widen (vcvtph2ps) and FMA in f32.
//
// Panels: rows padded with zeros to whole 64-row panels; panel p holds, for k = 0 … cols−1 in turn, the 64 values
// W[64p + r][k], r = 0 … 63: 128 bytes = four 16-row groups of 32 bytes. Element (p, k, r) is at dst[(p·cols + k)·64 + r].
// One vcvtph2ps zmm widens 16 rows' values of one k (AVX2: 16 bytes → 8 rows) ready to multiply by a broadcast
// activation, so no horizontal sums are needed, and a decode reads each panel as one sequential stream. Any cols ≥ 1.
//
// Float order, the same at every ISA level, tile width and batch size (ck_matmul_f16_reference spells it out):
// for row r and token t,
//     y = 0;  for each chunk of 256 consecutive k (KC; the last one may be shorter):
//                 s = 0;  for k in the chunk, ascending: s = fma(W[r][k], b_t[k], s);  then y = y + s.
// Each lane of a vector accumulator is one (row, token) chain, so SIMD width and tiling change nothing. The product of
// two f16 values is exact in f32 (11 + 11 significand bits, exponents far inside f32's range), so fma(w, b, s) and
// s + w·b round alike and no subnormal ever arises. Chunking bounds the rounding error by about (256 + cols/256)·ε·Σ|W·b|
// instead of cols·ε, and lets the GEMM keep a chunk of weights (32 KB per panel) in L1/L2 while every token tile reuses
// it; y holds the running sums between chunks. The token tiles prefetch the next chunk (contiguous in memory: the next
// panel's first chunk follows a panel's last) into L2, which doubles small-batch speed (the first tile no longer waits
// on memory); a decode (one token) reads its panel as one stream and leaves it to the hardware prefetcher.
#include "ckernels.h"
#include "kernels_internal.h"
#include <immintrin.h>
#include <string.h>


enum { KC = 256 };  // k per chunk: part of the float order (the bits change with it), not only a tuning knob
// Token tiles (measured on Zen 4, 4096² × 64 tokens): AVX-512 6 tokens × the whole panel (4 groups) = 24 zmm
// accumulators + 4 widened weights + 1 broadcast (12 × 2 groups: 12% slower, its broadcasts fold into the FMAs as
// memory operands); AVX2 6 tokens × 16 rows = 12 ymm accumulators + 2 weights + 1 broadcast of 16 registers.
enum { NT512 = 6, NT256 = 6, H256 = 2 };

// MARK: Rounding, repacking

// out[i] = f16(x[i]) as F16C's vcvtps2ph with imm 0 (round to nearest even; overflow → ±inf; f16 subnormals kept; NaN
// → quiet NaN with the sign and the top 9 payload bits: sign | 0x7E00 | mantissa >> 13).
static uint16_t round_scalar(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(((u >> 16) & 0x8000u) | 0x7E00u | ((u >> 13) & 0x3FFu));
    return ck_fp32_to_fp16(f);
}

CK_AVX512 static void round512(const float *x, int64_t n, uint16_t *out) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(out + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm256_mask_storeu_epi16(out + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT));
    }
}

CK_AVX2 static void round256(const float *x, int64_t n, uint16_t *out) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {  // the tail through a zero-padded vector, so it is converted by the same instruction
        float in[8] = {0};
        uint16_t h[8];
        memcpy(in, x + i, (size_t)(n - i) * 4);
        _mm_storeu_si128((__m128i *)h, _mm256_cvtps_ph(_mm256_loadu_ps(in), _MM_FROUND_TO_NEAREST_INT));
        memcpy(out + i, h, (size_t)(n - i) * 2);
    }
}

void ck_round_f16(const float *x, int64_t n, uint16_t *out) {
    const int isa = ck_isa();
    if (isa >= CK_ISA_AVX512) round512(x, n, out);
    else if (isa >= CK_ISA_AVX2) round256(x, n, out);
    else for (int64_t i = 0; i < n; i++) out[i] = round_scalar(x[i]);
}

// ceil(rows / 64)·64·cols f16 values.
size_t ck_f16_packed_size(int64_t rows, int64_t cols) { return (size_t)((rows + 63) / 64 * 64 * cols * 2); }

// dst[(p·cols + k)·64 + r] = src[(64p + r)·cols + k] (0 where 64p + r ≥ rows) for panels p in [p0, p1).
void ck_repack_f16(const uint16_t *src, int64_t rows, int64_t cols, uint16_t *dst, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
        uint16_t *panel = dst + p * cols * 64;
        for (int r = 0; r < 64; r++) {
            const int64_t row = 64 * p + r;
            if (row < rows) {
                const uint16_t *s = src + row * cols;
                for (int64_t k = 0; k < cols; k++) panel[k * 64 + r] = s[k];
            } else {
                for (int64_t k = 0; k < cols; k++) panel[k * 64 + r] = 0;
            }
        }
    }
}

// MARK: Scalar

// The float order of the file header on row-major W (rows × cols) and n activation rows b (n × cols, f16):
// y[t·ldy + r] = Σ over chunks (Σ_k in chunk fma(W[r][k], b_t[k], ·) from 0), chunk sums added to 0 in order.
void ck_matmul_f16_reference(const uint16_t *src, int64_t rows, int64_t cols, const uint16_t *b, int64_t n, float *y,
                             int64_t ldy) {
    for (int64_t t = 0; t < n; t++)
        for (int64_t r = 0; r < rows; r++) {
            float total = 0.0f;
            for (int64_t k0 = 0; k0 < cols; k0 += KC) {
                const int64_t k1 = k0 + KC < cols ? k0 + KC : cols;
                float s = 0.0f;
                for (int64_t k = k0; k < k1; k++)
                    s = __builtin_fmaf(ck_fp16_to_fp32(src[r * cols + k]), ck_fp16_to_fp32(b[t * cols + k]), s);
                total += s;
            }
            y[t * ldy + r] = total;
        }
}

// The same order on the panels (what runs below AVX2). The product is exact, so s + w·b is the fma.
static void matmul_scalar(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1, const uint16_t *b,
                          int64_t n, float *y, int64_t ldy) {
    for (int64_t p = p0; p < p1; p++)
        for (int64_t r = 0; r < 64 && 64 * p + r < rows; r++)
            for (int64_t t = 0; t < n; t++) {
                float total = 0.0f;
                for (int64_t k0 = 0; k0 < cols; k0 += KC) {
                    const int64_t k1 = k0 + KC < cols ? k0 + KC : cols;
                    float s = 0.0f;
                    for (int64_t k = k0; k < k1; k++)
                        s += ck_fp16_to_fp32(w[(p * cols + k) * 64 + r]) * ck_fp16_to_fp32(b[t * cols + k]);
                    total += s;
                }
                y[t * ldy + 64 * p + r] = total;
            }
}

// MARK: AVX-512

// a[t·KC + j] = f32(b[t·cols + k0 + j]) for t < nt, j < len: the chunk of nt activation rows widened once (exactly),
// then broadcast from L1 by every FMA that uses it.
CK_AVX512 static void widen512(const uint16_t *b, int64_t cols, int64_t k0, int len, int nt, float *a) {
    for (int t = 0; t < nt; t++) {
        const uint16_t *src = b + t * cols + k0;
        int j = 0;
        for (; j + 16 <= len; j += 16)
            _mm512_store_ps(a + t * KC + j, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + j))));
        if (j < len) {
            const __mmask16 m = (__mmask16)((1u << (len - j)) - 1);
            _mm512_store_ps(a + t * KC + j, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + j)));
        }
    }
}

// y[t·ldy + i] = (first ? 0 : y[t·ldy + i]) + s[i] for the first `valid` of 16 rows.
INLINE CK_AVX512 void add16(float *y, __m512 s, int first, int64_t valid) {
    const __mmask16 m = valid >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1);
    const __m512 old = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, y);
    _mm512_mask_storeu_ps(y, m, _mm512_add_ps(old, s));
}

// One chunk (len k) of a whole panel (G = 4 groups) × NT tokens (a constant after inlining): s[t][g] = the fma chain
// over the chunk from 0, each widened weight vector used by NT tokens; then y += s. wk: the chunk's first k.
INLINE CK_AVX512 void tile512(const uint16_t *wk, int len, const float *a, int NT, float *y, int64_t ldy, int first,
                              int64_t valid) {
    enum { G = 4 };
    __m512 acc[NT512 * G];
    for (int i = 0; i < NT * G; i++) acc[i] = _mm512_setzero_ps();
    for (int k = 0; k < len; k++) {
        __m512 w[G];
        for (int g = 0; g < G; g++) w[g] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wk + k * 64 + 16 * g)));
        if (NT > 1) {  // the next chunk into L2 (see the file header): the first tile's pass would otherwise wait on it
            _mm_prefetch((const char *)(wk + (KC + k) * 64), _MM_HINT_T1);
            _mm_prefetch((const char *)(wk + (KC + k) * 64 + 32), _MM_HINT_T1);
        }
        for (int t = 0; t < NT; t++) {
            const __m512 x = _mm512_set1_ps(a[t * KC + k]);
            for (int g = 0; g < G; g++) acc[t * G + g] = _mm512_fmadd_ps(w[g], x, acc[t * G + g]);
        }
    }
    for (int t = 0; t < NT; t++)
        for (int g = 0; g < G && valid - 16 * g > 0; g++) add16(y + t * ldy + 16 * g, acc[t * G + g], first, valid - 16 * g);
}

CK_AVX512 static void matmul512(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1, const uint16_t *b,
                                int64_t n, float *y, int64_t ldy) {
    float a[NT512 * KC] __attribute__((aligned(64)));
    for (int64_t p = p0; p < p1; p++) {
        const uint16_t *panel = w + p * cols * 64;
        const int64_t valid = rows - 64 * p;
        for (int64_t k0 = 0; k0 < cols; k0 += KC) {  // the chunk's 32 KB of weights stay in L1/L2 for every token tile
            const int len = (int)(cols - k0 < KC ? cols - k0 : KC);
            const int first = k0 == 0;
            // n = 1 (decode): the panel as one stream, 4 chains in flight. Balanced tiles (7 → 4 + 3, not 6 + 1,
            // whose 1-token pass is FMA-latency-bound: 7 and 8 tokens ran 10% slower than 6).
            const int64_t tiles = (n + NT512 - 1) / NT512;
            for (int64_t i = 0, t0 = 0; i < tiles; t0 += n / tiles + (i < n % tiles), i++) {
                const int nt = (int)(n / tiles + (i < n % tiles));
                const uint16_t *wk = panel + k0 * 64;
                float *yy = y + t0 * ldy + 64 * p;
                widen512(b + t0 * cols, cols, k0, len, nt, a);
                switch (nt) {
                case 1: tile512(wk, len, a, 1, yy, ldy, first, valid); break;
                case 2: tile512(wk, len, a, 2, yy, ldy, first, valid); break;
                case 3: tile512(wk, len, a, 3, yy, ldy, first, valid); break;
                case 4: tile512(wk, len, a, 4, yy, ldy, first, valid); break;
                case 5: tile512(wk, len, a, 5, yy, ldy, first, valid); break;
                default: tile512(wk, len, a, 6, yy, ldy, first, valid); break;
                }
            }
        }
    }
}

// MARK: AVX2

// As widen512 (8 at a time; the tail through the exact scalar conversion).
CK_AVX2 static void widen256(const uint16_t *b, int64_t cols, int64_t k0, int len, int nt, float *a) {
    for (int t = 0; t < nt; t++) {
        const uint16_t *src = b + t * cols + k0;
        int j = 0;
        for (; j + 8 <= len; j += 8)
            _mm256_store_ps(a + t * KC + j, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + j))));
        for (; j < len; j++) a[t * KC + j] = ck_fp16_to_fp32(src[j]);
    }
}

// y[i] = (first ? 0 : y[i]) + s[i] for the first `valid` of 8 rows.
INLINE CK_AVX2 void add8(float *y, __m256 s, int first, int64_t valid) {
    if (valid >= 8) {
        _mm256_storeu_ps(y, _mm256_add_ps(first ? _mm256_setzero_ps() : _mm256_loadu_ps(y), s));
        return;
    }
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 old = first ? _mm256_setzero_ps() : _mm256_maskload_ps(y, m);
    _mm256_maskstore_ps(y, m, _mm256_add_ps(old, s));
}

// As tile512 with H 8-row halves (16 bytes of f16 each) × NT tokens.
INLINE CK_AVX2 void tile256(const uint16_t *wk, int len, const float *a, int H, int NT, float *y, int64_t ldy, int first,
                            int64_t valid) {
    __m256 acc[NT256 * 8];
    for (int i = 0; i < NT * H; i++) acc[i] = _mm256_setzero_ps();
    for (int k = 0; k < len; k++) {
        __m256 w[8];
        for (int h = 0; h < H; h++) w[h] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wk + k * 64 + 8 * h)));
        if (NT > 1) {  // the next chunk into L2, as tile512
            _mm_prefetch((const char *)(wk + (KC + k) * 64), _MM_HINT_T1);
            _mm_prefetch((const char *)(wk + (KC + k) * 64 + 32), _MM_HINT_T1);
        }
        for (int t = 0; t < NT; t++) {
            const __m256 x = _mm256_broadcast_ss(a + t * KC + k);
            for (int h = 0; h < H; h++) acc[t * H + h] = _mm256_fmadd_ps(w[h], x, acc[t * H + h]);
        }
    }
    for (int t = 0; t < NT; t++)
        for (int h = 0; h < H && valid - 8 * h > 0; h++) add8(y + t * ldy + 8 * h, acc[t * H + h], first, valid - 8 * h);
}

CK_AVX2 static void matmul256(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1, const uint16_t *b,
                              int64_t n, float *y, int64_t ldy) {
    float a[NT256 * KC] __attribute__((aligned(32)));
    for (int64_t p = p0; p < p1; p++) {
        const uint16_t *panel = w + p * cols * 64;
        const int64_t valid = rows - 64 * p;
        for (int64_t k0 = 0; k0 < cols; k0 += KC) {
            const int len = (int)(cols - k0 < KC ? cols - k0 : KC);
            const int first = k0 == 0;
            for (int64_t t0 = 0; t0 < n; t0 += NT256) {  // full tiles first: 3- and 4-token passes widen more per FMA
                const int nt = (int)(n - t0 < NT256 ? n - t0 : NT256);
                // Fewer tokens, more rows per pass, so that 8 or more chains hide the FMA latency within 16 registers:
                // 1 token × the whole panel (decode: one stream), 2 × 32 rows, otherwise 16 rows (3 × 32 spills).
                const int H = nt == 1 ? 8 : nt == 2 ? 4 : H256;
                widen256(b + t0 * cols, cols, k0, len, nt, a);
                for (int h0 = 0; h0 < 8 && valid - 8 * h0 > 0; h0 += H) {
                    const uint16_t *wk = panel + k0 * 64 + 8 * h0;
                    float *yy = y + t0 * ldy + 64 * p + 8 * h0;
                    const int64_t v = valid - 8 * h0;
                    switch (nt) {
                    case 1: tile256(wk, len, a, 8, 1, yy, ldy, first, v); break;
                    case 2: tile256(wk, len, a, 4, 2, yy, ldy, first, v); break;
                    case 3: tile256(wk, len, a, H256, 3, yy, ldy, first, v); break;
                    case 4: tile256(wk, len, a, H256, 4, yy, ldy, first, v); break;
                    case 5: tile256(wk, len, a, H256, 5, yy, ldy, first, v); break;
                    default: tile256(wk, len, a, H256, 6, yy, ldy, first, v); break;
                    }
                }
            }
        }
    }
}

// y[t·ldy + r] = Σ_k W[r][k]·b_t[k] (the float order of the file header) for t < n and the rows r < rows of panels
// [p0, p1); b: n f16 activation rows of cols values (ck_round_f16).
void ck_matmul_f16(const uint16_t *w, int64_t rows, int64_t cols, int64_t p0, int64_t p1, const uint16_t *b, int64_t n,
                   float *y, int64_t ldy) {
    const int isa = ck_isa();
    if (isa >= CK_ISA_AVX512) matmul512(w, rows, cols, p0, p1, b, n, y, ldy);
    else if (isa >= CK_ISA_AVX2) matmul256(w, rows, cols, p0, p1, b, n, y, ldy);
    else matmul_scalar(w, rows, cols, p0, p1, b, n, y, ldy);
}
