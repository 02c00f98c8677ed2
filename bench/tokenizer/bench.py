#!/usr/bin/env python3
"""Encode-throughput benchmark: dsllm vs HF tokenizers vs llama.cpp on one corpus.

All three tokenizers use the same DeepSeek LLM vocab: dsllm and llama.cpp read the GGUF, HF
tokenizers reads a tokenizer.json that `dsllm tokenizer convert` writes from that GGUF into a
temporary directory. Special-token text is not parsed anywhere (dsllm --no-parse-special,
llama.cpp special=False; the corpus contains none anyway).

How each is timed (MB = 10^6 bytes of UTF-8 input; every figure is the median of --runs):
  dsllm encode `dsllm tokenizer bench --file CORPUS --threads N --json`: the encode call only,
               after one warm-up run, like the HF and llama.cpp rows (the fair comparison).
  dsllm        whole process: `dsllm tokenize --file CORPUS --threads N`, stdout to a file.
               Reported raw and minus the load-only time (the same command on an empty
               file: process start plus vocab load). Printing the ids stays in both.
  HF           encode_batch_fast(lines, add_special_tokens=False) in a child process, timing
               only the call. 1 thread: RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false
               (the batch is then encoded serially); all threads: parallelism on, one rayon
               worker per core. Of the inputs tried, a batch of lines was fastest single-
               threaded (~1.15 MB/s vs ~0.9 for 64 KB chunks and ~0.55 for encode() per 1 MB
               chunk, tokenizers 0.22.1); encode_batch_fast skips the offsets nobody here uses.
  llama.cpp    llama_tokenize() per chunk, 1 thread, timing only the calls. Chunks are the
               corpus cut after the first newline past every 64 KB (per-line calls were
               2x slower; whole-corpus calls are avoided because llama.cpp matches its ~2400
               user-defined added tokens by repeated std::string::find over the fragment
               list). Called through the C API with an output buffer of len(chunk) tokens:
               Llama.tokenize() would tokenize every chunk twice (its first try uses an
               n_ctx_train-sized buffer, 0 for a vocab-only model).
Cutting at line ends cannot change the ids: the first pre-tokenizer split isolates every \\r
and \\n, and no added token contains one. The ids of every tool are checked against dsllm's
single-thread ids, and mismatches are reported (count and first differing position).

Usage:
  python3 bench/tokenizer/bench.py --dsllm .build/release/dsllm --vocab VOCAB.gguf \\
      --corpus bench/out/corpus.txt [--runs 5] [--out bench/out/results.json]
llama.cpp honours LLAMA_CPP_LIB_PATH (see tools/golden/make_tokenizer_golden.py for why it may be
needed); if llama_cpp cannot be loaded, its rows are skipped with a note.
"""

from __future__ import annotations

import argparse
import array
import hashlib
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK_BYTES = 64 * 1024


def chunks_at_newlines(data: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    """Cut after the first newline at or past every `size` bytes (newline bytes are always
    UTF-8 character boundaries)."""
    out, start = [], 0
    while start < len(data):
        cut = data.find(b"\n", start + size)
        end = len(data) if cut < 0 else cut + 1
        out.append(data[start:end])
        start = end
    return out


def first_mismatch(a: array.array, b: array.array) -> int | None:
    if a == b:
        return None
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


# ---------------------------------------------------------------------------------------------
# dsllm
# ---------------------------------------------------------------------------------------------

def time_dsllm_encode(dsllm: Path, vocab: Path, corpus: Path, threads: int, runs: int) -> dict:
    cmd = [str(dsllm), "tokenizer", "bench", "--tokenizer", str(vocab), "--file", str(corpus),
           "--threads", str(threads), "--runs", str(runs), "--json"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def time_dsllm(dsllm: Path, vocab: Path, corpus: Path, threads: int, runs: int, out_file: Path) -> list[float]:
    cmd = [str(dsllm), "tokenize", "--tokenizer", str(vocab), "--no-parse-special",
           "--file", str(corpus), "--threads", str(threads)]
    times = []
    for _ in range(runs):
        with open(out_file, "wb") as out:
            start = time.perf_counter()
            subprocess.run(cmd, stdout=out, check=True)
            times.append(time.perf_counter() - start)
    return times


# ---------------------------------------------------------------------------------------------
# HF tokenizers, in a child process so the rayon pool size can be fixed before it exists.
# ---------------------------------------------------------------------------------------------

def hf_worker(tokenizer_json: str, corpus: str, runs: int, ids_out: str) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tokenizer_json)
    # bytes.splitlines cuts only at \n, \r and \r\n, all isolated by the pre-tokenizer.
    lines = [line.decode("utf-8") for line in Path(corpus).read_bytes().splitlines(keepends=True)]
    tok.encode_batch_fast(lines[:100], add_special_tokens=False)  # warm-up: pool and caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        encodings = tok.encode_batch_fast(lines, add_special_tokens=False)
        times.append(time.perf_counter() - start)
    ids = array.array("i")
    for e in encodings:
        ids.extend(e.ids)
    Path(ids_out).write_bytes(ids.tobytes())
    print(json.dumps({"times": times}))


def time_hf(tokenizer_json: Path, corpus: Path, threads: int, runs: int, ids_out: Path) -> list[float]:
    env = dict(os.environ)
    if threads == 1:
        env.update(RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    else:
        env.update(RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true")
    proc = subprocess.run([sys.executable, __file__, "--hf-worker", str(tokenizer_json), str(corpus), str(runs),
                           str(ids_out)], env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])["times"]


# ---------------------------------------------------------------------------------------------
# llama.cpp
# ---------------------------------------------------------------------------------------------

def llama_cpp_loads(vocab: Path) -> str | None:
    """None when llama_cpp loads the vocab, else why not (probed in a child: a build for
    another CPU dies from SIGILL rather than raising)."""
    probe = f"import llama_cpp; llama_cpp.Llama(model_path={str(vocab)!r}, vocab_only=True, verbose=False)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    if proc.returncode == -4:
        return "llama_cpp died with SIGILL (built for another CPU); set LLAMA_CPP_LIB_PATH"
    return f"llama_cpp failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"


def time_llama_cpp(vocab: Path, corpus: Path, runs: int) -> tuple[list[float], array.array]:
    import ctypes

    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(vocab), vocab_only=True, verbose=False)
    vocab_ptr = llm._model.vocab
    chunks = chunks_at_newlines(corpus.read_bytes())
    # Never more ids than bytes, so one buffer of the largest chunk's size always suffices.
    buf = (llama_cpp.llama_token * max(len(c) for c in chunks))()
    times, ids = [], array.array("i")
    for run in range(runs):
        counts = []
        start = time.perf_counter()
        for c in chunks:
            n = llama_cpp.llama_tokenize(vocab_ptr, c, len(c), buf, len(c), False, False)
            counts.append(n)
            if run == 0:
                ids.extend(buf[:n])  # copying costs time, but only the first run pays it
        elapsed = time.perf_counter() - start
        if min(counts) < 0:
            raise RuntimeError("llama_tokenize needed a larger buffer")
        times.append(elapsed)
    if runs > 1:
        times = times[1:]  # drop the run that also copied ids out
    return times, ids


# ---------------------------------------------------------------------------------------------

def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--hf-worker":
        hf_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return 0

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsllm", type=Path, required=True)
    parser.add_argument("--vocab", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write results as JSON here")
    args = parser.parse_args()

    command = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    print(f"command: {command}")
    data = args.corpus.read_bytes()
    mb = len(data) / 1e6
    nproc = os.cpu_count() or 1
    print(f"corpus: {args.corpus} ({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}), "
          f"runs {args.runs}, {nproc} cores")

    results, notes = [], []
    ids_by_tool: dict[str, array.array] = {}
    with tempfile.TemporaryDirectory(prefix="dsllm-bench-") as tmp_name:
        tmp = Path(tmp_name)
        subprocess.run([str(args.dsllm), "tokenizer", "convert", "--tokenizer", str(args.vocab),
                        "--out", str(tmp / "tokenizer.json")], check=True, stdout=subprocess.DEVNULL)

        empty = tmp / "empty.txt"
        empty.write_bytes(b"")
        load = statistics.median(time_dsllm(args.dsllm, args.vocab, empty, 1, max(args.runs, 5), tmp / "ids.txt"))
        print(f"dsllm load-only time (empty input): {load * 1000:.1f} ms")

        def add(tool, threads, times, corrected_by=0.0):
            median = statistics.median(times) - corrected_by
            results.append({"tool": tool, "threads": threads, "seconds": times, "load_subtracted_s": corrected_by,
                            "median_s": median, "mb_per_s": mb / median})
            print(f"  {tool:<28} {threads:>2} thread(s) {mb / median:8.2f} MB/s")

        for threads in sorted({1, nproc}):
            r = time_dsllm_encode(args.dsllm, args.vocab, args.corpus, threads, args.runs)
            add("dsllm (encode)", threads, [r["median_seconds"]])

        for threads in sorted({1, nproc}):
            out = tmp / f"dsllm-{threads}.txt"
            times = time_dsllm(args.dsllm, args.vocab, args.corpus, threads, args.runs, out)
            add("dsllm (process)", threads, times)
            add("dsllm (process - load)", threads, times, corrected_by=load)
            ids_by_tool[f"dsllm {threads}T"] = array.array("i", map(int, out.read_bytes().split()))

        for threads in sorted({1, nproc}):
            ids_file = tmp / f"hf-{threads}.bin"
            add("HF tokenizers", threads, time_hf(tmp / "tokenizer.json", args.corpus, threads, args.runs, ids_file))
            ids_by_tool[f"HF {threads}T"] = array.array("i", ids_file.read_bytes())

        why_not = llama_cpp_loads(args.vocab)
        if why_not:
            notes.append(f"llama.cpp skipped: {why_not}")
        else:
            times, ids = time_llama_cpp(args.vocab, args.corpus, args.runs + 1)
            add("llama.cpp (llama_tokenize)", 1, times)
            ids_by_tool["llama.cpp 1T"] = ids

    # Identical ids everywhere, measured against dsllm single-thread.
    reference_name = "dsllm 1T"
    reference = ids_by_tool[reference_name]
    verification = {}
    for name, ids in ids_by_tool.items():
        pos = first_mismatch(reference, ids)
        verification[name] = {"n_ids": len(ids), "identical": pos is None, "first_mismatch": pos}
        if pos is not None:
            diff = sum(1 for x, y in zip(reference, ids) if x != y) + abs(len(reference) - len(ids))
            verification[name]["differing_positions"] = diff
            notes.append(f"ids differ: {name} vs {reference_name} at index {pos} "
                         f"({diff} positions differ; {len(ids):,} vs {len(reference):,} ids): "
                         f"{list(ids[pos:pos + 8])} vs {list(reference[pos:pos + 8])}")

    hf1 = next(r["mb_per_s"] for r in results if r["tool"] == "HF tokenizers" and r["threads"] == 1)
    hf_by_threads = {r["threads"]: r["mb_per_s"] for r in results if r["tool"] == "HF tokenizers"}
    for r in results:
        r["ratio_vs_hf_1t"] = r["mb_per_s"] / hf1
        r["ratio_vs_hf_same_threads"] = r["mb_per_s"] / hf_by_threads.get(r["threads"], hf1)

    print(f"\n{len(reference):,} ids; ids identical across tools: "
          f"{all(v['identical'] for v in verification.values())}\n")
    print("| tool | threads | MB/s (median) | vs HF 1 thread | vs HF same threads |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['tool']} | {r['threads']} | {r['mb_per_s']:.2f} | {r['ratio_vs_hf_1t']:.2f}x "
              f"| {r['ratio_vs_hf_same_threads']:.2f}x |")
    for note in notes:
        print(f"\nnote: {note}")

    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "command": command, "corpus": str(args.corpus), "corpus_bytes": len(data),
            "corpus_sha256": hashlib.sha256(data).hexdigest(), "runs": args.runs, "cores": nproc,
            "dsllm_load_s": load, "n_ids": len(reference), "results": results,
            "verification": verification, "notes": notes,
            "versions": {"tokenizers": __import__("tokenizers").__version__, "python": sys.version.split()[0]},
        }, indent=2) + "\n")
        print(f"\nwrote {args.out}")
    return 1 if any(not v["identical"] for v in verification.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
