#!/usr/bin/env python3
"""GEMM peaks of the libraries dsllm's prefill and training call (through the dlopen shim CGemm), standalone, at
prefill's shape: C[M×N] = A[M×K] · B[N×K]ᵀ with M = 512 tokens, N = K = 4096 (one 7B-shaped projection).

Rows: oneDNN `dnnl_sgemm` (f32), OpenBLAS `cblas_sgemm` (f32, the fallback), oneDNN `dnnl_gemm_u8s8s32` (int8,
what llama.cpp-style integer dot products could reach), oneDNN `dnnl_gemm_bf16bf16f32` (bf16, training's
`--precision bf16`; refused with dnnl_unimplemented on CPUs without AVX512-BF16 or AMX) and, as an anchor, numpy's
`matmul` (its own bundled OpenBLAS). GFLOP/s (GOP/s for int8) = 2·M·N·K / seconds, best of --runs after a warm-up;
ratio column = vs OpenBLAS f32.

Usage: python3 bench/gemm/bench.py [--threads 2] [--runs 5] [--m 512 --n 4096 --k 4096]
"""
import argparse
import ctypes
import ctypes.util
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from machine import print_machine  # noqa: E402


def best_seconds(fn, runs):
    fn()  # warm-up: thread pools, packing buffers, page faults
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def load(names):
    for n in names:
        try:
            return ctypes.CDLL(n)
        except OSError:
            continue
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--m", type=int, default=512)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--k", type=int, default=4096)
    args = ap.parse_args()
    # Thread counts are read when the libraries initialise: set them before loading anything.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    print("command:", " ".join([sys.executable] + sys.argv))
    print_machine()
    M, N, K = args.m, args.n, args.k
    flops = 2.0 * M * N * K
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K), dtype=np.float32)
    b = rng.standard_normal((N, K), dtype=np.float32)
    c = np.zeros((M, N), dtype=np.float32)
    ptr = lambda x: x.ctypes.data_as(ctypes.c_void_p)
    rows = []  # (name, seconds or None, note)

    dnnl = load(["libdnnl.so.3", "libdnnl.so.2", "libdnnl.so"])
    blas = load(["libopenblas.so.0", "libopenblas.so"])
    i64, f32 = ctypes.c_int64, ctypes.c_float
    if dnnl:
        dnnl.dnnl_sgemm.restype = ctypes.c_int
        dnnl.dnnl_sgemm.argtypes = [ctypes.c_char, ctypes.c_char, i64, i64, i64, f32, ctypes.c_void_p, i64,
                                    ctypes.c_void_p, i64, f32, ctypes.c_void_p, i64]
        call = lambda: dnnl.dnnl_sgemm(b"N", b"T", M, N, K, 1.0, ptr(a), K, ptr(b), K, 0.0, ptr(c), N)
        rows.append(("oneDNN dnnl_sgemm (f32)", best_seconds(call, args.runs) if call() == 0 else None, ""))
    else:
        rows.append(("oneDNN dnnl_sgemm (f32)", None, "libdnnl not found"))
    if blas:
        blas.cblas_sgemm.restype = None
        ci = ctypes.c_int
        blas.cblas_sgemm.argtypes = [ci, ci, ci, ci, ci, ci, f32, ctypes.c_void_p, ci, ctypes.c_void_p, ci, f32,
                                     ctypes.c_void_p, ci]
        rows.append(("OpenBLAS cblas_sgemm (f32)", best_seconds(
            lambda: blas.cblas_sgemm(101, 111, 112, M, N, K, 1.0, ptr(a), K, ptr(b), K, 0.0, ptr(c), N), args.runs), ""))
    else:
        rows.append(("OpenBLAS cblas_sgemm (f32)", None, "libopenblas not found"))
    if dnnl:
        a8 = rng.integers(0, 255, size=(M, K), dtype=np.uint8)
        b8 = rng.integers(-127, 127, size=(N, K), dtype=np.int8)
        c32 = np.zeros((M, N), dtype=np.int32)
        co = np.zeros(1, dtype=np.int32)
        u8, s8 = ctypes.c_uint8, ctypes.c_int8
        dnnl.dnnl_gemm_u8s8s32.restype = ctypes.c_int
        dnnl.dnnl_gemm_u8s8s32.argtypes = [ctypes.c_char, ctypes.c_char, ctypes.c_char, i64, i64, i64, f32,
                                           ctypes.c_void_p, i64, u8, ctypes.c_void_p, i64, s8, f32, ctypes.c_void_p,
                                           i64, ctypes.c_void_p]
        call = lambda: dnnl.dnnl_gemm_u8s8s32(b"N", b"T", b"F", M, N, K, 1.0, ptr(a8), K, 0, ptr(b8), K, 0, 0.0,
                                              ptr(c32), N, ptr(co))
        rows.append(("oneDNN dnnl_gemm_u8s8s32 (int8, GOP/s)", best_seconds(call, args.runs) if call() == 0 else None, ""))
        abf = (a.view(np.uint32) >> 16).astype(np.uint16)
        bbf = (b.view(np.uint32) >> 16).astype(np.uint16)
        dnnl.dnnl_gemm_bf16bf16f32.restype = ctypes.c_int
        dnnl.dnnl_gemm_bf16bf16f32.argtypes = dnnl.dnnl_sgemm.argtypes
        call = lambda: dnnl.dnnl_gemm_bf16bf16f32(b"N", b"T", M, N, K, 1.0, ptr(abf), K, ptr(bbf), K, 0.0, ptr(c), N)
        status = call()
        rows.append(("oneDNN dnnl_gemm_bf16bf16f32 (bf16)", best_seconds(call, args.runs) if status == 0 else None,
                     "" if status == 0 else f"refused (status {status}: no AVX512-BF16/AMX)"))
    rows.append(("numpy matmul (anchor; its bundled OpenBLAS, f32)", best_seconds(lambda: np.matmul(a, b.T, out=c), args.runs), ""))

    print(f"C[{M}×{N}] = A[{M}×{K}] · B[{N}×{K}]ᵀ, {args.threads} threads, best of {args.runs}")
    base = next((s for n, s, _ in rows if n.startswith("OpenBLAS") and s), None)
    print("| library | GFLOP/s | vs OpenBLAS f32 |")
    print("|---|---:|---:|")
    for name, s, note in rows:
        if s is None:
            print(f"| {name} | — | {note} |")
        else:
            ratio = f"{(base / s):.2f}x" if base else "—"
            print(f"| {name} | {flops / s / 1e9:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
