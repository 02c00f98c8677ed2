#!/usr/bin/env python3
"""dsllm eval vs lm-evaluation-harness on the same model and tasks (issue 10's acceptance check).

lm-eval runs `--model local-completions` against `dsllm serve` (echo + logprobs on /v1/completions, token-id
prompts tokenized by lm-eval with the model's tokenizer.json through transformers); dsllm eval runs in-process.
Both read the same exported task files (`dsllm eval --export`). The check fails unless, per task:
  - acc / acc_norm / exact_match agree to the last digit (same counts of correct answers),
  - every per-choice log-likelihood agrees within --tolerance (1e-4),
  - perplexity log-likelihoods agree within tolerance × tokens, and generated responses are identical.

Usage: python3 tools/golden/lm_eval_crosscheck.py --dsllm .build/release/dsllm --model models/default [--limit 100]
Pinned: lm-eval 0.4.13 (tools/golden/requirements-eval.txt).
"""
import argparse, ast, glob, json, os, socket, subprocess, sys, time, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--dsllm", default=".build/release/dsllm")
p.add_argument("--model", required=True)
p.add_argument("--out", default="bench/out/lm-eval-check")
p.add_argument("--limit", type=int, default=100)
p.add_argument("--tolerance", type=float, default=1e-4)
p.add_argument("--tasks", default="arithmetic-mc,copy-mc,arithmetic-gsm")
args = p.parse_args()
os.makedirs(args.out, exist_ok=True)
tasks_dir = os.path.join(args.out, "tasks")

def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)

config = json.load(open(os.path.join(args.model, "config.json")))
ctx = config["max_position_embeddings"]
# lm-eval's API models keep max_length - 1 for the prompt (one token is generated), which fits the server's
# limit (prompts under ctx tokens); their rolling windows predict max_length - 2 tokens each: dsllm's --window.
max_length = ctx
window = max_length - 2

# 1. The tasks as files (dsllm task JSON + lm-eval YAML over the same JSONL), plus a perplexity task of long
#    synthetic documents (several windows each) built from the generation task's worked answers.
run([args.dsllm, "eval", "--export", tasks_dir, "--limit", str(args.limit)] + sum([["--task", t] for t in args.tasks.split(",")], []))
docs = []
gsm = [json.loads(l) for l in open(os.path.join(tasks_dir, "arithmetic-gsm.jsonl"))] if os.path.exists(os.path.join(tasks_dir, "arithmetic-gsm.jsonl")) else []
for k in range(0, max(len(gsm), 1), 25):
    part = gsm[k:k + 25]
    if part:
        docs.append("\n\n".join(d["context"] + " " + d["target"] for d in part))
if docs:
    with open(os.path.join(tasks_dir, "story-ppl.jsonl"), "w") as f:
        for d in docs: f.write(json.dumps({"text": d}) + "\n")
    json.dump({"name": "story-ppl", "type": "perplexity", "data": "story-ppl.jsonl", "window": window, "stride": window},
              open(os.path.join(tasks_dir, "story-ppl.json"), "w"))
    with open(os.path.join(tasks_dir, "lm-eval", "dsllm_story_ppl.yaml"), "w") as f:
        json.dump({"task": "dsllm_story_ppl", "dataset_path": "json",
                   "dataset_kwargs": {"data_files": {"test": os.path.abspath(os.path.join(tasks_dir, "story-ppl.jsonl"))}},
                   "test_split": "test", "output_type": "loglikelihood_rolling", "doc_to_text": "", "doc_to_target": "text",
                   "metric_list": [{"metric": "word_perplexity"}, {"metric": "byte_perplexity"}, {"metric": "bits_per_byte"}]}, f, indent=1)
names = [t for t in args.tasks.split(",")] + (["story-ppl"] if docs else [])

# 2. dsllm eval in-process.
run([args.dsllm, "eval", "--model", args.model, "--out", os.path.join(args.out, "dsllm.json"), "--window", str(window)]
    + sum([["--task", os.path.join(tasks_dir, n + ".json")] for n in names], []))
mine = {}
for l in open(os.path.join(args.out, "dsllm.samples.jsonl")):
    s = json.loads(l)
    mine[(s["task"], s["doc"])] = s
mine_results = json.load(open(os.path.join(args.out, "dsllm.json")))["results"]

# 3. dsllm serve + lm_eval --model local-completions.
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
server_log = open(os.path.join(args.out, "server.log"), "w")
server = subprocess.Popen([args.dsllm, "serve", "--model", args.model, "--port", str(port), "--model-id", "dsllm",
                           "--parallel", "1"], stdout=server_log, stderr=subprocess.STDOUT)
try:
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1); break
        except Exception:
            time.sleep(0.2)
    else:
        sys.exit("dsllm serve did not come up: see " + server_log.name)
    lm_out = os.path.join(args.out, "lm-eval")
    model_args = (f"model=dsllm,base_url=http://127.0.0.1:{port}/v1/completions,tokenizer={os.path.abspath(args.model)},"
                  f"tokenizer_backend=huggingface,tokenized_requests=True,max_length={max_length},num_concurrent=1,max_retries=1")
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    run([sys.executable, "-m", "lm_eval", "--model", "local-completions", "--model_args", model_args,
         "--tasks", ",".join("dsllm_" + n.replace("-", "_") for n in names), "--include_path", os.path.join(tasks_dir, "lm-eval"),
         "--output_path", lm_out, "--log_samples", "--batch_size", "1"], env=env)
finally:
    server.terminate(); server.wait()

# 4. Compare.
result_files = sorted(glob.glob(os.path.join(lm_out, "**", "results_*.json"), recursive=True), key=os.path.getmtime)
theirs = json.load(open(result_files[-1]))["results"]
failures, lines = [], ["| task | metric | dsllm eval | lm-eval | per sample |", "|---|---|---:|---:|---|"]
for n in names:
    lm_name = "dsllm_" + n.replace("-", "_")
    sample_file = sorted(glob.glob(os.path.join(lm_out, "**", f"samples_{lm_name}_*.jsonl"), recursive=True), key=os.path.getmtime)[-1]
    diffs, mismatched, generated, nonempty = [0.0], 0, 0, 0
    for l in open(sample_file):
        s = json.loads(l)
        m = mine[(n, int(s["doc_id"]))]
        resps = ast.literal_eval(s["filtered_resps"]) if isinstance(s["filtered_resps"], str) else s["filtered_resps"]
        if "loglikelihoods" in m:
            lls = [float(r[0]) for r in resps]
            diffs += [abs(a - b) for a, b in zip(lls, m["loglikelihoods"])]
        elif "response" in m:
            raw = ast.literal_eval(s["resps"]) if isinstance(s["resps"], str) else s["resps"]
            generated += 1
            nonempty += bool(m["response"].strip())
            if raw[0][0] != m["response"]:
                mismatched += 1
                if mismatched <= 3: print(f"{n} doc {s['doc_id']}: lm-eval {raw[0][0]!r} vs dsllm {m['response']!r}")
        else:
            ll = float(resps[0])
            print(f"{n} doc {s['doc_id']}: lm-eval {ll:.6f} dsllm {m['loglikelihood']:.6f} ({m['tokens']} tokens)")
            diffs.append(abs(ll - m["loglikelihood"]) / max(m["tokens"], 1))
    worst = max(diffs)
    if worst > args.tolerance: failures.append(f"{n}: per-sample log-likelihood differs by {worst:.2e} > {args.tolerance}")
    if mismatched: failures.append(f"{n}: {mismatched} generated responses differ")
    for metric in ["acc", "acc_norm", "exact_match", "bits_per_byte", "word_perplexity", "byte_perplexity"]:
        key = next((k for k in theirs.get(lm_name, {}) if k.split(",")[0] == metric), None)
        if key is None or metric not in mine_results.get(n, {}): continue
        a, b = mine_results[n][metric], theirs[lm_name][key]
        same = abs(a - b) <= (1e-12 if metric in ("acc", "acc_norm", "exact_match") else 1e-4 * max(1, abs(b)))
        if not same: failures.append(f"{n} {metric}: dsllm {a} vs lm-eval {b}")
        detail = f"{worst:.1e}" + (" (per token)" if metric.endswith("perplexity") or metric == "bits_per_byte" else "")
        if generated: detail = f"responses identical {generated - mismatched}/{generated} ({nonempty} non-empty)"
        lines.append(f"| {n} | {metric} | {a:.6f} | {b:.6f} | {detail} |")
table = "\n".join(lines)
print(table)
open(os.path.join(args.out, "crosscheck.md"), "w").write(table + "\n")
if failures:
    print("\nFAILED:\n  " + "\n  ".join(failures)); sys.exit(1)
print(f"\nOK: dsllm eval and lm-eval agree (metrics exactly, log-likelihoods within {args.tolerance}, responses identical)")
