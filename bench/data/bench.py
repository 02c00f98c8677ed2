#!/usr/bin/env python3
"""Data pipeline throughput: `dsllm data dedup --near` and `dsllm data filter` vs datatrove 0.10.1 (MinHash 4 stages;
Gopher quality + Gopher repetition + C4) on the same corpus, same worker count, in the same run.

Corpus: `make corpus` (corpus/*.jsonl: Shakespeare/Milton, fortunes, the Jargon File, Python docs; ~18 k documents,
~25 MiB) unless --input is given. dsllm first ingests the JSONL into its document store (timed, reported apart:
datatrove reads the JSONL directly, so the dedup/filter comparisons start from equivalent JSONL inputs and both
write JSONL). Medians of --repeats runs; ratio = datatrove seconds / dsllm seconds (> 1: dsllm faster).

Usage: python3 bench/data/bench.py --dsllm .build/release/dsllm [--workers 2] [--repeats 3] [--input a.jsonl ...]
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--input", nargs="*")
    args = ap.parse_args()
    inputs = args.input or sorted(glob.glob(os.path.join(ROOT, "corpus", "*.jsonl")))
    if not inputs:
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "make-corpus.sh"), os.path.join(ROOT, "corpus")], check=True)
        inputs = sorted(glob.glob(os.path.join(ROOT, "corpus", "*.jsonl")))
    tmp = tempfile.mkdtemp(prefix="dsllm-data-bench-")
    joined = os.path.join(tmp, "all.jsonl")
    with open(joined, "wb") as out:
        for p in inputs:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, out)
    docs = sum(1 for _ in open(joined, "rb"))
    mib = os.path.getsize(joined) / 2**20
    print(f"corpus: {docs} documents, {mib:.1f} MiB JSONL, {args.workers} workers, median of {args.repeats}")

    env = dict(os.environ)
    store = os.path.join(tmp, "store")
    ingest = statistics.median(timed([args.dsllm, "data", "ingest", joined, "--out", store, "--quiet"]) for _ in range(args.repeats))
    ds = {}
    ds["minhash"] = statistics.median(timed([args.dsllm, "data", "dedup", "--near", store, "--out", os.path.join(tmp, "near"), "--quiet"])
                                      for _ in range(args.repeats))
    ds["filters"] = statistics.median(timed([args.dsllm, "data", "filter", store, "--out", os.path.join(tmp, "filtered"), "--quiet"])
                                      for _ in range(args.repeats))
    kept = json.load(open(os.path.join(tmp, "near", "report.json")))["counters"]["documents_out"]
    out = subprocess.run([sys.executable, os.path.join(HERE, "datatrove_bench.py"), "--input", joined, "--workers", str(args.workers),
                          "--repeats", str(args.repeats)], check=True, capture_output=True, text=True, env=env).stdout
    dt = {}
    for line in out.strip().splitlines():
        r = json.loads(line)
        dt[r["task"]] = r
    print(f"dsllm ingest (JSONL → store): {ingest:.2f} s ({docs / ingest:.0f} docs/s)")
    print("| task | dsllm s | dsllm docs/s | datatrove s | datatrove docs/s | ratio (datatrove/dsllm) |")
    print("|---|---:|---:|---:|---:|---:|")
    for task, name in (("minhash", "near-dedup (MinHash, 4 stages)"), ("filters", "filters (Gopher quality + repetition + C4)")):
        d = dt[task]["seconds_median"]
        print(f"| {name} | {ds[task]:.2f} | {docs / ds[task]:.0f} | {d:.2f} | {dt[task]['docs_per_s']:.0f} | {d / ds[task]:.1f}x |")
    print(f"near-dedup kept: dsllm {kept}, datatrove {dt['minhash'].get('kept')}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
