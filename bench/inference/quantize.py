#!/usr/bin/env python3
"""Quantization speed: `dsllm quantize` vs llama.cpp's `llama-quantize` on the same f16 GGUF, same run, same cores.

The input is the inference benchmark's model (bench/out/ds-<L>l: 7B layer shapes, random weights; made here with
make_model.py and `dsllm quantize --type f16` when missing). Each tool converts it to --type (default Q4_K_M,
llama.cpp's mix) --runs times; medians of whole-process wall times. With llama-quantize (--llama-quantize PATH or
on PATH) the two outputs' tensor data are also compared byte for byte (needs the `gguf` Python package).

Usage: python3 bench/inference/quantize.py --dsllm .build/release/dsllm [--layers 2] [--type q4_k_m] [--runs 1]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from machine import print_machine  # noqa: E402

LLAMA_TYPE = {"q4_k_m": "Q4_K_M", "q5_k_m": "Q5_K_M", "q8_0": "Q8_0", "q4_0": "Q4_0"}


def ensure_model(dsllm, layers, kind):
    """bench/out/ds-<L>l-<kind>.gguf, made from the random safetensors model when missing."""
    base = os.path.join(ROOT, "bench", "out", f"ds-{layers}l")
    if not os.path.exists(os.path.join(base, "model.safetensors")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_model.py"), "--out", base, "--layers", str(layers),
                        "--dsllm", dsllm], check=True)
    path = f"{base}-{kind}.gguf"
    if not os.path.exists(path):
        subprocess.run([dsllm, "quantize", "--in", base, "--out", path, "--type", kind, "--overwrite"], check=True, stdout=subprocess.DEVNULL)
    return path


def timed(cmd, env=None):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def tensors_equal(a, b):
    try:
        from gguf import GGUFReader
    except ImportError:
        return "not compared (no gguf package)"
    ta = {t.name: (int(t.tensor_type), bytes(t.data.tobytes())) for t in GGUFReader(a).tensors}
    tb = {t.name: (int(t.tensor_type), bytes(t.data.tobytes())) for t in GGUFReader(b).tensors}
    same = sum(1 for k in ta if tb.get(k) == ta[k])
    return f"{same} of {len(ta)} tensors identical (types and bytes)" + ("" if len(ta) == len(tb) else f"; llama.cpp has {len(tb)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--type", default="q4_k_m")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="llama-quantize's thread count (dsllm uses all cores)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--llama-quantize", default=shutil.which("llama-quantize"))
    args = ap.parse_args()
    print("command:", " ".join([sys.executable] + sys.argv))
    print_machine()
    src = ensure_model(args.dsllm, args.layers, "f16")
    out_d = os.path.join(ROOT, "bench", "out", f"quantize-dsllm-{args.type}.gguf")
    out_l = os.path.join(ROOT, "bench", "out", f"quantize-llama-{args.type}.gguf")
    size = os.path.getsize(src) / 1e9
    d = statistics.median(timed([args.dsllm, "quantize", "--in", src, "--out", out_d, "--type", args.type, "--overwrite"]) for _ in range(args.runs))
    print(f"input {os.path.relpath(src, ROOT)} ({size:.2f} GB f16) → {args.type}, median of {args.runs}")
    print("| tool | seconds | dsllm speed / tool |")
    print("|---|---:|---:|")
    print(f"| dsllm quantize | {d:.1f} | |")
    if args.llama_quantize:
        env = {**os.environ, "LD_LIBRARY_PATH": os.path.dirname(os.path.realpath(args.llama_quantize))}
        cmd = [args.llama_quantize, src, out_l, LLAMA_TYPE.get(args.type, args.type.upper()), str(args.threads)]
        ll = statistics.median(timed(cmd, env) for _ in range(args.runs))
        print(f"| llama-quantize ({args.threads} threads) | {ll:.1f} | {ll / d:.2f}x |")
        print("output:", tensors_equal(out_d, out_l))
    else:
        print("| llama-quantize | not run: not installed (give --llama-quantize PATH) | |")


if __name__ == "__main__":
    main()
