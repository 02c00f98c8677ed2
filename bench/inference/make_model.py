#!/usr/bin/env python3
"""A DeepSeek-shaped random model for inference benchmarks (not a test fixture; written to bench/out/).

7B layer shapes (d=4096, ffn=11008, 32 heads, vocab 102400) with few layers, random bf16 weights (std 0.02,
norm gains 1), as an HF directory: config.json + model.safetensors (streamed tensor by tensor, so memory stays
at one tensor) + the DeepSeek tokenizer.json (from `dsllm tokenizer convert`). Quantized GGUFs are then made
with `dsllm quantize` (see run.sh), and both dsllm and llama.cpp read those same files.

Usage: python3 bench/inference/make_model.py --out bench/out/ds-4l --layers 4 --dsllm .build/release/dsllm
"""
import argparse
import json
import os
import struct
import subprocess

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--dsllm", required=True)
    args = ap.parse_args()
    d, ffn, heads, vocab = 4096, 11008, 32, 102400
    os.makedirs(args.out, exist_ok=True)
    shapes = [("model.embed_tokens.weight", [vocab, d])]
    for l in range(args.layers):
        p = f"model.layers.{l}."
        shapes += [(p + "input_layernorm.weight", [d]), (p + "self_attn.q_proj.weight", [d, d]),
                   (p + "self_attn.k_proj.weight", [d, d]), (p + "self_attn.v_proj.weight", [d, d]),
                   (p + "self_attn.o_proj.weight", [d, d]), (p + "post_attention_layernorm.weight", [d]),
                   (p + "mlp.gate_proj.weight", [ffn, d]), (p + "mlp.up_proj.weight", [ffn, d]),
                   (p + "mlp.down_proj.weight", [d, ffn])]
    shapes += [("model.norm.weight", [d]), ("lm_head.weight", [vocab, d])]
    header, offset = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    rng = np.random.default_rng(0)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for name, shape in shapes:
            if len(shape) == 1:
                x = np.ones(shape, dtype=np.float32)
            else:
                x = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
            f.write((x.view(np.uint32) >> 16).astype(np.uint16).tobytes())
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu", "vocab_size": vocab,
              "hidden_size": d, "intermediate_size": ffn, "num_hidden_layers": args.layers, "num_attention_heads": heads,
              "num_key_value_heads": heads, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
              "rope_scaling": None, "tie_word_embeddings": False, "bos_token_id": 100000, "eos_token_id": 100001,
              "torch_dtype": "bfloat16"}
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    subprocess.run([args.dsllm, "tokenizer", "convert", "--out", os.path.join(args.out, "tokenizer.json"), "--overwrite"], check=True)
    print(f"wrote {args.out}: {sum(int(np.prod(s)) for _, s in shapes) / 1e9:.2f} B parameters")


if __name__ == "__main__":
    main()
