#!/usr/bin/env python3
"""A small reference .safetensors file written by HF safetensors (pinned: safetensors==0.8.0, torch for bf16).

Tensors of several dtypes and shapes, including an empty tensor and a 0-rank scalar, plus __metadata__.
The Swift test reads it, checks every value, and checks that SafetensorsWriter produces the same bytes.

Usage: python3 tools/golden/make_safetensors_golden.py   (writes Tests/DSFormatsTests/Golden/reference.safetensors)
"""
import os

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "DSFormatsTests", "Golden", "reference.safetensors")

tensors = {
    "model.embed_tokens.weight": torch.arange(12, dtype=torch.float32).reshape(4, 3) / 8,
    "model.layers.0.self_attn.q_proj.weight": (torch.arange(6, dtype=torch.float32).reshape(2, 3) - 2.5).to(torch.bfloat16),
    "model.norm.weight": torch.tensor([1.0, -2.0, 0.5], dtype=torch.float16),
    "counts": torch.tensor([1, -2, 3], dtype=torch.int64),
    "mask": torch.tensor([0, 255, 7], dtype=torch.uint8),
    "empty": torch.zeros((0, 3), dtype=torch.float32),
    "scalar": torch.tensor(3.25, dtype=torch.float32),
}
save_file(tensors, OUT, metadata={"format": "pt", "note": "dsllm golden"})
print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
