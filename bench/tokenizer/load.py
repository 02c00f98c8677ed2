#!/usr/bin/env python3
"""Vocabulary load time: dsllm (GGUF and tokenizer.json) vs HF tokenizers vs llama.cpp, same vocabulary.

dsllm: the `loaded in X ms` that `dsllm tokenizer info` prints (time inside the process, from the call to the
returned Tokenizer). HF: Tokenizer.from_file on the tokenizer.json `dsllm tokenizer convert` writes. llama.cpp:
Llama(vocab_only=True) on the GGUF (includes its context set-up). Medians of --runs.

Usage: python3 bench/tokenizer/load.py --dsllm .build/release/dsllm --vocab VOCAB.gguf [--runs 11]
"""
import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def dsllm_ms(binary, tokenizer, runs):
    out = []
    for _ in range(runs):
        text = subprocess.run([binary, "tokenizer", "info", "--tokenizer", tokenizer], check=True,
                              capture_output=True, text=True).stdout
        out.append(float(re.search(r"loaded in ([0-9.]+) ms", text).group(1)))
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    print("command:", " ".join([sys.executable] + sys.argv))
    with tempfile.TemporaryDirectory() as d:
        tj = str(Path(d) / "tokenizer.json")
        subprocess.run([args.dsllm, "tokenizer", "convert", "--tokenizer", args.vocab, "--out", tj, "--overwrite"], check=True,
                       stdout=subprocess.DEVNULL)
        rows = [("dsllm, GGUF", dsllm_ms(args.dsllm, args.vocab, args.runs)),
                ("dsllm, tokenizer.json", dsllm_ms(args.dsllm, tj, args.runs))]
        from tokenizers import Tokenizer
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            Tokenizer.from_file(tj)
            times.append((time.perf_counter() - t) * 1000)
        rows.append(("HF tokenizers, tokenizer.json", statistics.median(times)))
        try:
            import llama_cpp
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                llama_cpp.Llama(model_path=args.vocab, vocab_only=True, verbose=False)
                times.append((time.perf_counter() - t) * 1000)
            rows.append(("llama.cpp, GGUF (vocab_only)", statistics.median(times)))
        except Exception as e:  # noqa: BLE001 - report and go on
            print("llama.cpp skipped:", e)
    print("| loader | median ms |")
    print("|---|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
