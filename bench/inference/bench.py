#!/usr/bin/env python3
"""Decode and prefill speed: dsllm vs llama.cpp on the same GGUF files, same thread count, same run.

For each GGUF: llama.cpp (llama-cpp-python, n_threads=T, F16 KV cache default) times eval() of the prompt
(prefill) and of one token at a time (decode); dsllm runs `dsllm generate --json` and reports the speeds it
timed around prefill and the decode loop. DRAM read bandwidth is measured in the same run (numpy sum over
a 2 GB array split over the threads, best of 3), giving the decode bound: bytes of weights read per token / bandwidth.

Usage: python3 bench/inference/bench.py --dsllm .build/release/dsllm bench/out/ds-2l-q8_0.gguf ... [--prompt 512]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def bandwidth_gbs(threads, huge=False):
    """DRAM read bandwidth with `threads` threads (numpy releases the GIL in sum), best of 3; `huge`: the arrays in
    anonymous memory advised MADV_HUGEPAGE, as dsllm's repacked weights are."""
    import mmap
    from concurrent.futures import ThreadPoolExecutor
    n = 2_000_000_000 // 8 // threads
    if huge:
        maps = [mmap.mmap(-1, n * 8) for _ in range(threads)]
        for m in maps:
            m.madvise(mmap.MADV_HUGEPAGE)
        parts = [np.frombuffer(m, dtype=np.float64) for m in maps]
        for p in parts:
            p[:] = 1.0
    else:
        parts = [np.ones(n, dtype=np.float64) for _ in range(threads)]
    best = 0.0
    with ThreadPoolExecutor(threads) as ex:
        for _ in range(3):
            t = time.perf_counter()
            list(ex.map(np.sum, parts))
            best = max(best, sum(p.nbytes for p in parts) / (time.perf_counter() - t) / 1e9)
    return best


def weight_bytes_per_token(path):
    from gguf import GGUFReader
    r = GGUFReader(path)
    # every matrix is read once per token, except the embedding table (one row)
    return sum(int(t.n_bytes) for t in r.tensors if t.name != "token_embd.weight")


def llama_cpp(path, prompt, decode, threads):
    """llama.cpp through llama-cpp-python (the build on PYTHONPATH: tools/golden/build_llama_cpp.sh)."""
    import llama_cpp
    # n_batch = n_ctx: llama-cpp-python keeps n_batch rows of scores and indexes them by position.
    n = len(prompt) + decode + 16
    llm = llama_cpp.Llama(model_path=path, n_ctx=n, n_batch=n, n_ubatch=512, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
    t = time.perf_counter()
    llm.eval(prompt)
    prefill = len(prompt) / (time.perf_counter() - t)
    tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    t = time.perf_counter()
    for _ in range(decode):
        llm.eval([tok])
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    return prefill, decode / (time.perf_counter() - t)


def dsllm(binary, path, prompt, decode, threads, isa=None):
    env = dict(os.environ, **({"DSLLM_ISA": isa} if isa else {}))
    out = subprocess.run([binary, "generate", "--model", path, "--prompt-ids", " ".join(map(str, prompt)),
                          "--max-tokens", str(decode + 1), "--threads", str(threads), "--temperature", "0",
                          "--ignore-eos", "--json"],
                         check=True, capture_output=True, text=True, env=env).stdout
    r = json.loads(out)
    return r["prefill_tok_s"], r["decode_tok_s"], r.get("isa", "?"), r.get("repack_seconds", 0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--decode", type=int, default=16)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=3, help="median of this many runs per engine and model")
    ap.add_argument("--isa", help="DSLLM_ISA for dsllm (e.g. avx2, against an AVX2-only llama.cpp build on PYTHONPATH)")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from machine import cpu_line
    import llama_cpp as _lc
    print("machine:", cpu_line())
    print("command:", " ".join([sys.executable] + sys.argv))
    flags = os.path.join(os.path.dirname(os.path.dirname(_lc.__file__)), "BUILD_FLAGS")
    print("llama.cpp:", _lc.__version__, open(flags).read().strip() if os.path.exists(flags) else "(build flags unknown)")
    bw4k = bandwidth_gbs(args.threads)
    bw = bandwidth_gbs(args.threads, huge=True)
    print(f"DRAM read bandwidth ({args.threads} threads, numpy sum, best of 3): {bw4k:.1f} GB/s 4 KiB pages, "
          f"{bw:.1f} GB/s huge pages (the decode bound below uses the latter)")
    rng = np.random.default_rng(0)
    prompt = [int(x) for x in rng.integers(1000, 90000, size=args.prompt)]
    print(f"prompt {args.prompt} tokens, decode {args.decode} tokens, {args.threads} threads, median of {args.runs} runs, engines alternating; ratios = median of paired ratios")
    print("| model | engine | prefill tok/s | decode tok/s | decode % of bound | dsllm / llama.cpp prefill | decode |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for path in args.models:
        bound = bw * 1e9 / weight_bytes_per_token(path)
        import statistics
        # Engines alternate run by run (this VM's memory bandwidth drifts by tens of percent over minutes), and the
        # ratios are medians of the paired runs' ratios, not ratios of medians.
        runs_l, runs_d = [], []
        for _ in range(args.runs):
            runs_l.append(llama_cpp(path, prompt, args.decode, args.threads))
            runs_d.append(dsllm(args.dsllm, path, prompt, args.decode, args.threads, args.isa))
        lp, ld = statistics.median(r[0] for r in runs_l), statistics.median(r[1] for r in runs_l)
        dp, dd = statistics.median(r[0] for r in runs_d), statistics.median(r[1] for r in runs_d)
        rp = statistics.median(d[0] / l[0] for l, d in zip(runs_l, runs_d))
        rd = statistics.median(d[1] / l[1] for l, d in zip(runs_l, runs_d))
        name = os.path.basename(path)
        print(f"| {name} | llama.cpp | {lp:.1f} | {ld:.2f} | {100 * ld / bound:.0f}% | | |")
        isa, repack = runs_d[0][2], statistics.median(r[3] for r in runs_d)
        print(f"| {name} | dsllm ({isa}; repack {repack:.1f} s) | {dp:.1f} | {dd:.2f} | {100 * dd / bound:.0f}% | "
              f"{rp:.2f}x | {rd:.2f}x |")


if __name__ == "__main__":
    main()
