#!/usr/bin/env python3
"""Prefix reuse across chat turns: dsllm serve's prefix cache vs llama.cpp's llama-server `cache_prompt`, same GGUF,
same threads, same turns, same run (issue 21's goals).

1. Next turn: a ~1500-token conversation is sent cold (streamed /v1/completions, temperature 0, 24 tokens), then the
   next turn — the same text + the reply + a new ~24-token message. Reported: time to first token of each, and
   cold / next (goal ≥ 8×), and dsllm's next-turn TTFT over llama-server's (goal ≤ 1.0×).
2. Session: 20 turns of a chat (a ~100-token system text, each turn a ~40-token message and a reply of up to 32
   tokens). Reported: prompt tokens each engine actually computed over the session (dsllm: /metrics prompt tokens −
   reused; llama-server: Σ timings.prompt_n) over the conversation's final length (goal ≤ 1.2×; re-prefilling every
   turn would be ~10×), and the session's total TTFT.

Both engines serve one slot and are restarted for every pass; the table gives the median of --passes passes.
Prompts are raw text (no chat template), so both engines see the same tokens.

Usage: python3 bench/server/prefix.py --dsllm .build/release/dsllm --model bench/out/ds-2l-q4_0.gguf \
           [--llama-server .venv-tools/llama-server/llama-server] [--passes 3]
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from machine import print_machine  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import free_port, stream_completion, wait_up  # noqa: E402

WORDS = ("river city market bridge winter harbour merchant letter garden window morning stone village road "
         "mountain station lantern orchard valley library theatre coast island forest meadow tower").split()


def text(n_words, salt):
    """Deterministic prose-like text of n_words words (roughly 1.3 tokens per word)."""
    out = []
    for i in range(n_words):
        w = WORDS[(i * 7 + salt * 13 + (i // 5) * 3) % len(WORDS)]
        out.append(w + ("." if i % 11 == 10 else ""))
    return " ".join(out)


def complete(port, prompt, max_tokens):
    """Streams one completion; returns (ttft seconds, reply text, prompt tokens computed or None)."""
    body = {"model": "dsllm", "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "cache_prompt": True}
    t0 = time.perf_counter()
    ttft, reply, computed = None, "", None
    for obj in stream_completion(port, body, timeout=3600):
        if "timings" in obj:  # llama-server: prompt tokens it evaluated for this request
            computed = obj["timings"].get("prompt_n", computed)
        for ch in obj.get("choices", []):
            if ch.get("text"):
                reply += ch["text"]
                if ttft is None:
                    ttft = time.perf_counter() - t0
    return (ttft if ttft is not None else time.perf_counter() - t0), reply, computed


def tokens_of(port, s, engine):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    if engine == "dsllm":
        c.request("POST", "/tokenize", json.dumps({"content": s}), {"Content-Type": "application/json"})
    else:
        c.request("POST", "/tokenize", json.dumps({"content": s, "add_special": True}), {"Content-Type": "application/json"})
    n = len(json.loads(c.getresponse().read())["tokens"])
    c.close()
    return n


def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/metrics")
    for line in c.getresponse().read().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def start(engine, args, port):
    if engine == "dsllm":
        cmd = [args.dsllm, "serve", "--model", args.model, "--port", str(port), "--parallel", "1", "--ctx", str(args.ctx),
               "--threads", str(args.threads)]
        health = "/health"
    else:
        cmd = [args.llama_server, "-m", args.model, "--port", str(port), "-t", str(args.threads), "-tb", str(args.threads),
               "-np", "1", "-c", str(args.ctx), "--alias", "dsllm"]
        health = "/health"
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(port, health)
    complete(port, "Warm-up: " + text(8, 99), 2)  # touches the weights; shares no prefix with what follows
    return p


def next_turn(engine, args):
    port = free_port()
    p = start(engine, args, port)
    try:
        conversation = "System: " + text(60, 1) + "\nUser: " + text(args.long_words, 2) + "\nAssistant:"
        cold, reply, _ = complete(port, conversation, 24)
        turn2 = conversation + reply + "\nUser: " + text(18, 3) + "\nAssistant:"
        nxt, _, _ = complete(port, turn2, 24)
        return {"cold": cold, "next": nxt, "tokens": tokens_of(port, conversation, engine),
                "next_tokens": tokens_of(port, turn2, engine)}
    finally:
        p.terminate()
        p.wait()


def session(engine, args):
    port = free_port()
    p = start(engine, args, port)
    try:
        before = metric(port, "dsllm_prompt_tokens_total") - metric(port, "dsllm_prompt_tokens_reused_total")
        conversation, computed, ttft = "System: " + text(75, 4), 0, 0.0
        for turn in range(args.turns):
            conversation += "\nUser: " + text(30, 10 + turn) + "\nAssistant:"
            t, reply, n = complete(port, conversation, 32)
            ttft += t
            computed += n or 0
            conversation += reply
        if engine == "dsllm":
            computed = metric(port, "dsllm_prompt_tokens_total") - metric(port, "dsllm_prompt_tokens_reused_total") - before
        return {"computed": computed, "length": tokens_of(port, conversation, engine), "ttft": ttft}
    finally:
        p.terminate()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--llama-server", default=os.path.join(os.path.dirname(__file__), "../../.venv-tools/llama-server/llama-server"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--long-words", type=int, default=1300, help="words in the long message (~1500 tokens in all)")
    args = ap.parse_args()
    print_machine()
    print("command:", " ".join([os.path.basename(sys.executable)] + sys.argv))
    engines = ["dsllm"] + (["llama-server"] if os.access(args.llama_server, os.X_OK) else [])
    print(f"model {os.path.basename(args.model)}, {args.threads} threads, one slot, median of {args.passes} passes, engines alternating")
    nt = {e: [] for e in engines}
    ss = {e: [] for e in engines}
    for _ in range(args.passes):
        for e in engines:
            nt[e].append(next_turn(e, args))
            ss[e].append(session(e, args))
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    print("\n| engine | conversation tokens | cold TTFT s | next-turn TTFT s | cold / next | next-turn TTFT vs llama-server |")
    print("|---|---:|---:|---:|---:|---:|")
    for e in engines:
        vs = ""
        if "llama-server" in engines:
            vs = f"{statistics.median(a['next'] / b['next'] for a, b in zip(nt[e], nt['llama-server'])):.2f}x"
        print(f"| {e} | {int(med(nt[e], 'tokens'))} → {int(med(nt[e], 'next_tokens'))} | {med(nt[e], 'cold'):.2f} | "
              f"{med(nt[e], 'next'):.3f} | {statistics.median(r['cold'] / r['next'] for r in nt[e]):.1f}x | {vs} |")
    print(f"\n| engine | {args.turns}-turn session: prompt tokens computed | final conversation tokens | computed / length | total TTFT s |")
    print("|---|---:|---:|---:|---:|")
    for e in engines:
        print(f"| {e} | {int(med(ss[e], 'computed'))} | {int(med(ss[e], 'length'))} | "
              f"{statistics.median(r['computed'] / r['length'] for r in ss[e]):.2f}x | {med(ss[e], 'ttft'):.2f} |")


if __name__ == "__main__":
    main()
