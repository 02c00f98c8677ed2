#!/usr/bin/env python3
"""Data pipeline throughput: `dsllm data dedup --near` and `dsllm data filter` vs datatrove 0.10.1 (MinHash 4 stages;
Gopher quality + Gopher repetition + C4) on the same corpus, same worker count, in the same run.

Corpus: `make corpus` (corpus/*.jsonl: Shakespeare/Milton, fortunes, the Jargon File, Python docs; ~18 k documents,
~25 MiB) unless --input is given. dsllm first ingests the JSONL into its document store (timed, reported apart:
datatrove reads the JSONL directly, so the dedup/filter comparisons start from equivalent JSONL inputs and both
write JSONL). Medians of --repeats runs; ratio = datatrove seconds / dsllm seconds (> 1: dsllm faster), quoted both
without and with dsllm's ingest added to each task (datatrove's times include its own JSONL reading). Each run
writes to a fresh folder. Without datatrove installed (--dsllm-only) only dsllm's side is timed.

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
sys.path.insert(0, os.path.dirname(HERE))
from machine import print_machine  # noqa: E402


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
    ap.add_argument("--dsllm-only", action="store_true", help="skip datatrove (not installed)")
    args = ap.parse_args()
    print("command:", " ".join([sys.executable] + sys.argv))
    print_machine()
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
    fresh = iter(range(1_000_000))  # a new output folder for every run: dsllm refuses to write into a used one

    def out_dir(name):
        return os.path.join(tmp, f"{name}-{next(fresh)}")

    store = os.path.join(tmp, "store")
    ingest = statistics.median(timed([args.dsllm, "data", "ingest", joined, "--out", store if r == 0 else out_dir("store"), "--quiet"])
                               for r in range(args.repeats))
    ds = {}
    near = os.path.join(tmp, "near")
    ds["minhash"] = statistics.median(timed([args.dsllm, "data", "dedup", "--near", store, "--out", near if r == 0 else out_dir("near"),
                                             "--quiet"]) for r in range(args.repeats))
    ds["filters"] = statistics.median(timed([args.dsllm, "data", "filter", store, "--out", out_dir("filtered"), "--quiet"])
                                      for _ in range(args.repeats))
    kept = json.load(open(os.path.join(near, "report.json")))["counters"]["documents_out"]
    dt = {}
    if not args.dsllm_only:
        out = subprocess.run([sys.executable, os.path.join(HERE, "datatrove_bench.py"), "--input", joined, "--workers", str(args.workers),
                              "--repeats", str(args.repeats)], check=True, capture_output=True, text=True, env=env).stdout
        for line in out.strip().splitlines():
            r = json.loads(line)
            dt[r["task"]] = r
    print(f"dsllm ingest (JSONL → store): {ingest:.2f} s ({docs / ingest:.0f} docs/s)")
    print("| task | dsllm s | dsllm docs/s | dsllm s with ingest | datatrove s | datatrove docs/s | datatrove / dsllm | with ingest |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for task, name in (("minhash", "near-dedup (MinHash, 4 stages)"), ("filters", "filters (Gopher quality + repetition + C4)")):
        both = ds[task] + ingest
        if task in dt:
            d = dt[task]["seconds_median"]
            anchor = f"{d:.2f} | {dt[task]['docs_per_s']:.0f} | {d / ds[task]:.1f}x | {d / both:.1f}x"
        else:
            anchor = "— | — | — | —"
        print(f"| {name} | {ds[task]:.2f} | {docs / ds[task]:.0f} | {both:.2f} | {anchor} |")
    print(f"near-dedup kept: dsllm {kept}, datatrove {dt['minhash'].get('kept') if dt else '(not run)'}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
