#!/usr/bin/env python3
"""Converting an official-layout PyTorch .bin folder (bf16 shards + index) to safetensors: dsllm convert vs transformers
(from_pretrained + save_pretrained), same folder, same run; wall time, GB/s of checkpoint bytes, peak RSS (GNU time).

  PYTHONPATH=.venv-tools/torch python3 bench/convert/bin_convert.py --dsllm .build/release/dsllm [--layers 2]

The folder is a DeepSeek-7B-shaped model (hidden 4096, 11008, 32 heads, vocab 102400) with --layers layers, random bf16
weights, written once into bench/out/bin-7b-<L>l with torch.save shards as the official repos hold them.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def make_folder(path, layers):
    import torch
    from transformers import LlamaConfig
    cfg = LlamaConfig(vocab_size=102400, hidden_size=4096, intermediate_size=11008, num_hidden_layers=layers,
                      num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-6,
                      tie_word_embeddings=False, bos_token_id=100000, eos_token_id=100001)
    os.makedirs(path, exist_ok=True)
    cfg.save_pretrained(path)
    g = torch.Generator().manual_seed(0)
    shapes = {"model.embed_tokens.weight": (102400, 4096), "lm_head.weight": (102400, 4096), "model.norm.weight": (4096,)}
    for l in range(layers):
        p = f"model.layers.{l}."
        for n in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            shapes[p + f"self_attn.{n}.weight"] = (4096, 4096)
        shapes[p + "mlp.gate_proj.weight"] = (11008, 4096)
        shapes[p + "mlp.up_proj.weight"] = (11008, 4096)
        shapes[p + "mlp.down_proj.weight"] = (4096, 11008)
        shapes[p + "input_layernorm.weight"] = (4096,)
        shapes[p + "post_attention_layernorm.weight"] = (4096,)
    names = list(shapes)
    half = len(names) // 2
    weight_map, total = {}, 0
    for k, part in enumerate([names[:half], names[half:]]):
        file = f"pytorch_model-{k + 1:05d}-of-00002.bin"
        state = {n: (torch.randn(shapes[n], generator=g) * 0.02).to(torch.bfloat16) for n in part}
        torch.save(state, os.path.join(path, file))
        for n, t in state.items():
            weight_map[n] = file
            total += t.numel() * 2
    with open(os.path.join(path, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)


def timed(cmd, env=None):
    with tempfile.NamedTemporaryFile("r") as f:
        t = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name] + cmd, check=True, capture_output=True, env=env)
        return time.perf_counter() - t, int(f.read().strip().splitlines()[-1]) * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    folder = os.path.join(root, "bench", "out", f"bin-7b-{args.layers}l")
    if not os.path.exists(os.path.join(folder, "pytorch_model.bin.index.json")):
        make_folder(folder, args.layers)
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(".bin"))
    hf = ("import sys, torch\nfrom transformers import AutoModelForCausalLM\n"
          "m = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.bfloat16)\nm.save_pretrained(sys.argv[2])\n")
    print(f"folder: {folder} ({size / 1e9:.2f} GB of .bin shards, bf16); cpu: {os.cpu_count()} threads; median of {args.runs}")
    rows = {"dsllm convert --type bf16": [], "transformers from_pretrained + save_pretrained": []}
    for _ in range(args.runs):
        out = tempfile.mkdtemp(dir=os.path.join(root, "bench", "out"))
        try:
            rows["dsllm convert --type bf16"].append(timed([args.dsllm, "convert", "--in", folder, "--out", out + "/d", "--type", "bf16"]))
            rows["transformers from_pretrained + save_pretrained"].append(timed([sys.executable, "-c", hf, folder, out + "/t"]))
        finally:
            shutil.rmtree(out, ignore_errors=True)
    import statistics
    print("| tool | seconds | GB/s | peak RSS GB |")
    print("|---|---:|---:|---:|")
    for name, r in rows.items():
        s, m = statistics.median(x[0] for x in r), statistics.median(x[1] for x in r)
        print(f"| {name} | {s:.2f} | {size / s / 1e9:.2f} | {m / 1e9:.2f} |")


if __name__ == "__main__":
    main()
