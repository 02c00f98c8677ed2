#!/usr/bin/env python3
"""Tiny random LlamaForCausalLM checkpoints and their golden outputs, for the DSModel Swift tests.

Pinned: torch==2.15.0 (CPU only), transformers==5.24.0, safetensors==0.8.0, numpy. No hub access is needed
(HF_HUB_OFFLINE=1 is set): the models are built from LlamaConfig and seeded random weights.

For each model below the script writes Tests/DSModelTests/Golden/<name>/:
  config.json         HF config (see "config forms" below)
  model.safetensors   weights, written by model.save_pretrained(dir, safe_serialization=True)
  golden.json         reference outputs computed by transformers (eager attention, float32)
generation_config.json, which save_pretrained also writes, is deleted: the Swift engine does not read it.

Models
  mha-f32             MHA (4 heads, 4 KV heads), 2 layers, f32 weights, untied lm_head
  gqa-bf16            GQA (6 heads, 2 KV heads), 2 layers, weights stored as bf16
  gqa-odd-ropeparams  GQA (5 heads, 1 KV head), explicit head_dim=16 != hidden/heads=12, 3 layers, rope_theta 5e5
  tied-f32            like mha-f32 but 1 layer and tie_word_embeddings=True (no lm_head.weight in the file)

Weights: every Linear/Embedding weight ~ N(0, 0.08), every RMSNorm weight = 1 + N(0, 0.1), drawn from
torch.manual_seed(seed) per model, so logits are far from uniform. For gqa-bf16 the model is rounded to bf16,
saved, and the golden outputs come from the saved file loaded back as float32 (dtype=torch.float32), i.e.
f32 arithmetic on the bf16-rounded weights, which is what the Swift engine does.

Config forms (both are what the Swift loader must accept):
  "legacy" (mha-f32, gqa-bf16): the form of the real deepseek-llm config.json files: top-level "rope_theta",
      "rope_scaling": null, "torch_dtype", and no "head_dim". transformers 5.24 itself writes "rope_parameters"
      and "dtype", so the script rewrites config.json and checks that transformers reloads it identically.
  "native" (gqa-odd-ropeparams, tied-f32): config.json exactly as transformers 5.24 writes it: rope_theta only
      inside "rope_parameters": {"rope_theta": ..., "rope_type": "default"}, "dtype", explicit "head_dim".

golden.json schema
  model                 the directory name
  config_form           "legacy" | "native" (above)
  config_summary        vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
                        num_key_value_heads, head_dim, rope_theta, rms_norm_eps, max_position_embeddings,
                        tie_word_embeddings, bos_token_id, eos_token_id, weight_dtype ("float32" | "bfloat16")
  safetensors_sha256    hex sha256 of model.safetensors;  safetensors_bytes: its size
  transformers_version, torch_version
  logits_format         how the logits are written (below)
  prompts               list (2 per model: 7 and 20 random ids in [0, vocab), seeded) of
      ids               prompt token ids
      logits            [position][vocab] float32 logits for ALL prompt positions
      mean_nll          model(ids, labels=ids).loss: mean next-token NLL over positions 0..n-2 (float32 value)
      greedy            the 8 new token ids of model.generate(ids, max_new_tokens=8, min_new_tokens=8,
                        do_sample=False), no EOS stop, no repetition penalty / temperature / top-k etc.
      greedy_min_margin smallest (top1 - top2) logit gap over the 8 greedy steps (how robust the argmax is)

Each logit is written as the SHORTEST decimal that round-trips to the same float32 (numpy's float32 str,
e.g. 0.1 rather than 0.10000000149011612), which keeps the files small; reading it as a Double and
converting to Float gives back the exact float32 bits (the script asserts this for every value).

Self-checks (assertions): incremental decoding with a KV cache (DynamicCache, one token at a time) reproduces the
full-sequence logits at every position to < 1e-5; the greedy ids equal a manual argmax loop; the reloaded
config/model equals the in-memory one; the safetensors file holds exactly the expected tensors and dtype.

Usage: HF_HUB_OFFLINE=1 python3 tools/golden/make_model_golden.py   (rewrites Tests/DSModelTests/Golden/*)
"""
import hashlib
import json
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from transformers import DynamicCache, GenerationConfig, LlamaConfig, LlamaForCausalLM  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "DSModelTests", "Golden")

BASE = dict(rms_norm_eps=1e-6, max_position_embeddings=128, bos_token_id=0, eos_token_id=1, pad_token_id=None,
            hidden_act="silu", attention_bias=False, mlp_bias=False)

MODELS = [
    dict(name="mha-f32", seed=1001, dtype=torch.float32, form="legacy",
         config=dict(vocab_size=320, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=4, intermediate_size=176, rope_theta=10000.0, tie_word_embeddings=False)),
    dict(name="gqa-bf16", seed=1002, dtype=torch.bfloat16, form="legacy",
         config=dict(vocab_size=320, hidden_size=96, num_hidden_layers=2, num_attention_heads=6,
                     num_key_value_heads=2, intermediate_size=160, rope_theta=10000.0, tie_word_embeddings=False)),
    dict(name="gqa-odd-ropeparams", seed=1003, dtype=torch.float32, form="native",
         config=dict(vocab_size=300, hidden_size=60, num_hidden_layers=3, num_attention_heads=5,
                     num_key_value_heads=1, head_dim=16, intermediate_size=136, rope_theta=500000.0,
                     tie_word_embeddings=False)),
    dict(name="tied-f32", seed=1004, dtype=torch.float32, form="native",
         config=dict(vocab_size=320, hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
                     num_key_value_heads=4, intermediate_size=176, rope_theta=10000.0, tie_word_embeddings=True)),
]
PROMPT_LENGTHS = (7, 20)
NEW_TOKENS = 8
WEIGHT_STD = 0.08
NORM_STD = 0.1


def make_config(spec):
    kw = dict(BASE, **spec["config"])
    theta = kw.pop("rope_theta")
    # transformers 5 keeps RoPE settings in rope_parameters (a top-level rope_theta kwarg is folded into it too).
    kw["rope_parameters"] = {"rope_type": "default", "rope_theta": theta}
    return LlamaConfig(**kw, attn_implementation="eager")


def init_weights(model):
    for name, p in model.named_parameters():
        if name.endswith("layernorm.weight") or name == "model.norm.weight":
            p.data = 1 + NORM_STD * torch.randn_like(p)
        else:
            p.data = WEIGHT_STD * torch.randn_like(p)
    if model.config.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "lm_head is not tied"


def expected_tensors(cfg):
    names = {"model.embed_tokens.weight", "model.norm.weight"}
    if not cfg.tie_word_embeddings:
        names.add("lm_head.weight")
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        names |= {p + "input_layernorm.weight", p + "post_attention_layernorm.weight"}
        names |= {p + f"self_attn.{x}_proj.weight" for x in "qkvo"}
        names |= {p + f"mlp.{x}_proj.weight" for x in ("gate", "up", "down")}
    return names


def to_legacy_config(path, theta, weight_dtype):
    """Rewrite a transformers-5 config.json into the shape of the real deepseek-llm config.json files."""
    with open(path) as f:
        d = json.load(f)
    rp = d.pop("rope_parameters")
    assert rp == {"rope_theta": theta, "rope_type": "default"}, rp
    assert d.pop("dtype") == weight_dtype
    if d["head_dim"] == d["hidden_size"] // d["num_attention_heads"]:
        del d["head_dim"]
    d["rope_scaling"] = None
    d["rope_theta"] = theta
    d["torch_dtype"] = weight_dtype
    with open(path, "w") as f:
        json.dump(dict(sorted(d.items())), f, indent=2)
        f.write("\n")


def f32_text(v):
    s = str(np.float32(v))
    assert np.isfinite(v) and np.float32(float(s)) == np.float32(v), (v, s)
    return s


@torch.no_grad()
def incremental_logits(model, ids):
    cache = DynamicCache(config=model.config)
    rows = []
    for t in range(ids.shape[1]):
        # transformers 5.24 renamed forward's `past_key_values` to `cache` (the old name warns); the cache
        # object is updated in place.
        out = model(ids[:, t:t + 1], cache=cache, use_cache=True)
        rows.append(out.logits[0, -1])
    assert cache.get_seq_length() == ids.shape[1]
    return torch.stack(rows)


@torch.no_grad()
def golden_prompt(model, ids_list):
    ids = torch.tensor([ids_list], dtype=torch.long)
    out = model(ids, labels=ids)
    logits = out.logits[0].float()
    assert logits.dtype == torch.float32 and logits.shape == (len(ids_list), model.config.vocab_size)

    # Cross-checks: the loss from the logits, and incremental decoding with a KV cache.
    ref_nll = torch.nn.functional.cross_entropy(logits[:-1].double(), ids[0, 1:]).item()
    assert abs(ref_nll - out.loss.item()) < 1e-5, (ref_nll, out.loss.item())
    inc = incremental_logits(model, ids)
    diff = (inc - logits).abs().max().item()
    assert diff < 1e-5, f"incremental decoding differs from the full forward pass by {diff}"

    gen_cfg = GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                               eos_token_id=None, pad_token_id=0, bos_token_id=None, repetition_penalty=1.0,
                               temperature=None, top_k=None, top_p=None)
    gen = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gen_cfg)
    greedy = gen[0, ids.shape[1]:].tolist()
    assert len(greedy) == NEW_TOKENS, greedy

    # Manual greedy loop (full forward each step) must agree; record the smallest top-1/top-2 gap.
    seq, margin = ids, float("inf")
    for _ in range(NEW_TOKENS):
        last = model(seq).logits[0, -1]
        top = torch.topk(last, 2).values
        margin = min(margin, (top[0] - top[1]).item())
        seq = torch.cat([seq, last.argmax().view(1, 1)], dim=1)
    assert seq[0, ids.shape[1]:].tolist() == greedy, (seq[0, ids.shape[1]:].tolist(), greedy)

    return dict(ids=ids_list, logits=logits.numpy(), mean_nll=float(out.loss.item()), greedy=greedy,
                greedy_min_margin=margin, incremental_max_abs_diff=diff)


def write_golden(path, top, prompts):
    """json.dump, except that the logits are written as shortest float32 decimals (see module docstring)."""
    doc = dict(top)
    doc["prompts"] = []
    for i, p in enumerate(prompts):
        doc["prompts"].append(dict(ids=p["ids"], logits=f"@LOGITS{i}@", mean_nll=p["mean_nll"], greedy=p["greedy"],
                                   greedy_min_margin=p["greedy_min_margin"]))
    text = json.dumps(doc, indent=1)
    for i, p in enumerate(prompts):
        rows = ",\n".join("    [" + ",".join(f32_text(v) for v in row) + "]" for row in p["logits"])
        text = text.replace(f'"@LOGITS{i}@"', "[\n" + rows + "\n   ]")
    with open(path, "w") as f:
        f.write(text + "\n")
    # Read it back: every logit must come back bit-exact.
    with open(path) as f:
        back = json.load(f)
    for p, q in zip(prompts, back["prompts"]):
        got = np.array(q["logits"], dtype=np.float64).astype(np.float32)
        assert np.array_equal(got.view(np.uint32), p["logits"].view(np.uint32)), "logits do not round-trip"


def build(spec):
    name, dtype = spec["name"], spec["dtype"]
    out_dir = os.path.join(OUT, name)
    shutil.rmtree(out_dir, ignore_errors=True)

    torch.manual_seed(spec["seed"])
    cfg = make_config(spec)
    model = LlamaForCausalLM(cfg).eval()
    init_weights(model)
    gen = torch.Generator().manual_seed(spec["seed"] + 500)
    prompt_ids = [torch.randint(0, cfg.vocab_size, (n,), generator=gen).tolist() for n in PROMPT_LENGTHS]

    if cfg.head_dim != cfg.hidden_size // cfg.num_attention_heads:
        att = model.model.layers[0].self_attn
        assert att.q_proj.weight.shape == (cfg.num_attention_heads * cfg.head_dim, cfg.hidden_size)
        assert att.k_proj.weight.shape == (cfg.num_key_value_heads * cfg.head_dim, cfg.hidden_size)
        assert att.o_proj.weight.shape == (cfg.hidden_size, cfg.num_attention_heads * cfg.head_dim)

    model = model.to(dtype)
    model.save_pretrained(out_dir, safe_serialization=True)
    gen_cfg_path = os.path.join(out_dir, "generation_config.json")
    if os.path.exists(gen_cfg_path):
        os.remove(gen_cfg_path)
    assert sorted(os.listdir(out_dir)) == ["config.json", "model.safetensors"], os.listdir(out_dir)

    dtype_name = str(dtype).removeprefix("torch.")
    theta = spec["config"]["rope_theta"]
    cfg_path = os.path.join(out_dir, "config.json")
    with open(cfg_path) as f:
        raw = json.load(f)
    assert "rope_theta" not in raw and raw["rope_parameters"] == {"rope_theta": theta, "rope_type": "default"}, raw
    assert raw["dtype"] == dtype_name and "torch_dtype" not in raw, raw
    if spec["form"] == "legacy":
        to_legacy_config(cfg_path, theta, dtype_name)

    # The file holds exactly the expected tensors, all in the storage dtype.
    st_path = os.path.join(out_dir, "model.safetensors")
    with safe_open(st_path, "pt") as f:
        keys = set(f.keys())
        assert keys == expected_tensors(cfg), keys ^ expected_tensors(cfg)
        for k in keys:
            assert f.get_tensor(k).dtype == dtype, (k, f.get_tensor(k).dtype)

    # Golden outputs come from the files on disk, loaded as float32.
    ref = LlamaForCausalLM.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager").eval()
    rc = ref.config
    assert rc.rope_parameters["rope_theta"] == theta and rc.rope_parameters["rope_type"] == "default"
    for k, v in spec["config"].items():
        if k != "rope_theta":
            assert getattr(rc, k) == v, (k, getattr(rc, k), v)
    assert rc.head_dim == cfg.head_dim and rc.bos_token_id == 0 and rc.eos_token_id == 1
    mem = {k: v.float() for k, v in model.state_dict().items()}
    for k, v in ref.state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, mem[k]), k
    if cfg.tie_word_embeddings:
        assert ref.lm_head.weight.data_ptr() == ref.model.embed_tokens.weight.data_ptr()

    prompts = [golden_prompt(ref, ids) for ids in prompt_ids]
    if dtype == torch.float32:  # the in-memory model must give the very same logits
        for p in prompts:
            with torch.no_grad():
                same = model(torch.tensor([p["ids"]])).logits[0].numpy()
            assert np.array_equal(same, p["logits"])

    with open(st_path, "rb") as f:
        blob = f.read()
    summary = dict(vocab_size=rc.vocab_size, hidden_size=rc.hidden_size, intermediate_size=rc.intermediate_size,
                   num_hidden_layers=rc.num_hidden_layers, num_attention_heads=rc.num_attention_heads,
                   num_key_value_heads=rc.num_key_value_heads, head_dim=rc.head_dim, rope_theta=theta,
                   rms_norm_eps=rc.rms_norm_eps, max_position_embeddings=rc.max_position_embeddings,
                   tie_word_embeddings=rc.tie_word_embeddings, bos_token_id=rc.bos_token_id,
                   eos_token_id=rc.eos_token_id, weight_dtype=dtype_name)
    top = dict(model=name, config_form=spec["form"], config_summary=summary,
               safetensors_sha256=hashlib.sha256(blob).hexdigest(), safetensors_bytes=len(blob),
               transformers_version=transformers.__version__, torch_version=torch.__version__.split("+")[0],
               logits_format="float32 values as the shortest decimal that round-trips to the same float32; "
                             "parse as Double, convert to Float")
    write_golden(os.path.join(out_dir, "golden.json"), top, prompts)
    return out_dir, prompts


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for spec in MODELS:
        out_dir, prompts = build(spec)
        files = sorted(os.listdir(out_dir))
        total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in files)
        print(f"{os.path.relpath(out_dir, ROOT)}  ({total / 1024:.0f} KiB)")
        for f in files:
            print(f"  {f:20s} {os.path.getsize(os.path.join(out_dir, f)):8d} bytes")
        for p in prompts:
            print(f"  prompt len {len(p['ids']):2d}: max|logit| {np.abs(p['logits']).max():.4f}  "
                  f"mean_nll {p['mean_nll']:.4f}  greedy {p['greedy']}  min margin {p['greedy_min_margin']:.4f}  "
                  f"incremental diff {p['incremental_max_abs_diff']:.2e}")


if __name__ == "__main__":
    main()
