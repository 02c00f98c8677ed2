#!/usr/bin/env python3
"""Golden K-quant quantization data: f32 rows -> bytes from ggml's own C reference quantizers
(quantize_row_q4_K_ref / q5_K / q6_K, reached through ggml_quantize_chunk with no importance matrix, which
is what `llama-quantize` uses without --imatrix). gguf-py cannot quantize K-types, so this calls the ggml
library that llama-cpp-python builds (pinned: llama-cpp-python==0.3.36; set LLAMA_CPP_LIB_PATH to its lib
directory, see tools/golden/make_tokenizer_golden.py for the portable rebuild this machine needs).

Usage: LLAMA_CPP_LIB_PATH=.venv-tools/llama-cpp-lib python3 tools/golden/make_kquant_golden.py
       (writes Tests/DSTensorTests/Golden/kquant-golden.json)
"""
import ctypes
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "DSTensorTests", "Golden", "kquant-golden.json")
TYPES = {"Q4_K": (12, 144), "Q5_K": (13, 176), "Q6_K": (14, 210)}  # ggml type id, bytes per 256 values


def library():
    d = os.environ.get("LLAMA_CPP_LIB_PATH")
    if not d:
        import llama_cpp
        d = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    lib = ctypes.CDLL(os.path.join(d, "libggml-base.so"))
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    return lib


def inputs(rng):
    yield "normal", rng.standard_normal((2, 512)).astype(np.float32)
    yield "weights-like", (rng.standard_normal((2, 512)) * 0.006).astype(np.float32)
    yield "wide", (rng.standard_normal((2, 512)) * rng.choice([1e-3, 1, 30], size=(2, 512))).astype(np.float32)
    e = rng.standard_normal((2, 512)).astype(np.float32)
    e[0, :32] = 0            # an all-zero sub-block
    e[0, 256:512] = 0        # an all-zero super-block
    e[1, :32] = 0.25         # a constant sub-block
    e[1, 64:96] = np.abs(e[1, 64:96])  # all positive (min clamps to 0)
    e[1, 300] = -40          # one dominant outlier
    yield "edges", e


def main():
    lib = library()
    rng = np.random.default_rng(20261129)
    cases = []
    for name, x in inputs(rng):
        x = np.ascontiguousarray(x, dtype=np.float32)
        for tname, (tid, size) in TYPES.items():
            rows, cols = x.shape
            out = np.zeros(rows * cols // 256 * size, dtype=np.uint8)
            n = lib.ggml_quantize_chunk(tid, x.ctypes.data, out.ctypes.data, 0, rows, cols, None)
            assert n == out.size, (n, out.size)
            cases.append({"type": tname, "input": name, "rows": rows, "columns": cols,
                          "input_f32": x.astype("<f4").tobytes().hex(), "quantized": out.tobytes().hex()})
    with open(OUT, "w") as f:
        json.dump({"generator": "ggml_quantize_chunk (llama-cpp-python 0.3.36)", "cases": cases}, f)
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
