// Weight repacking into VNNI-16 panels (see ckernels.h) and the scalar reference of the packed matmul.
//
// Q8_0 (34-byte blocks: f16 d, 32 × s8): per (block, 16-row group) 16 f16 scales, then 8 vectors; vector s byte
//   4r + j = W[r][32b + 4s + j] XOR 0x80 (u8 = s8 + 128; the kernels start the accumulator at −128·Σa).
// Q4_0 (18-byte blocks: f16 d, 16 bytes; value j = low nibble of byte j, value j+16 = its high nibble, minus 8):
//   per (block, group) 16 f16 scales, then 4 vectors; vector s byte 4r + j = nibble of W[r][32b + 8s + j] (low)
//   | nibble of W[r][32b + 8s + 4 + j] << 4 (high), unsigned 0–15 (the kernels start at −8·Σa).
#include "ckernels.h"
#include <string.h>

static int64_t block_values(int type) { return type == CK_Q4_K || type == CK_Q5_K || type == CK_Q6_K ? 256 : 32; }
static int64_t src_block_bytes(int type) {
    switch (type) { case CK_Q8_0: return 34; case CK_Q4_0: return 18; case CK_Q4_K: return 144; case CK_Q6_K: return 210; }
    return 0;
}
// Bytes of one (block, 16-row group) in the packed layout.
int64_t ck_group_block_bytes(int type) {
    switch (type) {
    case CK_Q8_0: return 32 + 512; case CK_Q4_0: return 32 + 256; case CK_Q4_K: return 2368; case CK_Q6_K: return 3360;
    case CK_Q4_1: return 320; case CK_Q5_0: return 352; case CK_Q5_1: return 384; case CK_Q5_K: return 2880;  // legacy5.c, q5k.c
    }
    return 0;
}

void ck_repack_k(int type, const void *src, int64_t rows, int64_t cols, void *dst, int64_t p0, int64_t p1);
void ck_matmul_reference_k(int type, const void *src, int64_t rows, int64_t cols, const int8_t *q, const float *d,
                           const int16_t *bsum, int64_t n, float *y, int64_t ldy);
void ck_repack_legacy5(int type, const void *src, int64_t rows, int64_t cols, void *dst, int64_t p0, int64_t p1);
void ck_matmul_reference_legacy5(int type, const void *src, int64_t rows, int64_t cols, const int8_t *q, const float *d,
                                 const void *sum, int64_t n, float *y, int64_t ldy);
void ck_repack_q5k(const void *src, int64_t rows, int64_t cols, void *dst, int64_t p0, int64_t p1);
void ck_matmul_reference_q5k(const void *src, int64_t rows, int64_t cols, const int8_t *q, const float *d,
                             const int16_t *bsum, int64_t n, float *y, int64_t ldy);
static int is_legacy5(int type) { return type == CK_Q4_1 || type == CK_Q5_0 || type == CK_Q5_1; }

int ck_activation_kind(int type) {
    switch (type) {
    case CK_Q8_0: case CK_Q4_0: case CK_Q5_0: return 0;
    case CK_Q4_K: case CK_Q5_K: case CK_Q6_K: return 1;
    case CK_Q4_1: case CK_Q5_1: return 3;
    }
    return -1;
}

size_t ck_packed_size(int type, int64_t rows, int64_t cols) {
    int64_t panels = (rows + 63) / 64;
    return (size_t)(panels * (cols / block_values(type)) * 4 * ck_group_block_bytes(type));
}

static inline uint16_t load_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

void ck_repack(int type, const void *src, int64_t rows, int64_t cols, void *dst, int64_t p0, int64_t p1) {
    if (type == CK_Q4_K || type == CK_Q6_K) { ck_repack_k(type, src, rows, cols, dst, p0, p1); return; }
    if (type == CK_Q5_K) { ck_repack_q5k(src, rows, cols, dst, p0, p1); return; }
    if (is_legacy5(type)) { ck_repack_legacy5(type, src, rows, cols, dst, p0, p1); return; }
    const int64_t nb = cols / block_values(type), sb = src_block_bytes(type), gb = ck_group_block_bytes(type);
    const int64_t rowBytes = nb * sb;
    const uint8_t *s = src;
    for (int64_t p = p0; p < p1; p++) {
        uint8_t *panel = (uint8_t *)dst + p * nb * 4 * gb;
        for (int64_t b = 0; b < nb; b++) {
            for (int g = 0; g < 4; g++) {
                uint8_t *out = panel + (b * 4 + g) * gb;
                uint16_t *scales = (uint16_t *)out;
                uint8_t *v = out + 32;
                for (int r = 0; r < 16; r++) {
                    int64_t row = 64 * p + 16 * g + r;
                    if (row >= rows) {  // padding rows: scale 0, zero values
                        scales[r] = 0;
                        for (int s2 = 0; s2 < (type == CK_Q8_0 ? 8 : 4); s2++)
                            memset(v + 64 * s2 + 4 * r, type == CK_Q8_0 ? 0x80 : 0x88, 4);
                        continue;
                    }
                    const uint8_t *blk = s + row * rowBytes + b * sb;
                    scales[r] = load_u16(blk);
                    if (type == CK_Q8_0) {
                        for (int s2 = 0; s2 < 8; s2++)
                            for (int j = 0; j < 4; j++) v[64 * s2 + 4 * r + j] = blk[2 + 4 * s2 + j] ^ 0x80;
                    } else {
                        uint8_t nib[32];
                        for (int j = 0; j < 16; j++) { nib[j] = blk[2 + j] & 0x0F; nib[j + 16] = blk[2 + j] >> 4; }
                        for (int s2 = 0; s2 < 4; s2++)
                            for (int j = 0; j < 4; j++)
                                v[64 * s2 + 4 * r + j] = (uint8_t)(nib[8 * s2 + j] | (nib[8 * s2 + 4 + j] << 4));
                    }
                }
            }
        }
    }
}

void ck_matmul_reference(int type, const void *src, int64_t rows, int64_t cols, const int8_t *q, const float *d,
                         const void *sum, int64_t n, float *y, int64_t ldy) {
    if (type == CK_Q4_K || type == CK_Q6_K) { ck_matmul_reference_k(type, src, rows, cols, q, d, sum, n, y, ldy); return; }
    if (type == CK_Q5_K) { ck_matmul_reference_q5k(src, rows, cols, q, d, sum, n, y, ldy); return; }
    if (is_legacy5(type)) { ck_matmul_reference_legacy5(type, src, rows, cols, q, d, sum, n, y, ldy); return; }
    const int64_t nb = cols / 32, sb = src_block_bytes(type);
    const int32_t *sums = sum;
    (void)sums;
    for (int64_t t = 0; t < n; t++) {
        const int8_t *a = q + t * cols;
        for (int64_t r = 0; r < rows; r++) {
            const uint8_t *row = (const uint8_t *)src + r * nb * sb;
            float f = 0;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = row + b * sb;
                int32_t isum = 0;
                for (int j = 0; j < 32; j++) {
                    int w = type == CK_Q8_0 ? (int8_t)blk[2 + j]
                                            : (j < 16 ? (blk[2 + j] & 0x0F) : (blk[2 + j - 16] >> 4)) - 8;
                    isum += w * a[32 * b + j];
                }
                f = __builtin_fmaf((float)isum, ck_fp16_to_fp32(load_u16(blk)) * d[t * nb + b], f);
            }
            y[t * ldy + r] = f;
        }
    }
}
