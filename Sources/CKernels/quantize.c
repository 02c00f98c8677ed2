// Activation quantizers, bit for bit as llama.cpp's x86 build computes them (ggml-cpu/arch/x86/quants.c):
// quantize_row_q8_0 and quantize_row_q8_1 (AVX2 paths: amax, d = amax/127 → f16, id = 127/amax, round half to even;
// q8_1 adds s = f16(d·Σq)) and
// quantize_row_q8_K (= quantize_row_q8_K_ref: signed max, iscale = −127/max, nearest_int, clamp at 127).
// Each has a scalar version (the definition; ISA none) and an AVX2 one that computes the same floats.
#include "ckernels.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))

// Q8_0 and Q8_1 share q and d; Q8_0 also writes sum[b] = Σq, Q8_1 writes s[b] = f16(db·Σq) with the unrounded
// db = amax/127 (x86 quantize_row_q8_1's `d * hsum_i32_8(...)`, then FP32_TO_FP16); either output may be NULL.
static void q8_ref(const float *x, int64_t k, int8_t *q, float *d, int32_t *sum, float *sd) {
    for (int64_t b = 0; b < k / 32; b++) {
        const float *xb = x + 32 * b;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xb[j]));
        const float db = amax / 127.f, id = amax != 0.f ? 127.f / amax : 0.f;
        d[b] = ck_fp16_to_fp32(ck_fp32_to_fp16(db));
        int32_t s = 0;
        for (int j = 0; j < 32; j++) {
            int v = (int)nearbyintf(xb[j] * id);
            q[32 * b + j] = (int8_t)v;
            s += v;
        }
        if (sum) sum[b] = s;
        if (sd) sd[b] = ck_fp16_to_fp32(ck_fp32_to_fp16(db * (float)s));
    }
}

void ck_quantize_q8_0_ref(const float *x, int64_t k, int8_t *q, float *d, int32_t *sum) { q8_ref(x, k, q, d, sum, NULL); }
void ck_quantize_q8_1_ref(const float *x, int64_t k, int8_t *q, float *d, float *s) { q8_ref(x, k, q, d, NULL, s); }

CK_AVX2 static void q8_avx2(const float *x, int64_t k, int8_t *q, float *d, int32_t *sum, float *sd) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t b = 0; b < k / 32; b++) {
        const float *xb = x + 32 * b;
        __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8), v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
        __m128 h = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        const float db = amax / 127.f, id = amax != 0.f ? 127.f / amax : 0.f;
        d[b] = _cvtsh_ss(_cvtss_sh(db, 0));
        const __m256 mul = _mm256_set1_ps(id);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_extracti128_si256(s, 1), _mm256_castsi256_si128(s));
        s4 = _mm_hadd_epi32(s4, s4);
        s4 = _mm_hadd_epi32(s4, s4);
        const int32_t isum = _mm_cvtsi128_si32(s4);
        if (sum) sum[b] = isum;
        if (sd) sd[b] = _cvtsh_ss(_cvtss_sh(db * (float)isum, 0));
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        _mm256_storeu_si256((__m256i *)(q + 32 * b), _mm256_permutevar8x32_epi32(p, perm));
    }
}

void ck_quantize_q8_0(const float *x, int64_t k, int8_t *q, float *d, int32_t *sum) {
    if (ck_isa() >= CK_ISA_AVX2) q8_avx2(x, k, q, d, sum, NULL);
    else ck_quantize_q8_0_ref(x, k, q, d, sum);
}

void ck_quantize_q8_1(const float *x, int64_t k, int8_t *q, float *d, float *s) {
    if (ck_isa() >= CK_ISA_AVX2) q8_avx2(x, k, q, d, NULL, s);
    else ck_quantize_q8_1_ref(x, k, q, d, s);
}

// nearest_int of ggml-quants.c: round half to even through the float adder (|f| ≤ 2^22).
static inline int nearest_int(float f) {
    float v = f + 12582912.f;
    int32_t i;
    memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

void ck_quantize_q8_K_ref(const float *x, int64_t k, int8_t *q, float *d, int16_t *bsum) {
    for (int64_t b = 0; b < k / 256; b++) {
        const float *xb = x + 256 * b;
        int8_t *qb = q + 256 * b;
        float max = 0, amax = 0;
        for (int j = 0; j < 256; j++) {
            float ax = fabsf(xb[j]);
            if (ax > amax) { amax = ax; max = xb[j]; }
        }
        if (amax == 0) {
            d[b] = 0;
            memset(qb, 0, 256);
            memset(bsum + 16 * b, 0, 32);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < 256; j++) {
            int v = nearest_int(iscale * xb[j]);
            qb[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += qb[16 * j + i];
            bsum[16 * b + j] = (int16_t)s;
        }
        d[b] = 1 / iscale;
    }
}

CK_AVX2 static void q8_K_avx2(const float *x, int64_t k, int8_t *q, float *d, int16_t *bsum) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t b = 0; b < k / 256; b++) {
        const float *xb = x + 256 * b;
        int8_t *qb = q + 256 * b;
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < 256; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(xb + j)));
        __m128 h = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        if (amax == 0) {
            d[b] = 0;
            memset(qb, 0, 256);
            memset(bsum + 16 * b, 0, 32);
            continue;
        }
        float max = 0;  // the first value of largest magnitude, with its sign (the reference's strict '>')
        for (int j = 0; j < 256; j++) if (fabsf(xb[j]) == amax) { max = xb[j]; break; }
        const float iscale = -127.f / max;
        const __m256 mul = _mm256_set1_ps(iscale);
        const __m256i top = _mm256_set1_epi32(127);
        for (int j = 0; j < 256; j += 32) {
            __m256i i[4];
            for (int u = 0; u < 4; u++) {
                __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(xb + j + 8 * u), mul),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                i[u] = _mm256_min_epi32(_mm256_cvtps_epi32(v), top);
            }
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
            p = _mm256_permutevar8x32_epi32(p, perm);
            _mm256_storeu_si256((__m256i *)(qb + j), p);
            // Σ of each 16 values: widen to i16 pairs, then madd with ones and fold.
            __m256i w = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), p), _mm256_set1_epi16(1));
            // w: 8 i32, each the sum of 4 bytes; lanes 0-3 = first 16 values, 4-7 = next 16.
            __m128i lo = _mm256_castsi256_si128(w), hi = _mm256_extracti128_si256(w, 1);
            lo = _mm_hadd_epi32(lo, hi);
            lo = _mm_hadd_epi32(lo, lo);
            bsum[16 * b + j / 16] = (int16_t)_mm_extract_epi32(lo, 0);
            bsum[16 * b + j / 16 + 1] = (int16_t)_mm_extract_epi32(lo, 1);
        }
        d[b] = 1 / iscale;
    }
}

void ck_quantize_q8_K(const float *x, int64_t k, int8_t *q, float *d, int16_t *bsum) {
    if (ck_isa() >= CK_ISA_AVX2) q8_K_avx2(x, k, q, d, bsum);
    else ck_quantize_q8_K_ref(x, k, q, d, bsum);
}
