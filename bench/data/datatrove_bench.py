#!/usr/bin/env python3
"""Throughput anchor for dsllm's data pipeline: HuggingFace datatrove on a JSONL document store.

Two tasks, each timed end to end (wall clock, median of --repeats runs, every run in fresh temporary folders):

  minhash   datatrove's 4-stage MinHash near-dedup with the default MinhashConfig (word 5-grams, 14 buckets x 8
            hashes, xxhash64, seed 1), LocalPipelineExecutor:
              stage 1  JsonlReader -> MinhashDedupSignature         tasks = workers = N
              stage 2  MinhashDedupBuckets                          tasks = 14, workers = min(N, 14)
              stage 3  MinhashDedupCluster                          tasks = 1
              stage 4  JsonlReader -> MinhashDedupFilter -> JsonlWriter   tasks = workers = N
  filters   JsonlReader -> GopherQualityFilter -> GopherRepetitionFilter -> C4QualityFilter -> JsonlWriter
            (all default arguments, chained in that order), tasks = workers = N.

The input is split into N contiguous shard files first (not timed), so that each of the N tasks reads one; output
is uncompressed JSONL. Times include datatrove's per-task process start-up (workers > 1: a forkserver pool) and
spaCy's blank English pipeline load, as a real run does. docs = documents with a non-empty text (datatrove skips
the others). One JSON line per task on stdout:
  {"task": "minhash", "docs": ..., "seconds_median": ..., "docs_per_s": ..., "workers": N, "kept": ...}

Pinned versions: tools/golden/requirements.txt (datatrove==0.10.1, spacy==3.8.18, xxhash==3.8.2, numpy==2.4.6, orjson).

Usage: python3 bench/data/datatrove_bench.py --input corpus.jsonl [--workers 1] [--repeats 3]
       [--tasks minhash,filters] [--text-key text] [--id-key id] [--verbose]
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time


@contextlib.contextmanager
def quiet(enabled):
    """datatrove logs per task to stderr (also from worker processes): send fd 2 to /dev/null while timing."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def shard_input(path, n, text_key, id_key, out_dir):
    with open(path, encoding="utf-8") as fh:
        lines = [ln for ln in fh if ln.strip()]
    docs = 0
    for ln in lines:
        d = json.loads(ln)
        if d.get(text_key):
            docs += 1
    per = -(-len(lines) // n)
    for i in range(n):
        with open(os.path.join(out_dir, f"shard_{i:05d}.jsonl"), "w", encoding="utf-8") as fh:
            fh.writelines(lines[i * per:(i + 1) * per])
    return docs


def count_jsonl(folder):
    n = 0
    for root, _, files in os.walk(folder):
        for f in files:
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                n += sum(1 for ln in fh if ln.strip())
    return n


def run_minhash(shards, work, n, text_key, id_key):
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    cfg = MinhashConfig()
    p = lambda *x: os.path.join(work, *x)
    reader = lambda: JsonlReader(shards, compression=None, text_key=text_key, id_key=id_key)
    LocalPipelineExecutor([reader(), MinhashDedupSignature(p("sigs"), config=cfg)], tasks=n, workers=n,
                          logging_dir=p("logs1")).run()
    LocalPipelineExecutor([MinhashDedupBuckets(p("sigs"), p("buckets"), config=cfg)], tasks=cfg.num_buckets,
                          workers=min(n, cfg.num_buckets), logging_dir=p("logs2")).run()
    LocalPipelineExecutor([MinhashDedupCluster(p("buckets"), p("clusters"), config=cfg)], tasks=1, workers=1,
                          logging_dir=p("logs3")).run()
    LocalPipelineExecutor([reader(), MinhashDedupFilter(p("clusters")), JsonlWriter(p("out"), compression=None)],
                          tasks=n, workers=n, logging_dir=p("logs4")).run()
    return count_jsonl(p("out"))


def run_filters(shards, work, n, text_key, id_key):
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    p = lambda *x: os.path.join(work, *x)
    LocalPipelineExecutor([JsonlReader(shards, compression=None, text_key=text_key, id_key=id_key),
                           GopherQualityFilter(), GopherRepetitionFilter(), C4QualityFilter(),
                           JsonlWriter(p("out"), compression=None)], tasks=n, workers=n, logging_dir=p("logs")).run()
    return count_jsonl(p("out"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True, help="JSONL document store (one object a line, with a text field)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tasks", default="minhash,filters")
    ap.add_argument("--text-key", default="text")
    ap.add_argument("--id-key", default="id")
    ap.add_argument("--verbose", action="store_true", help="keep datatrove's logs on stderr")
    args = ap.parse_args()

    runners = {"minhash": run_minhash, "filters": run_filters}
    with tempfile.TemporaryDirectory(prefix="dt_bench_") as base:
        shards = os.path.join(base, "input")
        os.makedirs(shards)
        docs = shard_input(args.input, args.workers, args.text_key, args.id_key, shards)
        for task in args.tasks.split(","):
            times, kept = [], None
            for r in range(args.repeats):
                work = tempfile.mkdtemp(prefix=f"{task}_{r}_", dir=base)
                with quiet(not args.verbose):
                    t0 = time.perf_counter()
                    kept = runners[task](shards, work, args.workers, args.text_key, args.id_key)
                    times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            print(json.dumps({"task": task, "docs": docs, "seconds_median": round(med, 4),
                              "docs_per_s": round(docs / med, 1), "workers": args.workers, "kept": kept,
                              "seconds_all": [round(t, 4) for t in times]}), flush=True)


if __name__ == "__main__":
    main()
