#!/usr/bin/env python3
"""dsllm eval vs lm-evaluation-harness's HF backend (transformers, f32, CPU) on the same model and tasks.

Both read the same exported task files (`dsllm eval --export`); each harness runs in its own process, timed end to end
(model load included) and per task from its own logs. Prints a Markdown table with seconds and the speed ratio, and
the metrics of both (they should agree; tools/lm_eval_crosscheck.py is the exact check against dsllm serve).

Usage: python3 bench/eval/bench.py --dsllm .build/release/dsllm --model models/default [--limit 200] [--runs 3]
Needs: pip install -r tools/requirements-eval.txt (lm-eval 0.4.13) and torch/transformers (tools/requirements.txt).
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
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t

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
        print(f"run {r + 1}: {k}: {times[k][-1]:.2f} s", flush=True)
mine = json.load(open(os.path.join(args.out, "dsllm.json")))["results"]
theirs = json.load(open(sorted(glob.glob(os.path.join(args.out, "lm-eval", "**", "results_*.json"), recursive=True), key=os.path.getmtime)[-1]))["results"]
anchor = statistics.median(times["lm-eval 0.4.13 hf (torch f32, batch 16)"])
questions = args.limit * len(names)
print(f"\n{questions} questions ({', '.join(names)}), {args.threads} threads, median of {args.runs} runs, model load included\n")
print("| harness | median s | questions/s | speed vs lm-eval hf |\n|---|---:|---:|---:|")
for k, ts in times.items():
    m = statistics.median(ts)
    print(f"| {k} | {m:.2f} | {questions / m:.1f} | {anchor / m:.2f}× |")
print("\n| task | metric | dsllm eval | lm-eval hf |\n|---|---|---:|---:|")
for n in names:
    for metric in ("acc", "acc_norm"):
        key = next(k for k in theirs["dsllm_" + n.replace("-", "_")] if k.split(",")[0] == metric)
        print(f"| {n} | {metric} | {mine[n][metric]:.4f} | {theirs['dsllm_' + n.replace('-', '_')][key]:.4f} |")
