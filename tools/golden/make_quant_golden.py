#!/usr/bin/env python3
"""Golden (de)quantization data for DSTensor, from gguf-py's numpy reference (pinned: gguf==0.19.0).

For F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (which gguf-py can quantize): f32 input -> quantized bytes ->
dequantized f32. For the K-quants (Q4_K, Q5_K, Q6_K; gguf-py only dequantizes them): random block bytes
with finite scales -> dequantized f32. gguf-py's Q8_0 is bit-exact with ggml's C quantizer; its Q4/Q5
rounding follows C's `(int)(x*id + 8.5f)` form. Floats are stored as hex of their IEEE bits, so the
comparison is exact.

Usage: python3 tools/golden/make_quant_golden.py   (writes Tests/DSTensorTests/Golden/quant-golden.json)
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "DSTensorTests", "Golden", "quant-golden.json")


def hexf(a):
    return np.ascontiguousarray(a, dtype="<f4").tobytes().hex()


def inputs(rng):
    yield "normal", rng.standard_normal((2, 256)).astype(np.float32)
    yield "wide", (rng.standard_normal((2, 256)) * rng.choice([1e-3, 1, 30], size=(2, 256))).astype(np.float32)
    z = rng.standard_normal((2, 256)).astype(np.float32)
    z[0, :64] = 0  # an all-zero block
    z[1, 5] = -9.5  # a dominant negative value (Q4_0 takes d from the signed extreme)
    yield "edges", z
    f16 = np.array([6e-8, -6e-8, 1e-5, 65504, -65504, 0.1, -0.0, 3.0e-5] * 64, dtype=np.float32).reshape(2, 256)
    yield "f16-range", f16


def main():
    rng = np.random.default_rng(20261129)
    cases = []
    for name, x in inputs(rng):
        for t in [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]:
            q = quants.quantize(x, t)
            d = quants.dequantize(q, t)
            cases.append({"type": t.name, "input": name, "rows": 2, "columns": 256, "input_f32": hexf(x),
                          "quantized": q.tobytes().hex(), "dequantized_f32": hexf(d)})
    for t in [T.Q4_K, T.Q5_K, T.Q6_K]:
        block, size = quants.GGML_QUANT_SIZES[t]
        for k in range(4):
            raw = rng.integers(0, 256, size=2 * size, dtype=np.uint8)  # two blocks = two rows of 256
            for b in range(2):
                base = b * size
                scales = np.array(rng.uniform(-0.05, 0.05, size=2), dtype=np.float16).view(np.uint8)
                if t == T.Q6_K:
                    raw[base + size - 2: base + size] = scales[:2]  # d is the last field
                else:
                    raw[base: base + 4] = scales  # d, dmin
            q = raw.reshape(2, size)
            d = quants.dequantize(q, t)
            cases.append({"type": t.name, "input": f"random-bytes-{k}", "rows": 2, "columns": 256,
                          "quantized": q.tobytes().hex(), "dequantized_f32": hexf(d)})
    import gguf
    with open(OUT, "w") as f:
        json.dump({"gguf_version": getattr(gguf, "__version__", "0.19.0"), "cases": cases}, f, indent=0)
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
