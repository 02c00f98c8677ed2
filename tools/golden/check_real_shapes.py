#!/usr/bin/env python3
"""DeepSeek LLM 7B and 67B at their real tensor shapes, few layers: the loaders, the converter and the memory
arithmetic checked against transformers and llama.cpp (issue 20, item 5). Not a test fixture: the folders are GBs.

  PYTHONPATH=.venv-tools/torch python3 tools/golden/check_real_shapes.py --dsllm .build/release/dsllm [--layers 1] [--keep]

Pinned as tools/golden/make_hub_fixture.py (torch 2.15, transformers 5.24) + llama-cpp-python 0.3.36 (.venv-tools/llama-cpp,
tools/golden/build_llama_cpp.sh). For each model (the real config.json values of deepseek-ai/deepseek-llm-7b-base and
-67b-base, num_hidden_layers lowered to --layers; 67B: 64 query heads sharing 8 KV heads) it writes, under
bench/out/shapes-<name>-<L>l/:
  hf/      config.json, generation_config.json, bf16 torch.save shards + pytorch_model.bin.index.json (the hub layout),
           tokenizer.json (`dsllm tokenizer convert`); random weights, std 0.02
  model.gguf  `dsllm convert --type bf16` of hf/
and checks, printing one line each and exiting 1 on any failure:
  1. every tensor shape dsllm reads equals the config's (dsllm `inspect`-free: the shapes come from the .bin index and
     transformers' own state dict; dsllm must load them);
  2. mean NLL of 24 ids: dsllm on hf/ (.bin) and on model.gguf vs transformers (float32 forward) and vs llama.cpp on
     model.gguf — relative 2e-3 (bf16 weights; llama.cpp's own numerics differ from a float32 forward by ~1e-4);
  3. parameter count: the tensors in hf/ scaled to the real layer count equals `dsllm plan`'s "B parameters" and the
     README's figure (6.91 B / 67.4 B); the KV cache at 4096 positions (f16) equals the README's (2.0 / 1.6 GB);
  4. dsllm's peak RSS generating from model.gguf ≤ file size × 1.1 + KV cache + 300 MB (the loader's allocation).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IDS = [100000, 17464, 1843, 11, 245, 766, 8, 19, 207, 1213, 2652, 12, 9120, 20, 3387, 285, 254, 4723, 30, 100001,
       5, 77, 1000, 42]
MODELS = {
    # config.json of deepseek-ai/deepseek-llm-{7b,67b}-base (../shared/docs/DEEPSEEK-LLM.md §1); bos/eos the real ids.
    "7b": dict(vocab_size=102400, hidden_size=4096, intermediate_size=11008, num_hidden_layers=30,
               num_attention_heads=32, num_key_value_heads=32, readme_params_b=6.91, readme_kv_gb=2.0),
    "67b": dict(vocab_size=102400, hidden_size=8192, intermediate_size=22016, num_hidden_layers=95,
                num_attention_heads=64, num_key_value_heads=8, readme_params_b=67.4, readme_kv_gb=1.6),
}
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def make_folder(path, spec, layers):
    import torch
    from transformers import GenerationConfig, LlamaConfig
    cfg = LlamaConfig(vocab_size=spec["vocab_size"], hidden_size=spec["hidden_size"],
                      intermediate_size=spec["intermediate_size"], num_hidden_layers=layers,
                      num_attention_heads=spec["num_attention_heads"], num_key_value_heads=spec["num_key_value_heads"],
                      max_position_embeddings=4096, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False,
                      bos_token_id=100000, eos_token_id=100001, hidden_act="silu")
    cfg.torch_dtype = "bfloat16"
    os.makedirs(path, exist_ok=True)
    cfg.save_pretrained(path)
    GenerationConfig(bos_token_id=100000, eos_token_id=100001).save_pretrained(path)
    d, f, v = spec["hidden_size"], spec["intermediate_size"], spec["vocab_size"]
    kv = d // spec["num_attention_heads"] * spec["num_key_value_heads"]
    shapes = {"model.embed_tokens.weight": (v, d)}
    for layer in range(layers):
        p = f"model.layers.{layer}."
        shapes.update({p + "self_attn.q_proj.weight": (d, d), p + "self_attn.k_proj.weight": (kv, d),
                       p + "self_attn.v_proj.weight": (kv, d), p + "self_attn.o_proj.weight": (d, d),
                       p + "mlp.gate_proj.weight": (f, d), p + "mlp.up_proj.weight": (f, d),
                       p + "mlp.down_proj.weight": (d, f), p + "input_layernorm.weight": (d,),
                       p + "post_attention_layernorm.weight": (d,)})
    shapes.update({"model.norm.weight": (d,), "lm_head.weight": (v, d)})
    g = torch.Generator().manual_seed(0)
    names = list(shapes)
    parts = [names[:len(names) // 2], names[len(names) // 2:]]
    weight_map, total = {}, 0
    for k, part in enumerate(parts):
        file = f"pytorch_model-{k + 1:05d}-of-{len(parts):05d}.bin"
        state = {}
        for n in part:
            if len(shapes[n]) == 1:
                state[n] = (1 + 0.1 * torch.randn(shapes[n], generator=g)).to(torch.bfloat16)
            else:
                state[n] = (torch.randn(shapes[n], generator=g) * 0.02).to(torch.bfloat16)
        torch.save(state, os.path.join(path, file))
        for n, t in state.items():
            weight_map[n] = file
            total += t.numel() * 2
        del state
    with open(os.path.join(path, "pytorch_model.bin.index.json"), "w") as fh:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, fh, indent=2)
    return shapes


def transformers_nll(path):
    import torch
    from transformers import LlamaForCausalLM
    m = LlamaForCausalLM.from_pretrained(path, dtype=torch.float32)
    m.eval()
    with torch.no_grad():
        x = torch.tensor([IDS])
        return m(x, labels=x).loss.item()


LLAMA_NLL = """
import sys, numpy as np, llama_cpp
ids = [int(x) for x in sys.argv[2].split()]
llm = llama_cpp.Llama(model_path=sys.argv[1], logits_all=True, n_ctx=64, n_batch=64, n_threads=2, verbose=False)
llm.eval(ids)
logits = np.array(llm.scores[:len(ids)], dtype=np.float64)
lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
print(float(np.mean([lse[i] - logits[i, ids[i + 1]] for i in range(len(ids) - 1)])))
"""


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return r.stdout


def dsllm_nll(dsllm, model):
    out = json.loads(run([dsllm, "score", "--model", model, "--ids", " ".join(map(str, IDS)), "--json"]))
    return out["mean_nll"]


def peak_rss(cmd):
    with tempfile.NamedTemporaryFile("r") as f:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name] + cmd, check=True, capture_output=True)
        return int(f.read().strip().splitlines()[-1]) * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--models", default="7b,67b")
    ap.add_argument("--keep", action="store_true", help="keep the folders (bench/out/shapes-*)")
    args = ap.parse_args()
    dsllm = os.path.abspath(args.dsllm)
    for name in args.models.split(","):
        spec = MODELS[name]
        base = os.path.join(ROOT, "bench", "out", f"shapes-{name}-{args.layers}l")
        hf, gguf = os.path.join(base, "hf"), os.path.join(base, "model.gguf")
        print(f"== deepseek-llm-{name}, {args.layers} of {spec['num_hidden_layers']} layers: {base}", flush=True)
        if not os.path.exists(os.path.join(hf, "pytorch_model.bin.index.json")):
            make_folder(hf, spec, args.layers)
        if not os.path.exists(os.path.join(hf, "tokenizer.json")):
            run([dsllm, "tokenizer", "convert", "--out", os.path.join(hf, "tokenizer.json"), "--overwrite"])
        if not os.path.exists(gguf):
            run([dsllm, "convert", "--in", hf, "--out", gguf, "--type", "bf16"])
        # 1 + 3: shapes and the parameter count at the real depth
        with open(os.path.join(hf, "pytorch_model.bin.index.json")) as fh:
            names = list(json.load(fh)["weight_map"])
        import torch
        numel = {}
        for shard in sorted({f for f in os.listdir(hf) if f.endswith(".bin")}):
            for n, t in torch.load(os.path.join(hf, shard), mmap=True, weights_only=True).items():
                numel[n] = t.numel()
        check(sorted(numel) == sorted(names), f"{len(names)} tensors in the index and the shards")
        per_layer = sum(v for n, v in numel.items() if n.startswith("model.layers.0."))
        outside = sum(v for n, v in numel.items() if not n.startswith("model.layers."))
        real = per_layer * spec["num_hidden_layers"] + outside
        plan = run([dsllm, "plan", "--preset", f"deepseek-llm-{name}", "--devices", "8", "--top", "1"])
        planned = float(re.search(r"([0-9.]+) B parameters", plan).group(1))
        check(abs(planned - real / 1e9) < 0.006, f"parameters at {spec['num_hidden_layers']} layers: tensors {real / 1e9:.3f} B, "
              f"dsllm plan {planned:.2f} B, README {spec['readme_params_b']} B")
        check(abs(real / 1e9 - spec["readme_params_b"]) < 0.05, "README parameter count")
        kv_dim = spec["hidden_size"] // spec["num_attention_heads"] * spec["num_key_value_heads"]
        kv = 2 * spec["num_hidden_layers"] * 4096 * kv_dim * 2
        check(abs(kv / 1e9 - spec["readme_kv_gb"]) < 0.1, f"f16 KV cache at 4096 positions: {kv / 1e9:.2f} GB (README {spec['readme_kv_gb']})")
        # 2: numbers
        ref = transformers_nll(hf)
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".venv-tools", "llama-cpp"))
        llama = float(run([sys.executable, "-c", LLAMA_NLL, gguf, " ".join(map(str, IDS))], env=env).strip())
        ours_bin, ours_gguf = dsllm_nll(dsllm, hf), dsllm_nll(dsllm, gguf)
        for label, value in [("llama.cpp on model.gguf", llama), ("dsllm on hf/ (.bin)", ours_bin),
                             ("dsllm on model.gguf", ours_gguf)]:
            check(abs(value - ref) / ref < 2e-3, f"mean NLL {label} {value:.5f} vs transformers {ref:.5f}")
        # 4: what the loader allocates
        size = os.path.getsize(gguf)
        rss = peak_rss([dsllm, "generate", "--model", gguf, "--prompt-ids", " ".join(map(str, IDS[:8])),
                        "--max-tokens", "8", "--temperature", "0"])
        kv_run = 2 * args.layers * 4096 * kv_dim * 2
        check(rss <= size * 1.1 + kv_run + 300e6, f"peak RSS generating {rss / 1e9:.2f} GB for a {size / 1e9:.2f} GB GGUF")
        if not args.keep:
            import shutil
            shutil.rmtree(base, ignore_errors=True)
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
