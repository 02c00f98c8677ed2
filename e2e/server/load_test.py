#!/usr/bin/env python3
"""Load and fault test for `dsllm serve` (loopback only, standard library only, bounded).

64 concurrent streaming clients x 10 rounds: most read their stream to the end (checked well-formed: every
event is `data: <json>`, exactly one finish_reason per choice, `data: [DONE]` last), about a fifth disconnect
mid-stream, about a tenth send malformed requests (must get an OpenAI-shaped 4xx). Afterwards the server must
still answer /health, /metrics must show 0 active slots and an empty queue, and its RSS must be back near
where it started (the slots' KV caches are allocated up front, so growth would be a leak).

Usage: python3 e2e/server/load_test.py --dsllm .build/release/dsllm [--clients 64] [--rounds 10]
"""
import argparse
import http.client
import json
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import random_model, serving  # noqa: E402


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []

    def add(self, key, failure=None):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            if failure:
                self.failures.append(failure)


def client(port, rounds, seed, stats):
    rng = random.Random(seed)
    for _ in range(rounds):
        kind = rng.random()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            if kind < 0.1:
                body = rng.choice(['{"messages": ', '{"messages": "hi"}', '{"prompt": 5}', '[1, 2]',
                                   '{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}'])
                conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                err = json.loads(data).get("error", {})
                if not (400 <= r.status < 500 and "message" in err):
                    stats.add("bad", f"malformed request got {r.status}: {data[:200]!r}")
                else:
                    stats.add("malformed→4xx")
                continue
            body = json.dumps({"model": "dsllm", "stream": True, "max_tokens": rng.randint(4, 32), "temperature": 0.8,
                               "seed": rng.randint(0, 1 << 30),
                               "messages": [{"role": "user", "content": "Tell me about " + rng.choice(["cats", "rain", "math"])}]})
            conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            if r.status == 503:
                r.read()
                stats.add("503")
                continue
            if r.status != 200:
                stats.add("bad", f"stream request got {r.status}: {r.read()[:200]!r}")
                continue
            disconnect_after = rng.randint(1, 4) if kind < 0.3 else None
            events, finishes, buf = 0, 0, b""
            done = False
            while True:
                chunk = r.read1(4096) if hasattr(r, "read1") else r.read(4096)
                if not chunk:
                    break
                buf += chunk
                while b"\n\n" in buf:
                    event, buf = buf.split(b"\n\n", 1)
                    if not event.startswith(b"data: "):
                        stats.add("bad", f"event without data: {event[:100]!r}")
                        continue
                    payload = event[6:]
                    if payload == b"[DONE]":
                        done = True
                        continue
                    obj = json.loads(payload)
                    for c in obj.get("choices", []):
                        if c.get("finish_reason"):
                            finishes += 1
                    events += 1
                if disconnect_after is not None and events >= disconnect_after:
                    break
            if disconnect_after is not None and not done:
                conn.sock.shutdown(socket.SHUT_RDWR)
                stats.add("disconnected mid-stream")
            elif not done or finishes != 1:
                stats.add("bad", f"stream ended without [DONE] or with {finishes} finish_reasons")
            else:
                stats.add("complete stream")
        except Exception as e:  # a failure of the server, not of a client that chose to leave
            stats.add("bad", f"{type(e).__name__}: {e}")
        finally:
            conn.close()


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read().decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    model = random_model(args.dsllm)
    with serving(args.dsllm, model, "--parallel", "8", "--ctx", "256", "--queue", "48") as (port, server):
        # Warm up (first requests touch the weights and allocate the batch buffers), then measure RSS.
        warm = Stats()
        client(port, 3, 0, warm)
        rss_start = rss_kb(server.pid)
        stats = Stats()
        t = time.time()
        threads = [threading.Thread(target=client, args=(port, args.rounds, i + 1, stats)) for i in range(args.clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        secs = time.time() - t
        time.sleep(1.0)
        status, _ = get(port, "/health")
        _, metrics = get(port, "/metrics")
        rss_end = rss_kb(server.pid)
        print(f"{args.clients} clients x {args.rounds} rounds in {secs:.1f} s: {stats.counts}")
        print(f"active slots {metric(metrics, 'dsllm_active_slots')}, queue {metric(metrics, 'dsllm_queue_depth')}, "
              f"RSS {rss_start // 1024} MB → {rss_end // 1024} MB")
        ok = True
        if server.poll() is not None or status != 200:
            print("FAIL: the server is down"); ok = False
        if stats.failures:
            print(f"FAIL: {len(stats.failures)} bad responses, e.g. {stats.failures[:3]}"); ok = False
        if metric(metrics, "dsllm_active_slots") != 0 or metric(metrics, "dsllm_queue_depth") != 0:
            print("FAIL: slots or queue not empty after the load"); ok = False
        if rss_end > rss_start * 1.25 + 64 * 1024:
            print("FAIL: memory did not come back near its start"); ok = False
        if stats.counts.get("complete stream", 0) == 0:
            print("FAIL: no stream completed"); ok = False
        print("load test passed" if ok else "load test FAILED")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
