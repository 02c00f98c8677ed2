#!/usr/bin/env python3
"""Golden data for dsllm's SFT and DPO (DSAlignment), from transformers and TRL (pinned: torch==2.15.0,
transformers==5.24.0, trl==1.16.0; tools/golden/requirements.txt).

The model: a tiny LlamaForCausalLM in f32 (vocab 384, hidden 32, 4 heads / 2 KV heads, FFN 48, 2 layers), weights
normal(0, 0.02) with non-trivial RMSNorm gains, and a 384-token BPE tokenizer made by `dsllm tokenizer train` (DeepSeek
pre-tokenizer and chat template; tokenizer.json here).

SFT: conversations rendered with the chat template; a reply's tokens are those after the common prefix of the
conversation up to it rendered with the generation prompt and rendered whole (TRL's prompt/completion rule);
labels = ids with every other token -100; one padded batch through HF: the mean loss over label tokens and every
parameter's gradient.

DPO: trl.DPOTrainer (loss "sigmoid", beta 0.1, one step on all pairs as one batch, AdamW lr 1e-3, betas
(0.9, 0.95), eps 1e-8, weight decay 0.1, clip 1.0, constant schedule). Records TRL's tokenization (prompt / chosen /
rejected ids), the loss returned by compute_loss, the logged metrics (rewards/…, logps/…) and the weights after
the optimizer step. Plain-string pairs: TRL's tokenization only (EOS appended, common prefix).

Files: policy/ and ref/ (config.json + model.safetensors: the starting policy and the DPO reference), sft-grads,
dpo-clipped-grads (after clipping, before AdamW), dpo-after-step (.safetensors), alignment-golden.json.

Usage: python3 tools/golden/make_alignment_golden.py   (writes Tests/DSAlignmentTests/Golden/*)
"""
import json
import os
import tempfile

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLD = os.path.join(ROOT, "Tests", "DSAlignmentTests", "Golden")

SFT = [
    [{"role": "user", "content": "What is the capital of France?"},
     {"role": "assistant", "content": "Paris is the capital of France."}],
    [{"role": "system", "content": "You are a helpful poet."},
     {"role": "user", "content": "Write a line about the sea."},
     {"role": "assistant", "content": "The sea is wide and full of light."},
     {"role": "user", "content": "And one about the moon?"},
     {"role": "assistant", "content": "The moon keeps watch, 2 eyes of silver."}],
    [{"role": "user", "content": "Say hello in French — café style."},
     {"role": "assistant", "content": "Bonjour! Un café, s'il vous plaît."}],
]

DPO = [
    {"prompt": [{"role": "user", "content": "Name a colour of the sky."}],
     "chosen": [{"role": "assistant", "content": "Blue, on a clear day."}],
     "rejected": [{"role": "assistant", "content": "Seven."}]},
    {"prompt": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "2 + 2?"}],
     "chosen": [{"role": "assistant", "content": "4"}],
     "rejected": [{"role": "assistant", "content": "It is probably 5, but I am not sure at all."}]},
    {"prompt": [{"role": "user", "content": "Who wrote Hamlet?"},
                {"role": "assistant", "content": "Shakespeare."},
                {"role": "user", "content": "When?"}],
     "chosen": [{"role": "assistant", "content": "Around 1600."}],
     "rejected": [{"role": "assistant", "content": "Yesterday, in London."}]},
]

PLAIN = [{"prompt": "The quick brown fox", "chosen": " jumps over the lazy dog.", "rejected": " sleeps."}]


def tiny_model(seed=0):
    cfg = LlamaConfig(vocab_size=384, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=10000.0,
                      tie_word_embeddings=False, attn_implementation="eager")
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg).float()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.normal_(0, 0.02)
    return model


def tokenizer():
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(GOLD, "tokenizer.json"))
    cfg = json.load(open(os.path.join(GOLD, "tokenizer_config.json")))
    tok.bos_token, tok.eos_token, tok.pad_token = cfg["bos_token"], cfg["eos_token"], cfg["eos_token"]
    tok.chat_template = cfg["chat_template"]
    return tok


def encode(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def common_prefix(a, b):
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


def sft_sequence(tok, messages):
    full = encode(tok, tok.apply_chat_template(messages, tokenize=False))
    mask = [0] * len(full)
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt = encode(tok, tok.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True))
        upto = encode(tok, tok.apply_chat_template(messages[: i + 1], tokenize=False))
        assert full[: len(upto)] == upto
        for j in range(common_prefix(prompt, upto), len(upto)):
            mask[j] = 1
    return full, mask


def main():
    tok = tokenizer()
    model = tiny_model()
    config = {"vocab_size": 384, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
              "tie_word_embeddings": False, "architectures": ["LlamaForCausalLM"]}
    for sub in ["policy", "ref"]:
        os.makedirs(os.path.join(GOLD, sub), exist_ok=True)
        json.dump(config, open(os.path.join(GOLD, sub, "config.json"), "w"), indent=1)
    save_file({n: p.detach().contiguous() for n, p in model.named_parameters()}, os.path.join(GOLD, "policy", "model.safetensors"))
    out = {}

    # SFT: one padded batch, labels -100 outside replies; HF's mean over label tokens.
    seqs = [sft_sequence(tok, m) for m in SFT]
    T = max(len(ids) for ids, _ in seqs)
    ids = torch.tensor([s + [tok.pad_token_id] * (T - len(s)) for s, _ in seqs])
    att = torch.tensor([[1] * len(s) + [0] * (T - len(s)) for s, _ in seqs])
    labels = torch.tensor([[t if k else -100 for t, k in zip(s, m)] + [-100] * (T - len(s)) for s, m in seqs])
    model.zero_grad()
    loss = model(input_ids=ids, attention_mask=att, labels=labels).loss
    loss.backward()
    out["sft"] = {"messages": SFT, "ids": [s for s, _ in seqs], "masks": [m for _, m in seqs], "loss": loss.item()}
    save_file({n: p.grad.detach().contiguous() for n, p in model.named_parameters()}, os.path.join(GOLD, "sft-grads.safetensors"))

    # DPO through TRL.
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import DPOConfig, DPOTrainer

    class GradRecorder(TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, model=None, **kw):
            # After clipping, before AdamW: the gradient the optimizer sees.
            save_file({n: p.grad.detach().contiguous() for n, p in model.named_parameters()},
                      os.path.join(GOLD, "dpo-clipped-grads.safetensors"))

    captured = {}

    class Recording(DPOTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            captured.setdefault("loss", (loss[0] if isinstance(loss, tuple) else loss).item())
            captured.setdefault("input_ids", inputs["input_ids"].tolist())
            return loss

    with tempfile.TemporaryDirectory() as tmp:
        args = DPOConfig(output_dir=tmp, beta=0.1, loss_type="sigmoid", learning_rate=1e-3, per_device_train_batch_size=len(DPO),
                         max_steps=1, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.1, adam_beta1=0.9,
                         adam_beta2=0.95, adam_epsilon=1e-8, max_grad_norm=1.0, logging_steps=1, report_to=[],
                         save_strategy="no", max_length=128, use_cpu=True, bf16=False, seed=0, optim="adamw_torch",
                         dataloader_drop_last=False)
        policy = tiny_model()
        # A reference that differs from the starting policy (dsllm dpo --ref), so rewards are not all zero.
        ref = tiny_model(seed=1)
        save_file({n: p.detach().contiguous() for n, p in ref.named_parameters()}, os.path.join(GOLD, "ref", "model.safetensors"))
        trainer = Recording(model=policy, ref_model=ref, callbacks=[GradRecorder()], args=args, train_dataset=Dataset.from_list(DPO), processing_class=tok)
        tokenized = [trainer.train_dataset[i] for i in range(len(DPO))]
        trainer.train()
        logs = [h for h in trainer.state.log_history if "rewards/chosen" in h][0]
        grad_norm = logs["grad_norm"]
        save_file({n: p.detach().contiguous() for n, p in policy.named_parameters()}, os.path.join(GOLD, "dpo-after-step.safetensors"))

    out["dpo"] = {"pairs": DPO, "prompt_ids": [t["prompt_ids"] for t in tokenized], "chosen_ids": [t["chosen_ids"] for t in tokenized],
                  "rejected_ids": [t["rejected_ids"] for t in tokenized], "loss": captured["loss"], "beta": 0.1, "lr": 1e-3,
                  "grad_norm": grad_norm,
                  "metrics": {k: logs[k] for k in ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                                                   "logps/chosen", "logps/rejected"]}}
    # Plain-string pairs: TRL's non-conversational tokenization (EOS appended to completions, common prefix).
    plain = []
    for p in PLAIN:
        c, r = p["chosen"] + tok.eos_token, p["rejected"] + tok.eos_token
        pi, pc, pr = encode(tok, p["prompt"]), encode(tok, p["prompt"] + c), encode(tok, p["prompt"] + r)
        n = min(common_prefix(pi, pc), common_prefix(pi, pr))
        plain.append({**p, "prompt_ids": pi[:n], "chosen_ids": pc[n:], "rejected_ids": pr[n:]})
    out["plain"] = plain
    json.dump(out, open(os.path.join(GOLD, "alignment-golden.json"), "w"), indent=1, ensure_ascii=False)
    print(json.dumps({"sft_loss": out["sft"]["loss"], "dpo_loss": captured["loss"], **out["dpo"]["metrics"]}, indent=1))


if __name__ == "__main__":
    main()
