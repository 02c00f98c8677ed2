#!/usr/bin/env python3
"""End-to-end: `dsllm serve` on loopback driven by the official openai client (pinned in e2e/requirements.txt).

Usage: python3 e2e/server/openai_e2e.py --dsllm .build/release/dsllm
Makes a random model (`dsllm random-model`), starts the server, checks completions (plain, echo + logprobs with token
ids as lm-evaluation-harness sends them, streaming), chat (plain, streaming with usage), greedy == `dsllm generate`,
seeded sampling reproducible, errors in OpenAI's shape (and the field they name), /metrics labels bounded, clients that
hang up free their slots. Exits non-zero on the first failure.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import random_model, serving  # noqa: E402


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def metrics_text(base):
    req = urllib.request.Request(base + "/metrics", headers={"Authorization": "Bearer e2e-key"})
    return urllib.request.urlopen(req, timeout=30).read().decode()


def check_metrics_bounded(base):
    """Requests to invented paths share one label: /metrics (and memory) cannot be grown by a client."""
    for i in range(200):
        try:
            urllib.request.urlopen(f"{base}/random-{i}-{os.getpid()}", timeout=30)
        except urllib.error.HTTPError:
            pass
    text = metrics_text(base)
    labels = [line for line in text.splitlines() if line.startswith("dsllm_requests_total{")]
    check(not any("random-" in line for line in labels) and any('endpoint="other"' in line for line in labels),
          f"unknown paths count as endpoint=\"other\" ({len(labels)} request labels, {len(text)} bytes)")


def check_hang_up_frees_slots(base, client):
    """Non-streaming clients that hang up before their replies: their jobs are cancelled, so the 4 slots are free
    again long before 4 × 400 tokens could have been generated, and the hang-ups are counted as 499."""
    body = json.dumps({"model": "dsllm", "prompt": "Once upon a time", "max_tokens": 400, "temperature": 0}).encode()
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer e2e-key\r\n"
                  b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        s.close()
    counted = 'dsllm_requests_total{endpoint="/v1/completions",status="499"} 4'
    deadline = time.time() + 60  # generous: a loaded machine
    while time.time() < deadline and counted not in metrics_text(base):
        time.sleep(0.05)
    text = metrics_text(base)
    check(counted in text, "4 hung-up requests counted as 499")
    check("dsllm_active_slots 0" in text, "hung-up requests left no slot busy")
    r = client.completions.create(model="dsllm", prompt="Hi", max_tokens=2, temperature=0)
    check(r.usage.completion_tokens >= 1, "the freed slots serve the next request")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    args = ap.parse_args()
    model = random_model(args.dsllm, "--seed", "3")
    with serving(args.dsllm, model, "--parallel", "4", "--queue", "2", "--ctx", "512", "--api-key", "e2e-key") as (port, _):
        base = f"http://127.0.0.1:{port}"
        client = openai.OpenAI(base_url=base + "/v1", api_key="e2e-key")

        models = client.models.list()
        check([m.id for m in models.data] == ["dsllm"], "models.list")

        c = client.completions.create(model="dsllm", prompt="The capital of France is", max_tokens=8, temperature=0)
        check(c.choices[0].finish_reason in ("stop", "length") and c.usage.completion_tokens >= 1, "completion")
        gen = json.loads(subprocess.run([args.dsllm, "generate", "--model", model, "--prompt", "The capital of France is",
                                         "--max-tokens", "8", "--temperature", "0", "--json"],
                                        check=True, capture_output=True, text=True).stdout)
        check(c.choices[0].text == gen["text"], f"greedy via server == dsllm generate ({c.choices[0].text!r})")

        # lm-evaluation-harness local-completions loglikelihood request.
        ids = [100000, 17464, 1843, 13, 429]
        e = client.completions.create(model="dsllm", prompt=[ids], echo=True, logprobs=1, max_tokens=1, temperature=0)
        lp = e.choices[0].logprobs
        check(len(lp.token_logprobs) == len(ids) + 1 and lp.token_logprobs[0] is None, "echo logprobs cover the prompt")
        check(all(isinstance(x, float) and x <= 0 for x in lp.token_logprobs[1:]), "echo logprobs are log-probabilities")
        check(sum(lp.token_logprobs[2:-1]) < 0, "lm-eval sum over token_logprobs[ctxlen:-1]")

        a = client.completions.create(model="dsllm", prompt="Hi", max_tokens=10, temperature=1.0, seed=42)
        b = client.completions.create(model="dsllm", prompt="Hi", max_tokens=10, temperature=1.0, seed=42)
        check(a.choices[0].text == b.choices[0].text, "seeded sampling reproducible")

        pieces = [ch.choices[0].text for ch in client.completions.create(model="dsllm", prompt="The capital of France is",
                                                                        max_tokens=8, temperature=0, stream=True)]
        check("".join(pieces) == gen["text"], "streamed completion == non-streamed")

        msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}]
        r = client.chat.completions.create(model="dsllm", messages=msgs, max_tokens=6, temperature=0, logprobs=True, top_logprobs=2)
        check(r.choices[0].message.role == "assistant" and r.usage.total_tokens > 0, "chat completion")
        check(len(r.choices[0].logprobs.content[0].top_logprobs) == 2, "chat logprobs")
        stream = client.chat.completions.create(model="dsllm", messages=msgs, max_tokens=6, temperature=0, stream=True,
                                                stream_options={"include_usage": True})
        chunks = list(stream)
        check(chunks[0].choices[0].delta.role == "assistant", "first chunk carries the role")
        check([c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason], "one finish_reason")
        check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0, "usage chunk")
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        check(text == r.choices[0].message.content, "streamed chat == non-streamed chat")

        try:
            client.chat.completions.create(model="no-such-model", messages=msgs)
            raise AssertionError("unknown model accepted")
        except openai.NotFoundError as err:
            check(err.body.get("code") == "model_not_found", "unknown model → 404 model_not_found")
        try:
            openai.OpenAI(base_url=base + "/v1", api_key="wrong").models.list()
            raise AssertionError("bad key accepted")
        except openai.AuthenticationError:
            check(True, "bad API key → 401")
        try:
            client.completions.create(model="dsllm", prompt=[list(range(1000, 1600))], max_tokens=1)
            raise AssertionError("too long prompt accepted")
        except openai.BadRequestError as err:
            check(err.body.get("code") == "context_length_exceeded", "prompt longer than the context → 400")
            check(err.body.get("param") == "prompt", "the completions context error names 'prompt'")
        try:
            client.chat.completions.create(model="dsllm", messages=[{"role": "user", "content": "Hello " * 600}], max_tokens=1)
            raise AssertionError("too long chat accepted")
        except openai.BadRequestError as err:
            check(err.body.get("param") == "messages", "the chat context error names 'messages'")
        # 4 slots + a queue of 2 hold 6 choices: 8 can never fit — 400 naming n, not 503 "retry".
        try:
            client.completions.create(model="dsllm", prompt="Hi", n=8, max_tokens=1)
            raise AssertionError("8 choices accepted by a server that holds 6")
        except openai.BadRequestError as err:
            check(err.body.get("param") == "n", f"n beyond slots + queue → 400 naming n ({err.body.get('message')})")

        check_metrics_bounded(base)
        check_hang_up_frees_slots(base, client)

    # The embedded default model (models/default) serves when no --model is given, from any working directory.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.exists(os.path.join(root, "models", "default", "config.json")):
        cwd = os.getcwd()
        os.chdir(tempfile.mkdtemp())
        try:
            with serving(os.path.abspath(os.path.join(cwd, args.dsllm)), None) as (port, _):
                client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none")
                ids = [m.id for m in client.models.list().data]
                r = client.chat.completions.create(model=ids[0], messages=[{"role": "user", "content": "Hello"}],
                                                   max_tokens=16, temperature=0)
                check(r.choices[0].finish_reason in ("stop", "length") and r.usage.completion_tokens >= 1,
                      f"serve without --model uses models/default ({ids[0]}: {r.choices[0].message.content!r})")
        finally:
            os.chdir(cwd)
    else:
        raise AssertionError("models/default is missing: the default model ships in the repository")
    print("all end-to-end checks passed")


if __name__ == "__main__":
    main()
