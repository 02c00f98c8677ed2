#!/usr/bin/env python3
"""Golden data for dsllm's hand-written backward passes and AdamW (DSTraining), from PyTorch autograd on
transformers' LlamaForCausalLM (pinned: torch==2.15.0, transformers==5.24.0; see tools/golden/requirements.txt).

A tiny GQA model in f32 (vocab 64, hidden 32, 4 heads / 2 KV heads, FFN 48, 2 layers), weights normal(0, 0.02)
with non-trivial RMSNorm gains, a batch of B=2 sequences of T=8 tokens. Records: weights, inputs, targets, the
mean token cross-entropy, every parameter's gradient, and the parameters after one torch.optim.AdamW step
(lr 1e-3, betas (0.9, 0.95), eps 1e-8, weight decay 0.1 on 2-D matrices only) after clipping the global
gradient norm to 1.0 — the paper's recipe.

Also a 30-step training run of the same model on a fixed token stream, as `dsllm train` runs it: sequential
data order (sequence k = tokens[k·T ..< k·T + T + 1], global batch g = sequences g·G ..< (g+1)·G), 2 micro-batches
of B=2 per step, mean token cross-entropy over the global batch, clipping at 1.0, the paper's multistep schedule
(max lr 1e-2, warmup 5 of 30 steps), AdamW as above. Per-step loss (before the update), lr and grad norm.

bf16 (`--precision bf16`): the same model, weights and batch with every nn.Linear replaced by a product whose
operands are rounded to bfloat16 (round to nearest even) with f32 accumulation and output — forward x·Wᵀ, backward
dY·W and dYᵀ·x — and everything else in f32. Loss and every gradient go to train-golden-bf16.json.

Usage: python3 tools/golden/make_train_golden.py   (writes Tests/DSTrainingTests/Golden/train-golden.json and train-golden-bf16.json)
"""
import json
import os

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "DSTrainingTests", "Golden", "train-golden.json")


def multistep(s, total, warmup, max_lr):
    if s < warmup:
        return max_lr * (s + 1) / warmup
    if s < 0.8 * total:
        return max_lr
    if s < 0.9 * total:
        return 0.316 * max_lr
    return 0.1 * max_lr


def training_run(weights, cfg, steps=30, warmup=5, max_lr=1e-2, B=2, T=8, micro=2):
    model = LlamaForCausalLM(cfg).float()
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(weights[n])
    g = torch.Generator().manual_seed(7)
    G = B * micro
    # A random 37-token phrase repeated: learnable, so the loss falls and the replica is checked on a moving model.
    phrase = torch.randint(0, cfg.vocab_size, (37,), generator=g)
    stream = phrase.repeat((steps * G * T + 1) // 37 + 1)[: steps * G * T + 1]
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=max_lr, betas=(0.9, 0.95), eps=1e-8)
    losses, lrs, norms = [], [], []
    for step in range(steps):
        lr = multistep(step, steps, warmup, max_lr)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad()
        total = 0.0
        for m in range(micro):
            seqs = [step * G + m * B + b for b in range(B)]
            x = torch.stack([stream[k * T: k * T + T] for k in seqs])
            y = torch.stack([stream[k * T + 1: k * T + T + 1] for k in seqs])
            logits = model(input_ids=x).logits
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg.vocab_size), y.reshape(-1)) / micro
            loss.backward()
            total += loss.item()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(total)
        lrs.append(lr)
        norms.append(norm.item())
    return {"steps": steps, "warmup": warmup, "max_lr": max_lr, "batch": B, "seq": T, "micro_batches": micro,
            "tokens": stream.tolist(), "losses": losses, "lrs": lrs, "grad_norms": norms}


def bf(t):
    return t.to(torch.bfloat16).to(torch.float32)


class BF16Linear(torch.autograd.Function):
    """y = bf(x)·bf(W)ᵀ; dx = bf(dy)·bf(W); dW = bf(dy)ᵀ·bf(x): mixed precision as on AMX, f32 accumulation."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return bf(x) @ bf(w).T

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        dyb = bf(dy)
        return dyb @ bf(w), dyb.reshape(-1, dy.shape[-1]).T @ bf(x).reshape(-1, x.shape[-1])


def bf16_gradients(weights, cfg, inputs, targets):
    original = torch.nn.Linear.forward
    torch.nn.Linear.forward = lambda self, x: BF16Linear.apply(x, self.weight)
    try:
        model = LlamaForCausalLM(cfg).float()
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(weights[n])
        logits = model(input_ids=inputs).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg.vocab_size), targets.reshape(-1))
        loss.backward()
        return loss.item(), {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    finally:
        torch.nn.Linear.forward = original


def main():
    torch.manual_seed(20261129)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                      tie_word_embeddings=False, attention_bias=False, mlp_bias=False, torch_dtype="float32")
    cfg._attn_implementation = "eager"
    model = LlamaForCausalLM(cfg).float()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0, 0.02)
            else:
                p.copy_(1 + 0.1 * torch.randn_like(p))
    B, T = 2, 8
    tokens = torch.randint(0, 64, (B, T + 1))
    inputs, targets = tokens[:, :T], tokens[:, 1:]
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    logits = model(input_ids=inputs).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 64), targets.reshape(-1))
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    opt.step()
    after = {n: p.detach().clone() for n, p in model.named_parameters()}

    run = training_run(weights, cfg)

    def flat(t):
        return [float("%.9g" % x) for x in t.reshape(-1).tolist()]

    versions = {"generator": "tools/golden/make_train_golden.py", "torch": torch.__version__,
                "transformers": transformers.__version__}
    out = {
        "versions": versions,
        "config": {"vocab": 64, "hidden": 32, "ffn": 48, "layers": 2, "heads": 4, "kv_heads": 2, "eps": 1e-6, "theta": 10000.0},
        "batch": B, "seq": T,
        "inputs": inputs.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
        "loss": loss.item(), "grad_norm": norm.item(),
        "weights": {n: flat(w) for n, w in weights.items()},
        "grads": {n: flat(g) for n, g in grads.items()},
        "after_adamw": {n: flat(a) for n, a in after.items()},
        "adamw": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1, "clip": 1.0},
        "run": run,
    }
    bf_loss, bf_grads = bf16_gradients(weights, cfg, inputs, targets)
    with open(OUT.replace(".json", "-bf16.json"), "w") as f:
        json.dump({"versions": versions, "loss": bf_loss, "grads": {n: flat(g) for n, g in bf_grads.items()}}, f)
    print(f"bf16: loss {bf_loss:.6f} (f32 {float(loss):.6f})")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f)
    print(f"wrote {OUT}: loss {float(loss):.6f}, grad norm {float(norm):.6f}")


if __name__ == "__main__":
    main()
