#!/usr/bin/env python3
"""Golden merges for `dsllm tokenizer train`, produced by HF tokenizers' BpeTrainer.

Pinned: tokenizers==0.22.1 (pip install tokenizers==0.22.1).

The corpus (Tests/DSTokenizerTests/Golden/trainer-corpus.txt) is assembled once from the licence texts
Debian ships in /usr/share/common-licenses (verbatim copying is permitted by each licence) and a few
multilingual lines, and committed; this script only reads it. HF is set up exactly like dsllm's trainer:
the six DeepSeek LLM Split pre-tokenizers (escaped form) + ByteLevel(use_regex=False), the full 256-byte
initial alphabet, no special tokens during training (dsllm appends BOS/EOS after the learned
vocabulary), min_frequency 0. Output: one JSON object with the vocabulary (id -> byte-level string) and
the merges in rank order, for each vocabulary size.

Usage: python3 tools/golden/make_trainer_golden.py [--make-corpus] [--check-dsllm .build/release/dsllm]

--check-dsllm also trains with `dsllm tokenizer train`, loads dsllm's tokenizer.json in HF tokenizers and checks
that HF and dsllm give identical ids on the whole corpus (the "output loads in HF tokenizers" check).
"""
import argparse
import json
import os
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(ROOT, "Tests", "DSTokenizerTests", "Golden")
CORPUS = os.path.join(GOLDEN, "trainer-corpus.txt")
OUT = os.path.join(GOLDEN, "hf-bpe-trainer-golden.json")
SIZES = [300, 1000, 2000]
GPT2_TOKENIZER = os.path.join(GOLDEN, "hf-gpt2-style-tokenizer.json")
GPT2_GOLDEN = os.path.join(GOLDEN, "hf-gpt2-style-golden.jsonl")  # BPE vocabulary sizes (256 bytes + merges), special tokens excluded

# Supplementary code points as \x{...}: Oniguruma has no \U escape (it reads "U0001..." as literal
# characters, which corrupts the letter class). The DeepSeek LLM patterns, escaped form (shared/docs/DEEPSEEK-LLM.md section 2.1; same strings as
# DeepSeekPatterns.escaped in Sources/DSTokenizer/TokenizerLoading+JSON.swift).
PATTERNS = [
    r"[\u000D\u000A]",
    r"\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+",
    r"\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
    r"\s+$",
    r"[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
    r"\p{N}+",
]

MULTILINGUAL = [
    "深度求索（DeepSeek）致力于探索通用人工智能的本质，以长期主义回答最重要的问题。",
    "我们从零开始训练了一个包含2万亿个中英文词元的数据集。",
    "東京は日本の首都です。今日は良い天気ですね。",
    "안녕하세요, 세계! 오늘은 2024년 5월 1일입니다.",
    "Привет, мир! Сегодня хорошая погода, и мы обучаем модель.",
    "Γειά σου κόσμε! Η γλώσσα είναι όμορφη.",
    "مرحبا بالعالم، هذه جملة عربية للاختبار.",
    "नमस्ते दुनिया, यह एक परीक्षण वाक्य है।",
    "def train(model, data):\n    for step, batch in enumerate(data):\n        loss = model(batch)\n        loss.backward()\n",
    "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }",
    "Numbers: 3.14159, 2.71828, 1,000,000 and 42% of 100.",
    "Emoji: 😀 👍🏽 🇫🇷 👩‍💻 — done.",
]


def make_corpus():
    parts = []
    for name in ["Apache-2.0", "Artistic", "BSD", "CC0-1.0", "GFDL-1.3", "GPL-3", "LGPL-3", "MPL-2.0"]:
        path = os.path.join("/usr/share/common-licenses", name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                parts.append(f.read())
    for i in range(20):
        parts.append("\n".join(MULTILINGUAL[i % len(MULTILINGUAL):] + MULTILINGUAL[: i % len(MULTILINGUAL)]) + "\n")
    with open(CORPUS, "w", encoding="utf-8", newline="") as f:
        f.write("".join(parts))
    print(f"wrote {CORPUS} ({os.path.getsize(CORPUS)} bytes)")


def train(size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(p), behavior="isolated") for p in PATTERNS]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=size, min_frequency=0, show_progress=False, special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train([CORPUS], trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    assert [i for _, i in vocab] == list(range(len(vocab)))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return {"vocab_size": size, "tokens": [t for t, _ in vocab], "merges": merges}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--make-corpus", action="store_true", help="(re)assemble the committed corpus first")
    ap.add_argument("--check-dsllm", metavar="BIN", help="also check a dsllm-trained tokenizer.json inside HF")
    args = ap.parse_args()
    if args.make_corpus or not os.path.exists(CORPUS):
        make_corpus()
    import tokenizers
    result = {"tokenizers_version": tokenizers.__version__, "corpus": os.path.basename(CORPUS),
              "runs": [train(s) for s in SIZES]}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=True, indent=0)
    for r in result["runs"]:
        print(f"vocab {r['vocab_size']}: {len(r['tokens'])} tokens, {len(r['merges'])} merges")
    print(f"wrote {OUT}")
    make_gpt2_style_golden()
    if args.check_dsllm:
        check_dsllm(args.check_dsllm)


def make_gpt2_style_golden():
    """A GPT-2-style byte-level BPE (ByteLevel pre-tokenizer with its regex) trained by HF, plus HF's ids
    for a set of texts: checks that dsllm loads such tokenizer.json files and splits like GPT-2's regex."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, show_progress=False, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([CORPUS], trainer)
    tok.save(GPT2_TOKENIZER)
    with open(CORPUS, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    texts = ["I'll say it's 42  ok\n\n x", "  leading and trailing  ", "tabs\tand\r\nCRLF", "don't won't they've we're",
             "numbers 12345 and 3.14", "mixed: 深度求索 Привет 😀!!", "<|endoftext|>after"]
    texts += ["\n".join(lines[i:i + 3]) for i in range(0, len(lines), 97)]
    with open(GPT2_GOLDEN, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t, "ids": tok.encode(t).ids}, ensure_ascii=True) + "\n")
    print(f"wrote {GPT2_TOKENIZER} and {GPT2_GOLDEN} ({len(texts)} texts)")


def check_dsllm(binary):
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "tokenizer.json")
        subprocess.run([binary, "tokenizer", "train", "--input", CORPUS, "--vocab-size", "2002", "--out", out,
                        "--quiet"], check=True)
        hf = Tokenizer.from_file(out)
        with open(CORPUS, encoding="utf-8", newline="") as f:
            text = f.read()
        ids_hf = hf.encode(text).ids
        run = subprocess.run([binary, "tokenize", "--tokenizer", out, "--file", CORPUS], check=True,
                             capture_output=True, text=True)
        ids_dsllm = [int(x) for x in run.stdout.split()]
        same = ids_hf == ids_dsllm
        print(f"dsllm-trained tokenizer.json in HF tokenizers: {len(ids_hf)} ids, identical to dsllm: {same}")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
