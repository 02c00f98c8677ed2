#!/usr/bin/env python3
"""Data-parallel training: `dsllm train` as 1 process × 2 threads vs `mpirun -np 2` × 1 thread each (same machine,
same cores, same global batch), in the same run. Reports median seconds per step (steps 2..N), tokens/s, the
time rank 0 spends in MPI collectives (reduce-scatter of gradients, all-gather of parameters, two scalar
all-reduces; it includes waiting for the slower rank) and the scaling efficiency t(1 process) / t(2 ranks).

Usage: python3 bench/distributed/bench.py --dsllm .build/release/dsllm [--steps 5] [--layers 4] [--vocab 102400]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from machine import print_machine  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=102400)
    ap.add_argument("--seq", type=int, default=256)
    args = ap.parse_args()
    print_machine()
    tmp = tempfile.mkdtemp(prefix="dsllm-dp-bench-")
    cfg = {"architectures": ["LlamaForCausalLM"], "vocab_size": args.vocab, "hidden_size": args.hidden,
           "intermediate_size": args.hidden * 11 // 4, "num_hidden_layers": args.layers, "num_attention_heads": 8,
           "num_key_value_heads": 8, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
           "tie_word_embeddings": False}
    json.dump(cfg, open(os.path.join(tmp, "c.json"), "w"))
    micro, per_step = 2, 4  # 4 micro-batches of 2 sequences per step
    tokens = np.random.default_rng(0).integers(0, args.vocab, size=args.seq * micro * per_step * (args.steps + 1) + 1, dtype=np.uint32)
    header = np.zeros(256, dtype=np.int32)
    header[:3] = [20240801, 7, len(tokens)]
    with open(os.path.join(tmp, "s.bin"), "wb") as f:
        f.write(header.tobytes() + tokens.tobytes())
    common = ["train", "--config", os.path.join(tmp, "c.json"), "--data", os.path.join(tmp, "s.bin"), "--seq-len", str(args.seq),
              "--micro-batch", str(micro), "--batch-tokens", str(args.seq * micro * per_step), "--steps", str(args.steps),
              "--warmup", "1"]
    runs = {}
    subprocess.run([args.dsllm] + common + ["--threads", "2", "--out", os.path.join(tmp, "np1")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "2", args.dsllm] + common
                   + ["--threads", "1", "--out", os.path.join(tmp, "np2")], check=True, stdout=subprocess.DEVNULL)
    for name in ("np1", "np2"):
        rows = [json.loads(l) for l in open(os.path.join(tmp, name, "metrics.jsonl"))][1:]
        runs[name] = (statistics.median(r["seconds"] for r in rows), statistics.median(r.get("comm_seconds", 0) for r in rows),
                      rows[-1]["loss"])
    params = sum(v for v in [args.vocab * args.hidden * 2, args.layers * (4 * args.hidden ** 2 + 3 * args.hidden * cfg["intermediate_size"])])
    step_tokens = args.seq * micro * per_step
    print(f"model {args.layers} x {args.hidden}, vocab {args.vocab} ({params / 1e6:.0f} M parameters), {step_tokens} tokens per step, "
          f"median of steps 2..{args.steps}")
    print("| run | s / step | tokens/s | in collectives | share | final loss |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, label in (("np1", "1 process × 2 threads"), ("np2", "mpirun -np 2 × 1 thread (ZeRO-1)")):
        s, c, loss = runs[name]
        print(f"| {label} | {s:.2f} | {step_tokens / s:.0f} | {c:.2f} s | {100 * c / s:.0f}% | {loss:.5f} |")
    print(f"scaling efficiency (same 2 cores): {runs['np1'][0] / runs['np2'][0]:.2f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
