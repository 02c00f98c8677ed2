#!/usr/bin/env python3
"""Training throughput: `dsllm train` vs PyTorch CPU eager (LlamaForCausalLM + torch.optim.AdamW, f32 and bf16
autocast) on the same model shape, batch, sequence length and thread count, in the same run.

Model: 8 layers x 512 (8 heads, FFN 1376), vocabulary 102400, sequence 512, 1 sequence per step (issue's shape).
Reports median seconds per optimizer step over steps 2..N (step 1 warms up), tokens/s, achieved GFLOP/s
(6 x parameters x tokens, attention excluded) and that as a fraction of the f32 GEMM peak measured in the same
run (torch.mm 4096^3; this machine has no AMX, so the issue's bf16-AMX peak does not exist here), and each
engine's peak RSS (separate processes).

With --recompute, also dsllm `--recompute` against PyTorch's gradient checkpointing (transformers'
gradient_checkpointing_enable, per decoder layer), both in bf16 where the CPU has it, else f32.

Usage: python3 bench/train/bench.py --dsllm .build/release/dsllm [--steps 4] [--threads 2] [--seq 512] [--recompute]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 102400, "hidden_size": 512,
          "intermediate_size": 1376, "num_hidden_layers": 8, "num_attention_heads": 8, "num_key_value_heads": 8,
          "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False,
          "hidden_act": "silu", "attention_bias": False, "mlp_bias": False}

TORCH_RUN = r'''
import json, statistics, sys, time, torch
from transformers import LlamaConfig, LlamaForCausalLM
cfg_path, steps, threads, seq, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
recompute = len(sys.argv) > 6 and sys.argv[6] == "recompute"
torch.set_num_threads(threads)
torch.manual_seed(0)
cfg = LlamaConfig(**{k: v for k, v in json.load(open(cfg_path)).items() if k not in ("architectures",)})
cfg._attn_implementation = "sdpa"
model = LlamaForCausalLM(cfg).float()
if recompute:
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
decay = [p for p in model.parameters() if p.dim() == 2]
rest = [p for p in model.parameters() if p.dim() != 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=1e-4, betas=(0.9, 0.95))
times = []
for s in range(steps):
    x = torch.randint(0, cfg.vocab_size, (1, seq + 1))
    t = time.perf_counter()
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=(mode == "bf16")):
        logits = model(input_ids=x[:, :seq]).logits
    loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, cfg.vocab_size), x[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    times.append(time.perf_counter() - t)
print(json.dumps({"median_step_s": statistics.median(times[1:]), "params": sum(p.numel() for p in model.parameters())}))
'''


def gemm_peak(threads):
    import torch
    torch.set_num_threads(threads)
    n = 4096
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = 0.0
    for _ in range(4):
        t = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return best


def run_measured(cmd):
    """Runs a command; returns (stdout, its peak RSS in MB) — each engine gets its own process."""
    wrapper = [sys.executable, "-c", "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "sys.stderr.write(r.stderr); print(r.stdout); print('RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"] + cmd
    out = subprocess.run(wrapper, check=True, capture_output=True, text=True).stdout
    lines = out.strip().splitlines()
    return "\n".join(lines[:-1]), int(lines[-1].split()[1]) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--recompute", action="store_true", help="also activation checkpointing on both sides")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dsllm-train-bench-")
    cfg = os.path.join(tmp, "config.json")
    json.dump(CONFIG, open(cfg, "w"))
    tokens = np.random.default_rng(0).integers(0, 102400, size=args.seq * (args.steps + 2) + 1, dtype=np.uint32)
    header = np.zeros(256, dtype=np.int32)
    header[:3] = [20240801, 7, len(tokens)]
    shard = os.path.join(tmp, "train.bin")
    with open(shard, "wb") as f:
        f.write(header.tobytes() + tokens.tobytes())
    peak = gemm_peak(args.threads)
    print(f"f32 GEMM peak (torch.mm 4096^3, {args.threads} threads): {peak:.1f} GFLOP/s")
    results = {}
    out = os.path.join(tmp, "run")
    flags = open("/proc/cpuinfo").read()
    has_bf16 = "avx512_bf16" in flags or "amx_bf16" in flags
    variants = [("f32", False), ("bf16", False)]
    if args.recompute:
        variants.append(("bf16" if has_bf16 else "f32", True))
    for precision, recompute in variants:
        name = f"dsllm ({precision}{', --recompute' if recompute else ''})"
        folder = out + precision + ("-recompute" if recompute else "")
        _, rss = run_measured([args.dsllm, "train", "--config", cfg, "--data", shard, "--seq-len", str(args.seq), "--micro-batch", "1",
                               "--steps", str(args.steps), "--warmup", "1", "--threads", str(args.threads), "--out", folder,
                               "--precision", precision] + (["--recompute"] if recompute else []))
        steps = [json.loads(l) for l in open(os.path.join(folder, "metrics.jsonl"))]
        results[name] = (statistics.median(s["seconds"] for s in steps[1:]), rss)
    params = None
    if not has_bf16:
        print("dsllm (bf16) here: bf16-rounded operands through the f32 GEMM (no bf16 GEMM on this CPU): same numbers, no speed-up")
    modes = [("f32", False)]
    if has_bf16:
        modes.append(("bf16", False))
    else:
        print("no AVX512-BF16/AMX on this CPU: PyTorch's bf16 autocast is emulated here (minutes per step), so it is skipped")
    if args.recompute:
        modes.append(("bf16" if has_bf16 else "f32", True))
    for mode, recompute in modes:
        o, rss = run_measured([sys.executable, "-c", TORCH_RUN, cfg, str(args.steps), str(args.threads), str(args.seq), mode]
                              + (["recompute"] if recompute else []))
        r = json.loads(o.strip().splitlines()[-1])
        params = r["params"]
        name = f"PyTorch eager ({'f32' if mode == 'f32' else 'bf16 autocast'}{', gradient checkpointing' if recompute else ''})"
        results[name] = (r["median_step_s"], rss)
    print(f"\nmodel 8 x 512, vocab 102400, {params / 1e6:.1f} M parameters, seq {args.seq}, 1 sequence per step, "
          f"{args.threads} threads, median of steps 2..{args.steps}")
    print("| engine | s / step | tokens/s | GFLOP/s (6·N·tokens) | % of f32 GEMM peak | peak RSS MB | dsllm vs this engine (same precision and recompute) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (secs, rss) in results.items():
        tps = args.seq / secs
        gflops = 6 * params * tps / 1e9
        precision = "bf16" if "bf16" in name else "f32"
        ours, ours_rss = results[f"dsllm ({precision}, --recompute)" if "checkpointing" in name else f"dsllm ({precision})"]
        # Speed > 1: dsllm is faster; RSS < 1: dsllm uses less memory.
        ratio = "" if name.startswith("dsllm") else f"{secs / ours:.2f}x speed, {ours_rss / rss:.2f}x RSS"
        print(f"| {name} | {secs:.2f} | {tps:.0f} | {gflops:.1f} | {100 * gflops / peak:.0f}% | {rss:.0f} | {ratio} |")
    mfu = [json.loads(l).get("mfu") for l in open(os.path.join(out + "bf16", "metrics.jsonl"))][1:]
    if all(m is not None for m in mfu):
        print(f"dsllm bf16 MFU (its metrics.jsonl, median of steps 2..{args.steps}): {100 * statistics.median(mfu):.1f}%")


if __name__ == "__main__":
    main()
