#!/usr/bin/env python3
"""BPE training time: `dsllm tokenizer train` vs HF tokenizers' BpeTrainer, same corpus, same size; also checks
that the two produce the same merges (the golden test does this on a small corpus; this is the large one).

HF is configured exactly as tools/golden/make_trainer_golden.py does (DeepSeek Split pre-tokenizers + ByteLevel, full
byte alphabet, no special tokens during training); dsllm gets --vocab-size N+2 because it counts its two
special tokens. Both are timed as whole runs (reading the corpus, counting words, merging), median of --runs.

Usage: python3 bench/tokenizer/train.py --dsllm .build/release/dsllm --corpus bench/out/corpus.txt [--vocab 8192]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from make_trainer_golden import PATTERNS  # noqa: E402


def hf_train(corpus, size, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true" if threads > 1 else "false")
    code = f"""
import json, sys, time
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r} + '/../../tools')
from make_trainer_golden import PATTERNS
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
t = time.perf_counter()
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(p), behavior='isolated') for p in PATTERNS]
    + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
tr = trainers.BpeTrainer(vocab_size={size}, min_frequency=0, show_progress=False, special_tokens=[],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train([{corpus!r}], tr)
s = time.perf_counter() - t
m = json.loads(tok.to_str())['model']['merges']
print(json.dumps({{'seconds': s, 'merges': [x if isinstance(x, str) else ' '.join(x) for x in m]}}))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print("command:", " ".join([sys.executable] + sys.argv))
    nproc = os.cpu_count() or 1
    rows = []
    hf_merges = None
    for threads in sorted({1, nproc}):
        results = [hf_train(args.corpus, args.vocab, threads) for _ in range(args.runs)]
        rows.append((f"HF tokenizers BpeTrainer", threads, statistics.median(r["seconds"] for r in results)))
        hf_merges = results[0]["merges"]
    dsllm_merges = None
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "tokenizer.json")
        for threads in sorted({1, nproc}):
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                subprocess.run([args.dsllm, "tokenizer", "train", "--input", args.corpus, "--vocab-size",
                                str(args.vocab + 2), "--out", out, "--threads", str(threads), "--quiet", "--overwrite"],
                               check=True, capture_output=True)
                times.append(time.perf_counter() - t)
            rows.append(("dsllm tokenizer train", threads, statistics.median(times)))
        with open(out, encoding="utf-8") as f:
            dsllm_merges = json.load(f)["model"]["merges"]
    first = next((i for i, (a, b) in enumerate(zip(dsllm_merges, hf_merges)) if a != b), None)
    same = first is None and len(dsllm_merges) == len(hf_merges)
    print(f"merges: dsllm {len(dsllm_merges)}, HF {len(hf_merges)}, identical: {same}"
          + ("" if same else f" (first difference at rank {first})"))
    hf1 = next(s for n, t, s in rows if n.startswith("HF") and t == 1)
    print("| trainer | threads | median s | speed-up vs HF 1 thread |")
    print("|---|---:|---:|---:|")
    for name, threads, s in rows:
        print(f"| {name} | {threads} | {s:.2f} | {hf1 / s:.1f}x |")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
