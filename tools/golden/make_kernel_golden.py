#!/usr/bin/env python3
"""Golden file for CKernels: ggml's own activation quantizers and dot products, called through ctypes in the
llama.cpp build of tools/golden/build_llama_cpp.sh (llama-cpp-python 0.3.36, libggml-cpu built for this CPU).

  PYTHONPATH=.venv-tools/llama-cpp python3 tools/golden/make_kernel_golden.py Tests/DSTensorTests/Golden/kernel-golden.json

- quantize_row_q8_0 / quantize_row_q8_K / quantize_row_q8_1 (the x86 run-time functions llama.cpp applies to
  activations) on seeded rows with edge cases (ties at .5 after scaling, a zero block, tiny and huge values): block
  bytes as hex (Q8_1: f16 d, f16 s = d·Σq, 32 × s8).
- ggml_vec_dot_{q8_0_q8_0, q4_0_q8_0, q4_K_q8_K, q6_K_q8_K, q4_1_q8_1, q5_0_q8_0, q5_1_q8_1, q5_K_q8_K}: weight rows
  quantized by ggml_quantize_chunk from seeded floats, an activation row, and the float ggml returns (dsllm's integer
  sums are the same; only float order differs). New entries go after the old ones, so the seeded draws of the
  existing entries (and their bytes) stay as they were.
"""
import ctypes
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
import llama_cpp

lib_dir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
cpu = ctypes.CDLL(os.path.join(lib_dir, "libggml-cpu.so"))
base = ctypes.CDLL(os.path.join(lib_dir, "libggml-base.so"))
cpu.ggml_cpu_init()
F = ctypes.POINTER(ctypes.c_float)


def quantize(fn, x, block_bytes, block_values):
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = (ctypes.c_uint8 * (len(x) // block_values * block_bytes))()
    getattr(cpu, fn)(x.ctypes.data_as(F), out, ctypes.c_int64(len(x)))
    return bytes(out)


def quantize_weights(wtype, w, block_bytes, block_values):
    """ggml_quantize_chunk: the reference quantizer llama-quantize uses (no importance matrix)."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    out = (ctypes.c_uint8 * (len(w) // block_values * block_bytes))()
    base.ggml_quantize_chunk(ctypes.c_int(int(wtype)), w.ctypes.data_as(F), out, ctypes.c_int64(0), ctypes.c_int64(1),
                             ctypes.c_int64(len(w)), None)
    return bytes(out)


def vec_dot(fn, n, w_bytes, a_bytes):
    s = ctypes.c_float(0)
    w = (ctypes.c_uint8 * len(w_bytes)).from_buffer_copy(w_bytes)
    a = (ctypes.c_uint8 * len(a_bytes)).from_buffer_copy(a_bytes)
    getattr(cpu, fn)(ctypes.c_int(n), ctypes.byref(s), ctypes.c_size_t(0), w, ctypes.c_size_t(0), a, ctypes.c_size_t(0),
                     ctypes.c_int(1))
    return s.value


def rows(rng, k):
    out = [rng.normal(0, 1, k).astype(np.float32) for _ in range(3)]
    ties = (rng.integers(-254, 255, k) / 2).astype(np.float32)  # amax 127 → id 1: many exact .5 ties
    ties[0] = 127.0
    edge = rng.normal(0, 1, k).astype(np.float32)
    edge[:32] = 0            # a zero block
    edge[32:64] *= 1e-30     # tiny
    edge[64:96] *= 1e20      # huge
    edge[96] = -edge[97:128].__abs__().max() * 2  # largest magnitude negative (Q8_K's signed max)
    return out + [ties, edge]


def main():
    out_path = sys.argv[1]
    rng = np.random.default_rng(20261204)
    golden = {"versions": {"llama_cpp_python": llama_cpp.__version__, "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
                           "numpy": np.__version__},
              "build_flags": open(os.path.join(os.path.dirname(os.path.dirname(llama_cpp.__file__)), "BUILD_FLAGS")).read().strip()
              if os.path.exists(os.path.join(os.path.dirname(os.path.dirname(llama_cpp.__file__)), "BUILD_FLAGS")) else "",
              "q8_0": [], "q8_K": [], "q8_1": [], "dots": []}
    for x in rows(rng, 512):
        golden["q8_0"].append({"x": [float(v) for v in x], "blocks": quantize("quantize_row_q8_0", x, 34, 32).hex()})
        golden["q8_K"].append({"x": [float(v) for v in x], "blocks": quantize("quantize_row_q8_K", x, 292, 256).hex()})
        golden["q8_1"].append({"x": [float(v) for v in x], "blocks": quantize("quantize_row_q8_1", x, 36, 32).hex()})
    for name, wtype, fn, act, ab, av, wb_bytes, wb_values in [
            ("q8_0", T.Q8_0, "ggml_vec_dot_q8_0_q8_0", "quantize_row_q8_0", 34, 32, 34, 32),
            ("q4_0", T.Q4_0, "ggml_vec_dot_q4_0_q8_0", "quantize_row_q8_0", 34, 32, 18, 32),
            ("q4_K", T.Q4_K, "ggml_vec_dot_q4_K_q8_K", "quantize_row_q8_K", 292, 256, 144, 256),
            ("q6_K", T.Q6_K, "ggml_vec_dot_q6_K_q8_K", "quantize_row_q8_K", 292, 256, 210, 256),
            ("q4_1", T.Q4_1, "ggml_vec_dot_q4_1_q8_1", "quantize_row_q8_1", 36, 32, 20, 32),
            ("q5_0", T.Q5_0, "ggml_vec_dot_q5_0_q8_0", "quantize_row_q8_0", 34, 32, 22, 32),
            ("q5_1", T.Q5_1, "ggml_vec_dot_q5_1_q8_1", "quantize_row_q8_1", 36, 32, 24, 32),
            ("q5_K", T.Q5_K, "ggml_vec_dot_q5_K_q8_K", "quantize_row_q8_K", 292, 256, 176, 256)]:
        k = 1024
        for i in range(4):
            w = rng.normal(0, 0.05, k).astype(np.float32)
            x = rng.normal(0, 1, k).astype(np.float32)
            wb = quantize_weights(wtype, w, wb_bytes, wb_values)
            golden["dots"].append({"type": name, "k": k, "weights": wb.hex(), "x": [float(v) for v in x],
                                   "dot": vec_dot(fn, k, wb, quantize(act, x, ab, av))})
    with open(out_path, "w") as f:
        json.dump(golden, f)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
