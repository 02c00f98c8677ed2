#!/usr/bin/env python3
"""dsllm eval vs lm-evaluation-harness's HF backend (transformers, f32, CPU) on the same model and tasks.

Both read the same exported task files (`dsllm eval --export`); each harness runs in its own process, timed end to end
(model load included) and per task from its own logs. Prints a Markdown table with seconds and the speed ratio, and
the metrics of both (they should agree; tools/golden/lm_eval_crosscheck.py is the exact check against dsllm serve).

Usage: python3 bench/eval/bench.py --dsllm .build/release/dsllm --model models/default [--limit 200] [--runs 3]
Needs: pip install -r tools/golden/requirements-eval.txt (lm-eval 0.4.13) and torch/transformers (tools/golden/requirements.txt).
"""
import argparse, glob, json, os, statistics, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--dsllm", default=".build/release/dsllm")
p.add_argument("--model", required=True)
p.add_argument("--out", default="bench/out/eval-bench")
p.add_argument("--limit", type=int, default=200)
p.add_argument("--runs", type=int, default=3)
p.add_argument("--tasks", default="arithmetic-mc,copy-mc")
p.add_argument("--threads", type=int, default=os.cpu_count())
args = p.parse_args()
os.makedirs(args.out, exist_ok=True)
tasks_dir = os.path.join(args.out, "tasks")
names = args.tasks.split(",")
subprocess.run([args.dsllm, "eval", "--export", tasks_dir, "--limit", str(args.limit)] + sum([["--task", n] for n in names], []),
               check=True, stdout=subprocess.DEVNULL)

def timed(cmd, env=None):
    """(end-to-end seconds, scoring seconds): dsllm's per-task summary lines ("NAME: N in S s"), lm-eval's
    total_evaluation_time_seconds (both exclude start-up, imports and model loading)."""
    t = time.perf_counter()
    r = subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - t
    if cmd[0] == args.dsllm:
        scoring = sum(float(l.rsplit(" in ", 1)[1].split()[0]) for l in r.stderr.splitlines() if " in " in l and l.endswith(" s"))
    else:
        latest = sorted(glob.glob(os.path.join(args.out, "lm-eval", "**", "results_*.json"), recursive=True), key=os.path.getmtime)[-1]
        scoring = float(json.load(open(latest))["total_evaluation_time_seconds"])
    return wall, scoring

env = dict(os.environ, HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
           OMP_NUM_THREADS=str(args.threads))
task_args = sum([["--task", os.path.join(tasks_dir, n + ".json")] for n in names], [])
engines = {
    "dsllm eval (batch 16, packed)": lambda: timed([args.dsllm, "eval", "--model", args.model, "--threads", str(args.threads), "--batch-size", "16",
                                                    "--out", os.path.join(args.out, "dsllm.json")] + task_args),
    "dsllm eval (batch 1)": lambda: timed([args.dsllm, "eval", "--model", args.model, "--threads", str(args.threads), "--batch-size", "1",
                                           "--out", os.path.join(args.out, "dsllm-b1.json")] + task_args),
    "lm-eval 0.4.13 hf (torch f32, batch 16)": lambda: timed([sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args",
        f"pretrained={os.path.abspath(args.model)},dtype=float32", "--device", "cpu", "--batch_size", "16",
        "--tasks", ",".join("dsllm_" + n.replace("-", "_") for n in names), "--include_path", os.path.join(tasks_dir, "lm-eval"),
        "--output_path", os.path.join(args.out, "lm-eval")], env),
}
times = {k: [] for k in engines}
for r in range(args.runs):
    for k, f in engines.items():   # interleaved, so drift hits every engine alike
        times[k].append(f())
        print(f"run {r + 1}: {k}: {times[k][-1][0]:.2f} s end to end, {times[k][-1][1]:.2f} s scoring", flush=True)
mine = json.load(open(os.path.join(args.out, "dsllm.json")))["results"]
theirs = json.load(open(sorted(glob.glob(os.path.join(args.out, "lm-eval", "**", "results_*.json"), recursive=True), key=os.path.getmtime)[-1]))["results"]
ref = "lm-eval 0.4.13 hf (torch f32, batch 16)"
anchor = [statistics.median(t[i] for t in times[ref]) for i in (0, 1)]
questions = args.limit * len(names)
print(f"\n{questions} questions ({', '.join(names)}), {args.threads} threads, median of {args.runs} runs\n")
print("| harness | end to end s | scoring s | questions/s (scoring) | speed vs lm-eval hf: end to end | scoring |\n|---|---:|---:|---:|---:|---:|")
for k, ts in times.items():
    m = [statistics.median(t[i] for t in ts) for i in (0, 1)]
    print(f"| {k} | {m[0]:.2f} | {m[1]:.2f} | {questions / m[1]:.1f} | {anchor[0] / m[0]:.2f}× | {anchor[1] / m[1]:.2f}× |")
print("\n| task | metric | dsllm eval | lm-eval hf |\n|---|---|---:|---:|")
for n in names:
    for metric in ("acc", "acc_norm"):
        key = next(k for k in theirs["dsllm_" + n.replace("-", "_")] if k.split(",")[0] == metric)
        print(f"| {n} | {metric} | {mine[n][metric]:.4f} | {theirs['dsllm_' + n.replace('-', '_')][key]:.4f} |")
