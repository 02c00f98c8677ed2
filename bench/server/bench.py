#!/usr/bin/env python3
"""Server throughput and time-to-first-token: dsllm serve vs llama.cpp's server on the same GGUF, same threads.

Each engine is started on loopback, warmed up, then driven at 1, 4 and 16 concurrent streaming clients
(/v1/completions, temperature 0, the same prompt text, max_tokens tokens; each client sends --requests
requests back to back). Reported: aggregate generated tokens/s (streamed text chunks / wall time) and the
p50/p99 time to first token. The whole sequence (every engine, every concurrency) runs --passes times (default 3, each
engine restarted per pass) and the table gives the median of the passes for each cell. Anchors: llama.cpp's own C++ `llama-server` with continuous batching and as many
slots as the highest concurrency (`--llama-server PATH`, built from the llama.cpp sources that llama-cpp-python
0.3.36 vendors, portable AVX2 flags: see bench/server/run.sh), and llama-cpp-python's OpenAI server
(`python3 -m llama_cpp.server --interrupt_requests False`, one request at a time).

Usage: python3 bench/server/bench.py --dsllm .build/release/dsllm --model bench/out/ds-2l-q8_0.gguf
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from machine import print_machine  # noqa: E402

PROMPT = "The history of the city begins with a small settlement on the river, where traders from the north met"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_up(port, path, timeout=600):
    t = time.time()
    while time.time() - t < timeout:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not start")


# Both servers reuse a slot's KV cache for a repeated prompt unless told not to ("cache_prompt": false); every
# request here repeats one prompt, so with the cache on TTFT measures one token, not a prefill. Off by default:
# TTFT then compares cold prefills (prefix reuse has its own bench: prefix.py). --cache-prompt turns it back on.
CACHE_PROMPT = False


def stream_completion(port, body, timeout=600):
    """POSTs a streamed /v1/completions request; yields each server-sent event's JSON object as it arrives."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    buf = b""
    try:
        while True:
            chunk = r.read1(4096)
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                if event.startswith(b"data: ") and event[6:] != b"[DONE]":
                    yield json.loads(event[6:])
    finally:
        c.close()


def one_request(port, max_tokens):
    """Returns (time to first token, generated chunks, seconds)."""
    body = {"model": "dsllm", "prompt": PROMPT, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "cache_prompt": CACHE_PROMPT}
    t0 = time.perf_counter()
    ttft, tokens = None, 0
    for obj in stream_completion(port, body):
        for ch in obj.get("choices", []):
            if ch.get("text"):
                tokens += 1
                if ttft is None:
                    ttft = time.perf_counter() - t0
    return ttft or (time.perf_counter() - t0), tokens, time.perf_counter() - t0


def drive(port, clients, requests, max_tokens):
    results, lock = [], threading.Lock()

    failures = []

    def worker():
        for _ in range(requests):
            try:
                res = one_request(port, max_tokens)
            except Exception as e:  # counted and reported, not hidden
                with lock:
                    failures.append(repr(e))
                continue
            with lock:
                results.append(res)

    t = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    if failures:
        print(f"  {len(failures)} failed requests, e.g. {failures[0]}", flush=True)
    if not results:
        return 0.0, float("nan"), float("nan")
    ttfts = sorted(r[0] for r in results)
    tokens = sum(r[1] for r in results)
    p99 = ttfts[min(len(ttfts) - 1, int(round(0.99 * (len(ttfts) - 1))))]
    return tokens / wall, statistics.median(ttfts), p99


def start_dsllm(binary, model, port, threads, slots):
    return subprocess.Popen([binary, "serve", "--model", model, "--port", str(port), "--parallel", str(slots),
                             "--ctx", "1024", "--threads", str(threads)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_llama(model, port, threads):
    return subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model, "--port", str(port),
                             "--n_threads", str(threads), "--n_threads_batch", str(threads), "--n_ctx", "1024",
                             "--model_alias", "dsllm", "--interrupt_requests", "False"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_llama_server(binary, model, port, threads, slots):
    # -c is the total KV cache, shared by the slots: 1024 tokens each, as dsllm's --ctx.
    return subprocess.Popen([binary, "-m", model, "--port", str(port), "-t", str(threads), "-tb", str(threads),
                             "-np", str(slots), "-c", str(1024 * slots), "-cb", "--alias", "dsllm"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "LD_LIBRARY_PATH": os.path.dirname(binary)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--requests", type=int, default=2, help="requests per client at each concurrency")
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--llama-server", help="path to llama.cpp's llama-server binary (C++ server, continuous batching)")
    ap.add_argument("--passes", type=int, default=3, help="repeat everything this many times; cells are medians")
    ap.add_argument("--cache-prompt", action="store_true", help="let llama-server reuse the repeated prompt's KV cache")
    ap.add_argument("--engines", help="comma-separated subset of llama-server,llama-cpp-python,dsllm (default: all available)")
    args = ap.parse_args()
    print("command:", " ".join([sys.executable] + sys.argv))
    print_machine()
    global CACHE_PROMPT
    CACHE_PROMPT = args.cache_prompt
    levels = [int(x) for x in args.concurrency.split(",")]
    engines = (["llama-server"] if args.llama_server else []) + ["llama-cpp-python", "dsllm"]
    if args.engines:
        engines = [e for e in engines if e in args.engines.split(",")]
    passes = {}  # (engine, clients) -> [(tok/s, p50, p99) per pass]
    for n in range(1, args.passes + 1):
        for engine in engines:
            port = free_port()
            if engine == "dsllm":
                proc = start_dsllm(args.dsllm, args.model, port, args.threads, max(levels))
            elif engine == "llama-server":
                proc = start_llama_server(args.llama_server, args.model, port, args.threads, max(levels))
            else:
                proc = start_llama(args.model, port, args.threads)
            try:
                wait_up(port, "/v1/models")
                one_request(port, 4)  # warm-up: page in the weights
                for c in levels:
                    r = drive(port, c, args.requests, args.max_tokens)
                    passes.setdefault((engine, c), []).append(r)
                    print(f"pass {n}: {engine} {c} streams: {r[0]:.2f} tok/s, TTFT p50 {r[1]:.2f} s p99 {r[2]:.2f} s", flush=True)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    table = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in passes.items()}
    print(f"\nmodel {os.path.basename(args.model)}, cache_prompt {str(args.cache_prompt).lower()}, {args.threads} threads, {args.max_tokens} tokens per request, "
          f"{args.requests} requests per client, median of {args.passes} passes")
    anchor = engines[0]
    anchor_name = anchor if anchor != "dsllm" else "anchor (none run)"
    print(f"| streams | engine | aggregate tok/s | TTFT p50 s | TTFT p99 s | dsllm / {anchor_name} tok/s |")
    print("|---:|---|---:|---:|---:|---:|")
    for c in levels:
        for engine in engines:
            tps, p50, p99 = table[(engine, c)]
            ratio = f"{tps / table[(anchor, c)][0]:.2f}x" if engine == "dsllm" and anchor != "dsllm" else ""
            print(f"| {c} | {engine} | {tps:.2f} | {p50:.2f} | {p99:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
