#!/usr/bin/env python3
"""A tiny model in the exact layout of the official deepseek-ai/deepseek-llm-* repositories, for the PyTorch .bin loader.

  PYTHONPATH=.venv-tools/torch python3 tools/make_hub_fixture.py Tests/DSModelTests/Golden/hub-bin

Pinned: torch==2.15.0 (CPU), transformers==5.24.0 (versions recorded in golden.json). Writes:
    bf16-sharded/   config.json ("torch_dtype": "bfloat16", LlamaForCausalLM), generation_config.json (bos/eos ids
                    and the chat repos' sampling values, temperature 0.7 / top_p 0.95), pytorch_model-0000K-of-0000N.bin
                    shards + pytorch_model.bin.index.json written with torch.save as transformers 4.x's
                    save_pretrained(safe_serialization=False) wrote them (transformers 5 only writes safetensors) —
                    the zip format torch.save writes since 1.6, as the real 7B/67B repos hold
    f32-single/     the same weights in float32, one pytorch_model.bin, no index
    golden.json     versions; prompts; transformers' mean NLL (labels = ids) and 8-token greedy ids of the saved
                    (bf16-rounded) weights computed in float32 — both folders hold these values
Model: LlamaForCausalLM, vocab 256, hidden 64, 2 layers, 4 heads / 2 KV heads, intermediate 128, rope θ 10000,
rms eps 1e-6, untied head, torch.manual_seed(SEED), weights ~ N(0, 0.05) (gains 1 + N(0, 0.1)); ~110k parameters.
"""
import json
import os
import sys

import torch
import transformers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

SEED = 20261204
PROMPTS = [[5, 17, 200, 31, 64, 9, 128], [3, 3, 250, 77, 12, 180, 44, 2, 99, 150, 61]]


def make_model():
    torch.manual_seed(SEED)
    cfg = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=10000.0,
                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, hidden_act="silu")
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.05 * torch.randn_like(p))
    return model


def save_bin(model, folder, shards, gen):
    """config.json + generation_config.json + torch.save shards (+ index when sharded), in HF's names."""
    os.makedirs(folder, exist_ok=True)
    model.config.save_pretrained(folder)
    gen.save_pretrained(folder)
    state = model.state_dict()
    names = list(state)
    if shards == 1:
        torch.save(state, os.path.join(folder, "pytorch_model.bin"))
        return
    per = (len(names) + shards - 1) // shards
    weight_map, total = {}, 0
    for k in range(shards):
        file = f"pytorch_model-{k + 1:05d}-of-{shards:05d}.bin"
        part = {n: state[n] for n in names[k * per:(k + 1) * per]}
        torch.save(part, os.path.join(folder, file))
        for n, t in part.items():
            weight_map[n] = file
            total += t.numel() * t.element_size()
    with open(os.path.join(folder, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def reference(model):
    """Mean NLL and greedy ids of the model with the saved (bf16-rounded) weights, computed in float32."""
    m = model.to(torch.float32)
    m.eval()
    out = []
    with torch.no_grad():
        for ids in PROMPTS:
            x = torch.tensor([ids])
            nll = m(x, labels=x).loss.item()
            seq, greedy, margin = list(ids), [], float("inf")
            for _ in range(8):
                logits = m(torch.tensor([seq])).logits[0, -1]
                top = torch.topk(logits, 2).values
                margin = min(margin, float(top[0] - top[1]))
                nxt = int(logits.argmax())
                greedy.append(nxt)
                seq.append(nxt)
            out.append({"mean_nll": nll, "greedy": greedy, "greedy_min_margin": margin})
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    model = make_model()
    gen = GenerationConfig(bos_token_id=0, eos_token_id=[1, 2], do_sample=True, temperature=0.7, top_p=0.95)
    bf16_dir, f32_dir = os.path.join(out, "bf16-sharded"), os.path.join(out, "f32-single")
    model.to(torch.bfloat16)
    model.config.torch_dtype = "bfloat16"
    save_bin(model, bf16_dir, 2, gen)
    # f32 copy of the bf16-rounded weights, so both folders hold the same values
    model.to(torch.float32)
    model.config.torch_dtype = "float32"
    save_bin(model, f32_dir, 1, gen)
    golden = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "python": sys.version.split()[0]},
        "seed": SEED, "prompts": PROMPTS,
        "generation_config": {"bos_token_id": 0, "eos_token_id": [1, 2], "temperature": 0.7, "top_p": 0.95},
        "reference": reference(model),
        "files": {d: sorted(os.listdir(os.path.join(out, d))) for d in ["bf16-sharded", "f32-single"]},
    }
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    print(json.dumps(golden["files"], indent=1))


if __name__ == "__main__":
    main()
