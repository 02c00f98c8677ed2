#!/usr/bin/env python3
"""Golden ids for llama.cpp's 'default' BPE pre-tokenizer, the one it falls back to without tokenizer.ggml.pre.

llama.cpp uses LLAMA_VOCAB_PRE_TYPE_DEFAULT for any BPE GGUF that has no `tokenizer.ggml.pre` key (it logs
"missing pre-tokenizer type, using: 'default'"). dsllm does the same for vocabularies that are not DeepSeek
LLM's (DeepSeek's own, recognised by hash, keeps its pre-tokenizer). This script builds exactly the vocabulary
that Tests/DSTokenizerTests/MissingPreTagTests.swift builds, `vocabularyWithoutPre(changingToken: 5000)`:

    ggml-vocab-deepseek-llm.gguf with every metadata key copied in order, except that
    `tokenizer.ggml.pre` is dropped and token 5000 (byte-level "ç©¶", i.e. 究) becomes "Xchanged".

Changing one token makes the vocabulary "not DeepSeek's". It also leaves merges whose result (究) is no
longer a token, and there llama.cpp and dsllm differ in a way unrelated to pre-tokenizing: llama.cpp splits
such a symbol into single bytes of its byte-level *spelling* and keeps only those that are tokens, so a
lone 究 (spelled "ç©¶", all non-ASCII) vanishes from the ids (src/llama-vocab.cpp, `token_multibyte`), while
dsllm emits its three byte tokens. The cases below therefore never leave 究 as a symbol of its own (in
"研究" and "究竟" it merges further into a real token).

The copy is loaded with llama-cpp-python (vocab_only=True); a subprocess first checks that llama.cpp really
logged the 'default' fallback. Each case is encoded exactly as
    llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
i.e. add_special=False, parse_special=False (dsllm: `encode(text, parseSpecial: false)`).

Output (ASCII-only JSON lines, so nothing can Unicode-normalise the texts): a header object with the
llama-cpp-python version and the inputs, then one {"text": ..., "ids": [...]} per case.

Pinned environment: Python 3.11, llama-cpp-python==0.3.36 (.venv-tools/llama-cpp), vocab
ggml-vocab-deepseek-llm.gguf (3,970,167 bytes, from llama.cpp models/; identical to the embedded one).

Usage (from the repository root):
    PYTHONPATH=.venv-tools/llama-cpp python3 tools/golden/make_default_pretok_golden.py [--vocab PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_VOCAB = REPO_ROOT / ".." / "shared" / "vocab" / "ggml-vocab-deepseek-llm.gguf"
DEFAULT_OUT = REPO_ROOT / "Tests" / "DSTokenizerTests" / "Golden" / "llamacpp-default-pretok-golden.jsonl"

CHANGED_TOKEN = 5000
CHANGED_TEXT = "Xchanged"
FALLBACK_LOG = "missing pre-tokenizer type, using: 'default'"

CASES = [
    # ASCII punctuation runs: regex 1 isolates runs of \p{P} and $+<=>^~|, but not the backtick.
    "Hello,world!!",
    "Hello, world!",
    "Wait... what?!?",
    "a$b+c<d=e>f^g~h|i",
    "x `code` y",
    "``triple``",
    "$$$ +++ <=> ^^^ ~~~ |||",
    "@#%&*()[]{}_-/\\:;\"'",
    "a--b__c..d",
    "(1+2)*3=9",
    "email@example.com; https://example.org/path?q=1&r=2#frag",
    # Contractions: the apostrophe is punctuation, so GPT-2's 's 't 're 've 'm 'll 'd never match.
    "it's",
    "I'm sure they'll say we've done it, but you'd know; isn't that right?",
    "DON'T SHOUT, I'M HERE",
    "'s 't 're 've 'm 'll 'd",
    "rock 'n' roll",
    "o'clock's",
    # ASCII digit runs of 1 to 10 digits: split off the space, then cut into threes from the left.
    "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789", "1234567890",
    "a 1234567 b",
    "Pi is 3.14159265 and e is 2.718281828",
    "x1234y56789z",
    "2024-01-05 10:30:59",
    "$1,234,567.89",
    # Non-ASCII digits: \p{N} but not [0-9].
    "\u0663\u0664\u0665",
    "\u0663\u0664\u0665\u0666\u0667 and 123\u0663\u0664\u0665456",
    "\u00b2\u00b3 \u00bd \u2160\u2161\u2162 \u2460\u2461",
    "\uff11\uff12\uff13\uff14",
    "\u0967\u0968\u0969\u096a\u096b",
    # Non-ASCII punctuation (\p{P}) and symbols (not in regex 1).
    "\u00abBonjour\u00bb, dit-il \u2014 puis\u2026",
    "\u2018quoted\u2019 and \u201cdouble\u201d",
    "\u4f60\u597d\u3002\u4e16\u754c\u3001\u518d\u89c1\uff01",
    "\u00bfQu\u00e9? \u00a1S\u00ed!",
    "\u00a7 4 \u00b6 2 \u00b7 \u2022 bullet",
    "\u00ac\u00b4\u00a9\u00ae\u2122 \u20ac5 \u00a33",
    "\u3010note\u3011\u300c\u5f15\u7528\u300d",
    # CJK; \u7a76 (the removed token 5000) only inside words that merge past it, see the docstring.
    "\u6df1\u5ea6\u6c42\u7d22\u53d1\u5e03\u4e86\u5f00\u6e90\u5927\u8bed\u8a00\u6a21\u578b",
    "\u7814\u7a76",
    "\u7a76\u7adf\u7814\u7a76\u4e86\u4ec0\u4e48",
    "\u3053\u3093\u306b\u3061\u306f\u3001\u4e16\u754c\uff01",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    # Greek, Cyrillic, Arabic, Hebrew, Devanagari.
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u03ba\u03b5\u03af\u03bc\u03b5\u03bd\u03bf; \u03bd\u03b1\u03b9.",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u041a\u0430\u043a \u0434\u0435\u043b\u0430?",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645\u060c \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e\u0964",
    "Fu\u0308hrer F\u00fchrer na\u00efve caf\u00e9",
    # Emoji and other symbols (\p{S}: GPT-2's "other" class, not regex 1).
    "\U0001f44b hello \U0001f30d\U0001f680!",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",
    "\u2764\ufe0f \u2705 \u2192 \u2211 \u221e",
    # Whitespace: tabs, newlines, runs of spaces, trailing spaces, non-ASCII whitespace.
    "a\tb\t\tc",
    "line one\nline two\n\nline four",
    "a  b   c    d",
    "trailing spaces   ",
    "   leading spaces",
    " ",
    "\n",
    "\t\n \r\n",
    "word \n next",
    "x\u00a0y\u3000z\u2003w",
    "end.\n\n\n",
    "  !!  ",
    # Mixed and code.
    "Hello,world!!How are   you?\tI'm fine:)",
    "def f(x):\n    return x**2 + 1  # square\n",
    "if (a <= b && c != d) { return a->b[i] ^ ~mask | 0x1F; }",
    "let s = `template ${value}`;",
    "SELECT * FROM t WHERE id=42 AND name='x';",
    "{\"key\": [1, 2, 3], \"n\": -0.5e-3}",
    "<html><p class=\"x\">Hi</p></html>",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 1234567); }",
    "\u00f8\u00f6\u00fa\u00ff \u00c0\u00c1 user-defined tokens",
    "<\uff5cbegin\u2581of\u2581sentence\uff5c>stays text",
]


def read_gguf_metadata(path: Path) -> tuple[int, list[tuple[str, int, bytes]]]:
    """The GGUF version and its metadata as (key, value type, raw value bytes) in file order."""
    data = path.read_bytes()
    if data[:4] != b"GGUF":
        raise SystemExit(f"{path}: not a GGUF file")
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", data, 4)
    if n_tensors != 0:
        raise SystemExit(f"{path}: expected a vocabulary-only GGUF, found {n_tensors} tensors")
    pos = 24
    scalar_sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def skip_value(p: int, vtype: int) -> int:
        if vtype in scalar_sizes:
            return p + scalar_sizes[vtype]
        if vtype == 8:  # string
            (n,) = struct.unpack_from("<Q", data, p)
            return p + 8 + n
        if vtype == 9:  # array
            etype, count = struct.unpack_from("<IQ", data, p)
            p += 12
            if etype in scalar_sizes:
                return p + scalar_sizes[etype] * count
            for _ in range(count):
                p = skip_value(p, etype)
            return p
        raise SystemExit(f"{path}: unknown metadata value type {vtype} at byte {p}")

    entries = []
    for _ in range(n_kv):
        (klen,) = struct.unpack_from("<Q", data, pos)
        key = data[pos + 8:pos + 8 + klen].decode("utf-8")
        pos += 8 + klen
        (vtype,) = struct.unpack_from("<I", data, pos)
        pos += 4
        end = skip_value(pos, vtype)
        entries.append((key, vtype, data[pos:end]))
        pos = end
    return version, entries


def string_array(raw: bytes) -> list[bytes]:
    etype, count = struct.unpack_from("<IQ", raw, 0)
    assert etype == 8, "expected an array of strings"
    out, p = [], 12
    for _ in range(count):
        (n,) = struct.unpack_from("<Q", raw, p)
        out.append(raw[p + 8:p + 8 + n])
        p += 8 + n
    return out


def encode_string_array(items: list[bytes]) -> bytes:
    return struct.pack("<IQ", 8, len(items)) + b"".join(struct.pack("<Q", len(s)) + s for s in items)


def write_vocabulary_without_pre(source: Path, dest: Path) -> str:
    """Writes the test vocabulary; returns the original text of the changed token."""
    version, entries = read_gguf_metadata(source)
    kept = []
    original = None
    for key, vtype, raw in entries:
        if key == "tokenizer.ggml.pre":
            continue
        if key == "tokenizer.ggml.tokens":
            tokens = string_array(raw)
            original = tokens[CHANGED_TOKEN].decode("utf-8")
            tokens[CHANGED_TOKEN] = CHANGED_TEXT.encode("utf-8")
            raw = encode_string_array(tokens)
        kept.append((key, vtype, raw))
    if original is None:
        raise SystemExit(f"{source}: no tokenizer.ggml.tokens")
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, 0, len(kept)))
    for key, vtype, raw in kept:
        k = key.encode("utf-8")
        out += struct.pack("<Q", len(k)) + k + struct.pack("<I", vtype) + raw
    # No tensors: the data section is empty, but keep the file aligned like GGUF writers do.
    out += b"\0" * (-len(out) % 32)
    dest.write_bytes(bytes(out))
    return original


def check_default_fallback(vocab: Path) -> None:
    """Loads the vocabulary verbosely in a subprocess and requires llama.cpp's 'default' fallback message."""
    probe = "import llama_cpp; llama_cpp.Llama(model_path=%r, vocab_only=True, verbose=True)" % str(vocab)
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    log = r.stdout + r.stderr
    if r.returncode != 0:
        raise SystemExit(f"llama.cpp failed to load {vocab} (exit {r.returncode}):\n{log[-2000:]}")
    if FALLBACK_LOG not in log:
        raise SystemExit(f"llama.cpp did not log {FALLBACK_LOG!r} for {vocab}; refusing to write a golden")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab", type=Path, default=DEFAULT_VOCAB)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()

    import llama_cpp

    with tempfile.TemporaryDirectory() as tmp:
        vocab = Path(tmp) / "vocab-no-pre.gguf"
        original = write_vocabulary_without_pre(args.vocab, vocab)
        check_default_fallback(vocab)
        llm = llama_cpp.Llama(model_path=str(vocab), vocab_only=True, verbose=False)
        rows = []
        for text in CASES:
            ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            rows.append({"text": text, "ids": list(ids)})
        del llm

    if len(set(CASES)) != len(CASES):
        raise SystemExit("duplicate cases")
    header = {
        "llama_cpp_python": llama_cpp.__version__,
        "vocab": args.vocab.name,
        "vocab_bytes": os.path.getsize(args.vocab),
        "without_key": "tokenizer.ggml.pre",
        "changed_token": {"id": CHANGED_TOKEN, "was": original, "now": CHANGED_TEXT},
        "call": "tokenize(text.encode('utf-8'), add_bos=False, special=False)",
        "cases": len(rows),
    }
    with open(args.out, "w", encoding="ascii") as f:
        f.write(json.dumps(header, ensure_ascii=True) + "\n")
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=True) + "\n")
    print(f"llama-cpp-python {llama_cpp.__version__}: {len(rows)} cases -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
