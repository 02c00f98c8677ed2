// Shared by the kernel files of CKernels (not part of the public header): target attributes per ISA level, unaligned
// little-endian loads, L2 prefetch, and the balanced token tiling every batch kernel uses.
#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

// CK_ISA_AVX512 means F/BW/VL/DQ + VNNI (dispatch.c), so every AVX-512 variant may use all of them.
#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

// u16 / i32 at any alignment: the f16 scales of a block, four activation bytes for one vpdpbusd broadcast.
static inline uint16_t u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline int32_t word(const int8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// Prefetches the cache lines of [p, p + len) into L2 (prefetches never fault, past the end of the matrix included).
INLINE void ahead(const uint8_t *p, int64_t len) {
    for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)63; a < (uintptr_t)p + (uintptr_t)len; a += 64) _mm_prefetch((const char *)a, _MM_HINT_T1);
}

// Balanced tiles of at most MAX (≤ 8) tokens of the n in scope (9 at 8 → 5 + 4): TILE(T0, NT) runs tokens
// [T0, T0 + NT), NT a constant so each tile width is its own inlined kernel.
#define TILES(MAX, TILE)                                                                                                \
    do {                                                                                                                \
        const int64_t tiles_ = (n + (MAX) - 1) / (MAX);                                                                 \
        for (int64_t i_ = 0, t0 = 0; i_ < tiles_; i_++) {                                                               \
            const int nt_ = (int)(n / tiles_ + (i_ < n % tiles_));                                                      \
            switch (nt_) {                                                                                              \
            case 1: TILE(t0, 1); break; case 2: TILE(t0, 2); break; case 3: TILE(t0, 3); break;                          \
            case 4: TILE(t0, 4); break; case 5: TILE(t0, 5); break; case 6: TILE(t0, 6); break;                          \
            case 7: TILE(t0, 7); break; default: TILE(t0, 8); break;                                                    \
            }                                                                                                           \
            t0 += nt_;                                                                                                  \
        }                                                                                                               \
    } while (0)

#endif
