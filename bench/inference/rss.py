#!/usr/bin/env python3
"""Peak resident memory of a generate run: dsllm vs llama.cpp on the same GGUF, against the file size plus the KV cache
(issue 19's goal: peak RSS <= 1.1 x file + KV for dsllm). Each engine runs in its own process under GNU time (%M =
peak RSS in KiB); llama.cpp runs through llama-cpp-python, so its figure includes the Python interpreter and numpy
(measured alone below and printed, not subtracted).

  PYTHONPATH=.venv-tools/llama-cpp python3 bench/inference/rss.py --dsllm .build/release/dsllm bench/out/ds-2l-q4_0.gguf
"""
import argparse
import os
import subprocess
import sys
import tempfile


def peak_kib(cmd, env=None):
    with tempfile.NamedTemporaryFile("r") as f:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name] + cmd, check=True, capture_output=True, env=env)
        return int(f.read().strip().splitlines()[-1])


def kv_bytes(path, positions, element):
    from gguf import GGUFReader
    r = GGUFReader(path)
    field = lambda k: int(r.fields[k].parts[-1][0])
    layers, hidden = field("llama.block_count"), field("llama.embedding_length")
    heads, kv_heads = field("llama.attention.head_count"), field("llama.attention.head_count_kv")
    return 2 * layers * positions * (hidden // heads * kv_heads) * element


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--decode", type=int, default=16)
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    ids = [(i * 7919 + 13) % 100000 for i in range(args.prompt)]
    positions = args.prompt + args.decode + 1
    py = peak_kib([sys.executable, "-c", "import numpy, llama_cpp"])
    print(f"python + numpy + llama_cpp imported, nothing loaded: {py / 1024:.0f} MiB")
    print("| model | file MiB | KV MiB (f16) | dsllm peak MiB | / (file + KV) | llama.cpp peak MiB | / (file + KV) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path in args.models:
        size, kv = os.path.getsize(path), kv_bytes(path, positions, 2)
        ours = peak_kib([args.dsllm, "generate", "--model", path, "--prompt-ids", " ".join(map(str, ids)),
                         "--max-tokens", str(args.decode + 1), "--temperature", "0", "--ignore-eos", "--json"]) * 1024
        script = (f"import llama_cpp\nllm = llama_cpp.Llama(model_path={path!r}, n_ctx={positions + 16}, "
                  f"n_batch={positions + 16}, n_ubatch=512, verbose=False)\nllm.eval({ids!r})\n"
                  f"for _ in range({args.decode}): llm.eval([1])\n")
        theirs = peak_kib([sys.executable, "-c", script]) * 1024
        base = size + kv
        print(f"| {os.path.basename(path)} | {size / 2**20:.0f} | {kv / 2**20:.1f} | {ours / 2**20:.0f} | "
              f"{ours / base:.2f} | {theirs / 2**20:.0f} | {theirs / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
