#!/usr/bin/env python3
"""The shipped default model against the engines users would load it in (issue 11's acceptance check).

  1. llama.cpp (llama-cpp-python 0.3.36) loads models/default/model-q8_0.gguf: its tokenizer gives dsllm's ids for
     the prompts, and its greedy continuation (32 tokens, F32 KV cache) equals `dsllm generate` on the same GGUF
     (its logits are reported, not checked: llama.cpp rounds activations to Q8_0 before the dot products).
  2. transformers (5.24, f32) loads models/default (bf16 safetensors + config.json + tokenizer.json): its logits for
     every position of the prompts equal `dsllm score --logits-out` within 1e-3 (both upcast the same bf16 weights),
     and its greedy continuation equals dsllm's.
Prints a table; exits non-zero on any disagreement.

Usage: python3 tools/golden/check_default_model.py [--dsllm .build/release/dsllm] [--model models/default]
On a machine without AVX-512, point LLAMA_CPP_LIB_PATH at a portable libggml build (tools/golden/requirements.txt explains;
`make check-default-model` uses .venv-tools/llama-cpp-lib when present).
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--dsllm", default=".build/release/dsllm")
p.add_argument("--model", default="models/default")
p.add_argument("--tokens", type=int, default=32)
a = p.parse_args()
prompts = ["To be, or not to be,", "The Python interpreter", "User: Hello\n\nAssistant:", "A fortune: you will"]
gguf = os.path.join(a.model, "model-q8_0.gguf")
failures, rows = [], []

def dsllm(*args):
    return subprocess.run([a.dsllm, *args], check=True, capture_output=True, text=True).stdout

def dsllm_ids(text):
    out = subprocess.run([a.dsllm, "tokenize", "--tokenizer", a.model], input=text, check=True, capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]

def dsllm_greedy(model, ids):
    out = json.loads(dsllm("generate", "--model", model, "--prompt-ids", " ".join(map(str, ids)), "--temperature", "0",
                           "--max-tokens", str(a.tokens), "--ignore-eos", "--json"))
    return out["ids"]

# 1. llama.cpp on the GGUF.
import llama_cpp
llm = llama_cpp.Llama(model_path=gguf, n_ctx=512, n_batch=512, n_threads=os.cpu_count(), type_k=0, type_v=0,
                      flash_attn=False, logits_all=True, verbose=False)
for text in prompts:
    ids = dsllm_ids(text)
    theirs_tok = llm.tokenize(text.encode(), add_bos=False, special=False)
    if theirs_tok != ids: failures.append(f"llama.cpp tokenizes {text!r} as {theirs_tok}, dsllm as {ids}")
    llm.reset()
    llm.eval(ids)
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        dsllm("score", "--model", gguf, "--ids", " ".join(map(str, ids)), "--logits-out", f.name)
        ldiff = float(np.abs(np.fromfile(f.name, dtype="<f4").reshape(len(ids), -1) - llm.scores[:len(ids)]).max())
    greedy = []
    for _ in range(a.tokens):
        t = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        greedy.append(t)
        llm.eval([t])
    mine = dsllm_greedy(gguf, ids)
    same = mine == greedy
    first = next((i for i, (x, y) in enumerate(zip(mine, greedy)) if x != y), None)
    if not same: failures.append(f"llama.cpp greedy differs from dsllm for {text!r} at token {first}")
    rows.append(f"| llama.cpp Q8_0 GGUF | {text!r} | tokens {'=' if theirs_tok == ids else '≠'}, logits max abs diff {ldiff:.1e} "
                f"(llama.cpp rounds activations to Q8_0) | greedy {a.tokens}: {'identical' if same else f'differs at {first}'} |")

# 2. transformers on the safetensors.
import torch
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).eval()
for text in prompts:
    ids = dsllm_ids(text)
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0].numpy()
        # A plain argmax loop: generate()'s min_new_tokens would ban EOS, dsllm --ignore-eos emits it and goes on.
        seq, g = list(ids), []
        for _ in range(a.tokens):
            t = int(model(torch.tensor([seq])).logits[0, -1].argmax())
            g.append(t)
            seq.append(t)
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        dsllm("score", "--model", a.model, "--ids", " ".join(map(str, ids)), "--logits-out", f.name)
        mine = np.fromfile(f.name, dtype="<f4").reshape(len(ids), -1)
    diff = float(np.abs(mine - ref).max())
    greedy = dsllm_greedy(a.model, ids)
    if diff > 1e-3: failures.append(f"transformers logits differ by {diff:.2e} for {text!r}")
    if greedy != g: failures.append(f"transformers greedy differs for {text!r}")
    rows.append(f"| transformers bf16 safetensors | {text!r} | logits max abs diff {diff:.1e} | greedy {a.tokens}: {'identical' if greedy == g else 'differs'} |")

print("| engine | prompt | check | greedy |\n|---|---|---|---|\n" + "\n".join(rows))
if failures:
    print("\nFAILED:\n  " + "\n  ".join(failures)); sys.exit(1)
print("\nOK: llama.cpp and transformers load the shipped model and agree with dsllm")
