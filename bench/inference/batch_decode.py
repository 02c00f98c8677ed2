#!/usr/bin/env python3
"""Several sequences decoded together: `dsllm generate --parallel N` (Transformer.decodeBatch, one pass over the
weights per step for all N sequences) on the inference benchmark's Q8_0 model, aggregate tokens/s for each N.

N = 1 is the ordinary decode loop (`generate --json`'s decode_tok_s). Medians of --runs runs. Anchor: llama.cpp's
`llama-batched-bench` on the same GGUF when given (--llama-batched-bench PATH or on PATH): its S_TG t/s for the
same prompt length, generated tokens and N. Ratio column: aggregate rate / the 1-sequence rate (and dsllm / llama.cpp).

Usage: python3 bench/inference/batch_decode.py --dsllm .build/release/dsllm [--parallel 1,2,4,8] [--runs 3]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from machine import print_machine  # noqa: E402
from quantize import ensure_model  # noqa: E402

PROMPT = "1000 2000 3000"


def dsllm_rate(binary, model, n, tokens, threads):
    cmd = [binary, "generate", "--model", model, "--prompt-ids", PROMPT, "--max-tokens", str(tokens), "--temperature", "0",
           "--ignore-eos", "--threads", str(threads), "--json"]
    if n > 1:
        cmd += ["--parallel", str(n)]
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    if n == 1:
        return json.loads(r.stdout)["decode_tok_s"]
    m = re.search(r"decoded together: ([0-9.]+) tok/s in total", r.stderr)
    if not m:
        raise RuntimeError(f"no batch rate in: {r.stderr!r}")
    return float(m.group(1))


def llama_rates(binary, model, levels, tokens, threads):
    """S_TG t/s per parallel level from llama-batched-bench's markdown table."""
    npp = len(PROMPT.split())
    out = subprocess.run([binary, "-m", model, "-c", "4096", "-b", "2048", "-ub", "512", "-npp", str(npp), "-ntg", str(tokens),
                          "-npl", ",".join(map(str, levels)), "-t", str(threads), "-tb", str(threads)],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "LD_LIBRARY_PATH": os.path.dirname(os.path.realpath(binary))}).stdout
    rates = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[2].isdigit():  # | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | ...
            rates[int(cells[2])] = float(cells[7])
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--parallel", default="1,2,4,8")
    ap.add_argument("--tokens", type=int, default=12)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--llama-batched-bench", default=shutil.which("llama-batched-bench"))
    args = ap.parse_args()
    print("command:", " ".join([sys.executable] + sys.argv))
    print_machine()
    model = ensure_model(args.dsllm, args.layers, "q8_0")
    levels = [int(x) for x in args.parallel.split(",")]
    rates = {n: statistics.median(dsllm_rate(args.dsllm, model, n, args.tokens, args.threads) for _ in range(args.runs)) for n in levels}
    anchor = llama_rates(args.llama_batched_bench, model, levels, args.tokens, args.threads) if args.llama_batched_bench else {}
    print(f"model {os.path.basename(model)}, prompt ids \"{PROMPT}\", {args.tokens} tokens, {args.threads} threads, "
          f"median of {args.runs}" + ("" if anchor else "; llama-batched-bench not installed: dsllm only"))
    print("| sequences | dsllm tok/s (total) | vs 1 sequence | llama.cpp S_TG tok/s | dsllm / llama.cpp |")
    print("|---:|---:|---:|---:|---:|")
    for n in levels:
        a = anchor.get(n)
        print(f"| {n} | {rates[n]:.1f} | {rates[n] / rates[levels[0]]:.2f}x | {f'{a:.1f}' if a else '—'} | "
              f"{f'{rates[n] / a:.2f}x' if a else '—'} |")


if __name__ == "__main__":
    main()
