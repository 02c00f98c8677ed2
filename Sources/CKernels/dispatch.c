// Run-time choice of the ISA level (cpuid + xgetbv, and the kernel's permission for AMX tile data), memory for
// repacked weights, and the f16 conversions of the scalar paths.
#define _GNU_SOURCE
#include "ckernels.h"
#include <cpuid.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int detected = -1, current = -1, bf16 = 0;

static uint64_t xgetbv0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

// ARCH_REQ_XCOMP_PERM / XFEATURE_XTILEDATA (Linux ≥ 5.16): a process must ask before touching AMX tile data.
static int amx_permitted(void) {
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
}

static void detect(void) {
    unsigned a, b, c, d;
    int level = CK_ISA_NONE;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
        uint64_t xcr0 = osxsave ? xgetbv0() : 0;
        int ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xE6) == 0xE6, tiles = (xcr0 & 0x60000) == 0x60000;
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            int avx2 = (b >> 5) & 1, f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
            int vnni = (c >> 11) & 1, amx_tile = (d >> 24) & 1, amx_int8 = (d >> 25) & 1;
            if (avx && avx2 && fma && f16c && ymm) level = CK_ISA_AVX2;
            if (level == CK_ISA_AVX2 && f && dq && bw && vl && vnni && zmm) level = CK_ISA_AVX512;
            if (level == CK_ISA_AVX512 && amx_tile && amx_int8 && tiles && amx_permitted()) level = CK_ISA_AMX;
            unsigned a1, b1, c1, d1;
            if (level >= CK_ISA_AVX512 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) bf16 = (a1 >> 5) & 1;
        }
    }
    detected = level;
    current = level;
}

int ck_isa_detected(void) { if (detected < 0) detect(); return detected; }
int ck_isa(void) { if (detected < 0) detect(); return current; }
int ck_set_isa(int level) {
    if (detected < 0) detect();
    current = level < 0 ? 0 : (level > detected ? detected : level);
    return current;
}
int ck_has_avx512_bf16(void) { return ck_isa() >= CK_ISA_AVX512 && bf16; }

static inline uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float float_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

// Round-half-even f32 → f16 without F16C (the FP16 library's branch-free method, also ggml's scalar one).
uint16_t ck_fp32_to_fp16(float f) {
    float base = (__builtin_fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
    uint32_t w = bits_of(f), shl1 = w + w, sign = w & 0x80000000u, bias = shl1 & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = float_of((bias >> 1) + 0x07800000u) + base;
    uint32_t r = bits_of(base);
    uint32_t nonsign = ((r >> 13) & 0x7C00u) + (r & 0x0FFFu);
    return (uint16_t)((sign >> 16) | (shl1 > 0xFF000000u ? 0x7E00u : nonsign));
}

float ck_fp16_to_fp32(uint16_t h) {
    uint32_t w = (uint32_t)h << 16, sign = w & 0x80000000u, two_w = w + w;
    float normalized = float_of((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    float denormalized = float_of((two_w >> 17) | (126u << 23)) - 0.5f;
    uint32_t r = two_w < (1u << 27) ? bits_of(denormalized) : bits_of(normalized);
    return float_of(sign | r);
}

void *ck_alloc_huge(size_t bytes, int *huge) {
    const size_t align = 2u << 20;
    size_t total = bytes + align;
    uint8_t *raw = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    // Give back the unaligned head and tail so ck_free_huge can unmap exactly [p, p + bytes).
    if (p > raw) munmap(raw, (size_t)(p - raw));
    size_t tail = (size_t)(raw + total - (p + bytes));
    size_t tailStart = ((size_t)(p + bytes) + 4095) & ~(size_t)4095;
    if (tail > 0 && (uint8_t *)tailStart < raw + total) munmap((void *)tailStart, (size_t)(raw + total - (uint8_t *)tailStart));
    int ok = madvise(p, bytes, MADV_HUGEPAGE) == 0;
    if (huge) *huge = ok;
    return p;
}

void ck_free_huge(void *p, size_t bytes) {
    if (p) munmap(p, (bytes + 4095) & ~(size_t)4095);
}

void ck_release_pages(const void *p, size_t bytes) {
    uintptr_t start = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, end = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
    if (end > start) madvise((void *)start, end - start, MADV_DONTNEED);
}
