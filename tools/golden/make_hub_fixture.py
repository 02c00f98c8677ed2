#!/usr/bin/env python3
"""A tiny model in the exact layout of the official deepseek-ai/deepseek-llm-* repositories, for the PyTorch .bin loader.

  PYTHONPATH=.venv-tools/torch python3 tools/golden/make_hub_fixture.py Tests/DSModelTests/Golden/hub-bin

Pinned: torch==2.15.0 (CPU), transformers==5.24.0 (versions recorded in golden.json). Writes:
    bf16-sharded/   config.json ("torch_dtype": "bfloat16", LlamaForCausalLM), generation_config.json (bos/eos ids
                    and the chat repos' sampling values, temperature 0.7 / top_p 0.95), pytorch_model-0000K-of-0000N.bin
                    shards + pytorch_model.bin.index.json written with torch.save as transformers 4.x's
                    save_pretrained(safe_serialization=False) wrote them (transformers 5 only writes safetensors) —
                    the zip format torch.save writes since 1.6, as the real 7B/67B repos hold
                    + tokenizer.json / tokenizer_config.json as the hub ships them (below)
    f32-single/     the same weights in float32, one pytorch_model.bin, no index, no tokenizer files
    golden.json     versions; prompts; transformers' mean NLL (labels = ids) and 8-token greedy ids of the saved
                    (bf16-rounded) weights computed in float32 — both folders hold these values
Tokenizer: byte-level BPE trained here (tokenizers, 256 byte tokens + merges up to 300 ids) with DeepSeek LLM's
pre-tokenizer as the hub's tokenizer.json spells it (five Isolated Splits with literal characters, Digits, ByteLevel),
BOS/EOS named as DeepSeek's at ids 300/301 and two single-character added tokens (ø, ö) like 100002–100014;
tokenizer_config.json as deepseek-llm-7b-chat's (add_bos_token, AddedToken bos/eos/pad, chat_template). Its
transformers encodings (with BOS) and chat-template ids go into golden.json. config.json says bos 1 / eos 2 as the
base repos do; generation_config.json says 300 / [301, 2] (the real ids, and a second eos to test the list).
Model: LlamaForCausalLM, vocab 320 (padded past the tokenizer's 304, as 102400 past 100015), hidden 64, 2 layers, 4 heads / 2 KV heads, intermediate 128, rope θ 10000,
rms eps 1e-6, untied head, torch.manual_seed(SEED), weights ~ N(0, 0.05) (gains 1 + N(0, 0.1)); ~110k parameters.
"""
import json
import os
import re
import sys

import tokenizers
import torch
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SEED = 20261204
PROMPTS = [[5, 17, 200, 31, 64, 9, 128], [3, 3, 250, 77, 12, 180, 44, 2, 99, 150, 61]]
BOS, EOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>"
# DeepSeek LLM's Split patterns (../shared/docs/DEEPSEEK-LLM.md §2.1, escaped form); the hub file holds literal characters.
PATTERNS_ESCAPED = [
    r"[\u000D\u000A]",
    r"\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+",
    r"\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
    r"\s+$",
    r"[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
]
CHAT_TEMPLATE = ("{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
                 "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                 "{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}"
                 "{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}"
                 "{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}"
                 "{{ 'Assistant:' }}{% endif %}")
TEXTS = ["Hello world", " Hello world", "Hello, world! 12345", "The user said: \"ø and ö\" twice.",
         "line one\nline two\n\n  indented", "\u4f60\u597d\uff0c\u4e16\u754c", "caf\u00e9 \u00fcber na\u00efve",
         "x = 3.14159 * (r ** 2)", "emoji \U0001F600 end  "]
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there!"},
            {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "What is 2+2?"}]
CORPUS = ("The quick brown fox jumps over the lazy dog. Hello world, hello there! The user and the assistant "
          "talk about the weather, the world and the words they use. ") * 40


def make_model():
    torch.manual_seed(SEED)
    cfg = LlamaConfig(vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
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


def unescape(p):
    return re.sub(r"\\U([0-9A-Fa-f]{8})|\\u([0-9A-Fa-f]{4})", lambda m: chr(int(m.group(1) or m.group(2), 16)), p)


def make_tokenizer(folder):
    """tokenizer.json + tokenizer_config.json in the hub's form; returns the transformers tokenizer loaded back."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(unescape(p)), "isolated") for p in PATTERNS_ESCAPED]
        + [pre_tokenizers.Digits(individual_digits=True),
           pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([CORPUS], trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    assert tok.get_vocab_size() == 300, tok.get_vocab_size()
    tok.add_special_tokens([BOS, EOS])
    tok.add_tokens(["\u00f8", "\u00f6"])
    tok.save(os.path.join(folder, "tokenizer.json"))
    added = {"__type": "AddedToken", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": dict(added, content=BOS),
              "clean_up_tokenization_spaces": False, "eos_token": dict(added, content=EOS), "legacy": True,
              "model_max_length": 4096, "pad_token": dict(added, content=EOS), "sp_model_kwargs": {},
              "unk_token": None, "tokenizer_class": "LlamaTokenizerFast", "chat_template": CHAT_TEMPLATE}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
    # The file itself, not transformers 5's LlamaTokenizer class, which rebuilds a SentencePiece-style pipeline.
    hf = PreTrainedTokenizerFast(tokenizer_file=os.path.join(folder, "tokenizer.json"), bos_token=BOS, eos_token=EOS,
                                 pad_token=EOS, add_bos_token=True, chat_template=CHAT_TEMPLATE)
    return hf


def tokenizer_golden(hf):
    enc = [{"text": t, "ids": hf(t)["input_ids"]} for t in TEXTS]
    for e in enc:
        assert e["ids"][0] == hf.bos_token_id, "BOS must be added (add_bos_token)"
    chat = hf.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=True)
    if isinstance(chat, dict) or hasattr(chat, "keys"):
        chat = chat["input_ids"]
    chat_text = hf.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    return {"bos_token_id": hf.bos_token_id, "eos_token_id": hf.eos_token_id, "vocab_size": len(hf),
            "encodings": enc, "messages": MESSAGES, "chat_text": chat_text, "chat_ids": list(chat)}


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
    gen = GenerationConfig(bos_token_id=300, eos_token_id=[301, 2], do_sample=True, temperature=0.7, top_p=0.95)
    bf16_dir, f32_dir = os.path.join(out, "bf16-sharded"), os.path.join(out, "f32-single")
    model.to(torch.bfloat16)
    model.config.torch_dtype = "bfloat16"
    save_bin(model, bf16_dir, 2, gen)
    tokenizer = tokenizer_golden(make_tokenizer(bf16_dir))
    PROMPTS.append(tokenizer["chat_ids"])
    # f32 copy of the bf16-rounded weights, so both folders hold the same values
    model.to(torch.float32)
    model.config.torch_dtype = "float32"
    save_bin(model, f32_dir, 1, gen)
    golden = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "python": sys.version.split()[0]},
        "seed": SEED, "prompts": PROMPTS,
        "generation_config": {"bos_token_id": 300, "eos_token_id": [301, 2], "temperature": 0.7, "top_p": 0.95},
        "tokenizer": tokenizer,
        "reference": reference(model),
        "files": {d: sorted(os.listdir(os.path.join(out, d))) for d in ["bf16-sharded", "f32-single"]},
    }
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    print(json.dumps(golden["files"], indent=1))


if __name__ == "__main__":
    main()
