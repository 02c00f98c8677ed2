#!/usr/bin/env python3
"""DPO step time, dsllm vs TRL's DPOTrainer (trl 1.16.0, torch 2.15.0 CPU), same machine, same run.

Model: a DeepSeek-architecture LlamaForCausalLM (4 layers × 256, 4 heads, FFN 704, vocab 2048: the scaling
sweep's tokenizer), random init (seed 0), f32. Data: the first 256 pairs of chat-data/prefs-train.jsonl (make
chat-data). Both: 16 pairs per step, max length 256, AdamW lr 5e-6, β 0.1, reference log-probs computed before the
timed steps (TRL: precompute_ref_log_probs=True; dsllm always), 2 threads. Reported: median seconds per optimizer
step over steps 3…N (both sides skip warm-up), and the ratio. TRL pads each batch to its longest sequence; dsllm
packs sequences into rows — part of the difference, and why pairs/s is the comparable unit. TRL runs in f32
without activation checkpointing (bf16=False, gradient_checkpointing=False): its defaults (bf16 autocast,
checkpointing) are 38× slower on a CPU without native bf16 — emulated bf16 — and would not compare like for like.

Usage: python3 bench/alignment/bench.py [--steps 12] [--dsllm .build/release/dsllm]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, TrainerCallback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "bench", "out", "alignment-bench")


def make_model():
    cfg = dict(vocab_size=2048, hidden_size=256, intermediate_size=704, num_hidden_layers=4, num_attention_heads=4,
               num_key_value_heads=4, max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False)
    torch.manual_seed(0)
    m = LlamaForCausalLM(LlamaConfig(**cfg)).float()
    d = os.path.join(OUT, "model")
    os.makedirs(d, exist_ok=True)
    save_file({n: p.detach().contiguous() for n, p in m.named_parameters()}, os.path.join(d, "model.safetensors"))
    json.dump({**cfg, "architectures": ["LlamaForCausalLM"]}, open(os.path.join(d, "config.json"), "w"))
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(os.path.join(ROOT, "bench", "out", "scaling", f), d)
    return d


def trl_steps(model_dir, data, steps):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer
    torch.set_num_threads(2)
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"))
    cfg = json.load(open(os.path.join(model_dir, "tokenizer_config.json")))
    tok.bos_token, tok.eos_token, tok.pad_token, tok.chat_template = cfg["bos_token"], cfg["eos_token"], cfg["eos_token"], cfg["chat_template"]
    times = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.t)

    with tempfile.TemporaryDirectory() as tmp:
        args = DPOConfig(output_dir=tmp, beta=0.1, learning_rate=5e-6, per_device_train_batch_size=16, max_steps=steps,
                         max_length=256, precompute_ref_log_probs=True, report_to=[], save_strategy="no", use_cpu=True,
                         logging_steps=1000, seed=0, dataloader_num_workers=0, bf16=False, gradient_checkpointing=False)
        model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        ref = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        t = DPOTrainer(model=model, ref_model=ref, args=args, train_dataset=Dataset.from_list(data), processing_class=tok, callbacks=[Timer()])
        t.train()
    return times


def dsllm_steps(binary, model_dir, data_path, steps):
    out = os.path.join(OUT, "dsllm-run")
    shutil.rmtree(out, ignore_errors=True)
    # --epochs so that the run has at least `steps` steps; it is stopped by reading only the first `steps` records.
    subprocess.run([binary, "dpo", "--model", model_dir, "--data", data_path, "--out", out, "--batch-pairs", "16",
                    "--max-length", "256", "--micro-batch", "8", "--lr", "5e-6", "--beta", "0.1", "--threads", "2",
                    "--epochs", str(max(1, (steps * 16 + 255) // 256))], check=True, stdout=subprocess.DEVNULL)
    return [json.loads(l)["seconds"] for l in open(os.path.join(out, "metrics.jsonl"))][:steps]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--dsllm", default=os.path.join(ROOT, ".build", "release", "dsllm"))
    a = ap.parse_args()
    model_dir = make_model()
    lines = open(os.path.join(ROOT, "chat-data", "prefs-train.jsonl")).readlines()[:256]
    data_path = os.path.join(OUT, "prefs.jsonl")
    open(data_path, "w").writelines(lines)
    data = [json.loads(l) for l in lines]
    # TRL wants "prompt": the conversation before the reply, and conversational completions.
    trl_data = [{"prompt": d["messages"], "chosen": [{"role": "assistant", "content": d["chosen"]}],
                 "rejected": [{"role": "assistant", "content": d["rejected"]}]} for d in data]
    ds = dsllm_steps(a.dsllm, model_dir, data_path, a.steps)
    tr = trl_steps(model_dir, trl_data, a.steps)
    m_ds, m_tr = statistics.median(ds[2:]), statistics.median(tr[2:])
    print(f"DPO step (16 pairs, 4×256 model, vocab 2048, 2 threads), median of steps 3–{a.steps}:")
    print(f"  dsllm dpo        {m_ds:.3f} s/step  {16 / m_ds:.1f} pairs/s")
    print(f"  TRL DPOTrainer   {m_tr:.3f} s/step  {16 / m_tr:.1f} pairs/s")
    print(f"  dsllm is {m_tr / m_ds:.2f}× TRL")


if __name__ == "__main__":
    main()
