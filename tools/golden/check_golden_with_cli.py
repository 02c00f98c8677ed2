#!/usr/bin/env python3
"""Check `dsllm tokenize` against the llama.cpp golden set, one process per case.

The golden file comes from tools/golden/make_tokenizer_golden.py (llama.cpp, special=False), so the
CLI runs with --no-parse-special. Cases cannot be batched into one process: concatenating texts
changes how their edges pre-tokenize, and there is no separator the vocab treats as neutral.
A process costs ~0.1 s, so ~3500 cases take a few minutes; --jobs runs several at once.

Usage (from the repository root):
    python3 tools/golden/check_golden_with_cli.py [--dsllm .build/release/dsllm] [--golden FILE] [--show 15] [--jobs 1]
Exit status 1 when any case differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_GOLDEN = REPO_ROOT / "Tests" / "DSTokenizerTests" / "Golden" / "llamacpp-deepseek-golden.jsonl"
DEFAULT_DSLLM = REPO_ROOT / ".build" / "release" / "dsllm"


def encode(dsllm: Path, text: str) -> list[int] | str:
    """Ids from the CLI, or the CLI's error text when it fails."""
    proc = subprocess.run([str(dsllm), "tokenize", "--no-parse-special", "--threads", "1"],
                          input=text.encode("utf-8"), capture_output=True)
    if proc.returncode != 0:
        return f"exit {proc.returncode}: {proc.stderr.decode(errors='replace').strip()[:200]}"
    return [int(x) for x in proc.stdout.split()]


def first_difference(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsllm", type=Path, default=DEFAULT_DSLLM)
    parser.add_argument("--golden", type=Path, default=DEFAULT_GOLDEN)
    parser.add_argument("--show", type=int, default=15, help="mismatches to print in full")
    parser.add_argument("--jobs", type=int, default=1, help="CLI processes to run at once")
    args = parser.parse_args()

    cases = [json.loads(line) for line in args.golden.read_text(encoding="ascii").splitlines()]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda c: encode(args.dsllm, c["text"]), cases))

    mismatches = [(c, got) for c, got in zip(cases, results) if got != c["ids"]]
    print(f"{len(cases)} cases, {len(mismatches)} mismatches ({args.dsllm} vs {args.golden.name})")
    for case, got in mismatches[: args.show]:
        text, expected = case["text"], case["ids"]
        print(f"\ntext     {text[:120]!r}{' ...' if len(text) > 120 else ''} ({len(text)} code points)")
        if isinstance(got, str):
            print(f"expected {expected[:40]}\ngot      {got}")
            continue
        i = first_difference(expected, got)
        lo = max(0, i - 3)
        print(f"first difference at id index {i}; showing from index {lo}")
        print(f"expected {expected[lo:lo + 12]}{' ...' if len(expected) > lo + 12 else ''}")
        print(f"got      {got[lo:lo + 12]}{' ...' if len(got) > lo + 12 else ''}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
