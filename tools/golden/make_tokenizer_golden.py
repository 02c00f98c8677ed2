#!/usr/bin/env python3
"""Generate a large tokenizer golden set with llama.cpp's own DeepSeek LLM tokenizer.

The 46 upstream test vectors in Tests/DSTokenizerTests/Golden/ barely touch the places where a
byte-level BPE port goes wrong: the hand-written character classes of the six DeepSeek
pre-tokenizer regexes (and the code points just outside each range), exotic whitespace as seen
by llama.cpp's std::wregex `\\s`, user-defined added tokens (the 13 Latin-1 letters and the
[PADnnnnnn] rows), CR/LF handling, non-ASCII digits, supplementary planes. This script writes
a few thousand such cases, encoded by llama.cpp itself, so the Swift tokenizer can be checked
against the reference implementation rather than against our reading of it.

Pinned environment (the ids are only as good as the reference that produced them):
    Python 3.11, llama-cpp-python==0.3.36 (its vendored llama.cpp), vocab
    ggml-vocab-deepseek-llm.gguf (3,970,167 bytes, from llama.cpp models/).

Encoding call, exactly:
    llm = llama_cpp.Llama(model_path=VOCAB, vocab_only=True, verbose=False)
    llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
special=False means control tokens (<｜begin▁of▁sentence｜>, <｜end▁of▁sentence｜>) stay plain
text, while USER_DEFINED added tokens (ü, [PAD100020], ...) are still matched; the Swift
counterpart is `dsllm tokenize --no-parse-special`.

Every case is also decoded with llama.cpp's llama_detokenize (remove_special=False,
unparse_special=False). A "roundtrip": false field is written only for cases whose decoded
bytes differ from the input. (llm.detokenize() is not used: it decodes token by token into a
32-byte buffer and silently truncates longer pieces.)

Output: one JSON object per line, {"text": ..., "ids": [...]}, written with ensure_ascii=True
so the file is pure ASCII and no editor or tool can Unicode-normalise it (several code points
under test, e.g. U+1F7D and U+212A, are rewritten by NFC).

The case list is fully determined by this file and SEED; it deliberately does not use
`unicodedata` (its tables change with the Python version). NFC-unstable code points are
written as escapes below for the same reason as ensure_ascii.

If loading dies with "Illegal instruction", the installed llama-cpp-python was compiled with
-march=native on a CPU with instructions this one lacks (e.g. AVX-512). Rebuild it with
CMAKE_ARGS="-DGGML_NATIVE=OFF", or point LLAMA_CPP_LIB_PATH at a directory holding the same
libllama.so with a portable libggml-cpu.so (the tokenizer lives in libllama; ggml-cpu only has
to initialise).

Usage (from the repository root):
    python3 tools/golden/make_tokenizer_golden.py [--vocab PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import subprocess
import sys
from itertools import product
from pathlib import Path

SEED = 20240105  # DeepSeek LLM paper date; any fixed value works.

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_VOCAB = REPO_ROOT / ".." / "shared" / "vocab" / "ggml-vocab-deepseek-llm.gguf"
DEFAULT_OUT = REPO_ROOT / "Tests" / "DSTokenizerTests" / "Golden" / "llamacpp-deepseek-golden.jsonl"

# ---------------------------------------------------------------------------------------------
# Reference material
# ---------------------------------------------------------------------------------------------

# Character classes of pre-tokenizer patterns 2 (letters), 3 (punctuation) and 5 ("CJK") as
# inclusive code point ranges, transcribed from the escaped form in shared/docs/DEEPSEEK-LLM.md.
# Used only to place test characters on and just outside every range boundary.
LETTER_RANGES = [
    (0x41, 0x5A), (0x61, 0x7A), (0xB5, 0xB5), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA),
    (0x1BC, 0x1BF), (0x1C4, 0x293), (0x295, 0x2AF), (0x370, 0x373), (0x376, 0x377),
    (0x37B, 0x37D), (0x37F, 0x37F), (0x386, 0x386), (0x388, 0x38A), (0x38C, 0x38C),
    (0x38E, 0x3A1), (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F), (0x531, 0x556),
    (0x10A0, 0x10C5), (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF),
    (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A), (0x1E00, 0x1F15), (0x1F18, 0x1F1D),
    (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B),
    (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE),
    (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC),
    (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), (0x2102, 0x2102), (0x2107, 0x2107), (0x210A, 0x2113),
    (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124), (0x2126, 0x2126), (0x2128, 0x2128),
    (0x212A, 0x212D), (0x212F, 0x2134), (0x2139, 0x2139), (0x213C, 0x213F), (0x2145, 0x2149),
    (0x214E, 0x214E), (0x2183, 0x2184), (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE),
    (0x2CF2, 0x2CF3), (0xA640, 0xA66D), (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787),
    (0xA78B, 0xA78E), (0xAB70, 0xABBF), (0xFB00, 0xFB06), (0xFB13, 0xFB17), (0xFF21, 0xFF3A),
    (0xFF41, 0xFF5A), (0x10400, 0x1044F), (0x104B0, 0x104D3), (0x104D8, 0x104FB),
    (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x118A0, 0x118DF), (0x1E900, 0x1E943),
]
PUNCT_RANGES = [(0x21, 0x2F), (0x3A, 0x7E), (0xFF01, 0xFF0F), (0xFF1A, 0xFF5E), (0x2018, 0x201F), (0x3000, 0x3002)]
CJK_RANGES = [(0x4E00, 0x9FA5), (0x0800, 0x4E00), (0xAC00, 0xD7FF)]

# The six code points of the letter class that NFC rewrites (see DEEPSEEK-LLM.md §2.1), plus
# their neighbours inside U+1F00-1FFF and the letterlike block.
NFC_UNSTABLE = [0x1F7D, 0x1FBE, 0x1FD3, 0x1FDB, 0x2126, 0x212A]
NFC_NEIGHBOURS = [0x1F7C, 0x1F7E, 0x1F7F, 0x1FBD, 0x1FBF, 0x1FD2, 0x1FD4, 0x1FDA, 0x1FDC,
                  0x2125, 0x2127, 0x2129, 0x212B, 0x03CE, 0x0390, 0x038A, 0x03A9, 0x03B9, 0x004B]

# Whitespace-like characters where regex engines disagree (std::wregex `\s` vs Unicode
# White_Space vs Python `\s`), plus look-alikes that are not whitespace at all.
WHITESPACE = (
    [" ", "\t", "\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0",
     "\u1680", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
    + [chr(c) for c in range(0x2000, 0x200B)]
)
NOT_WHITESPACE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\x00", "\x7f", "\x9f"]

SPECIAL_LATIN1 = "øöúÿõ÷ûýÀùÁþü"  # the 13 USER_DEFINED single-character added tokens 100002-100014
BOS_TEXT = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
EOS_TEXT = "<\uff5cend\u2581of\u2581sentence\uff5c>"

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "It's a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife.",
    "I'm sure they'll say we've done it, but you'd know better; isn't that right?",
    "DON'T SHOUT, I'M RIGHT HERE. WE'LL TALK LATER, OK?",
    "Mr. Smith paid $1,234.56 on 2024-01-05 at 10:30 a.m. (that's 15% more than last year).",
    "E-mail me at someone@example.com or visit https://www.example.org/path?q=1&r=two#frag.",
    "She said, \"Well... maybe\" -- and then left -- without another word.",
    "Large language models are trained on trillions of tokens of text.",
    "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism.",
    "   Leading spaces and trailing spaces   ",
    "Tabs\tbetween\twords\tand\t\tdouble tabs.",
    "Numbers like 3.14159, 2.71828 and 1.41421 show up everywhere.",
    "The year 1969 saw 3 astronauts travel 384,400 km to the Moon.",
    "Question: what is 12 * 34 + 56 / 7 - 8? Answer: 416.",
    "Emphasis *here*, _there_, and `code` too; also [links](http://x.y).",
    "The rain in Spain stays mainly in the plain.",
    "Once upon a time, in a land far, far away, there lived a dragon who loved riddles.",
    "Our results show that the 67B model outperforms LLaMA-2 70B on code, math and reasoning.",
    "HTTP/1.1 200 OK\nContent-Type: text/html; charset=utf-8\nContent-Length: 1024",
    "Twas brillig, and the slithy toves / Did gyre and gimble in the wabe.",
    "ALL CAPS SENTENCE WITH ACRONYMS LIKE NASA, FBI, HTML5 AND GPT-4.",
    "camelCaseIdentifiers, snake_case_names, kebab-case-words, SCREAMING_SNAKE.",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    "What's up?!?! ... ;-) :-( <3 >_< ^_^",
    "The price rose from $9.99 to $19.99 (a 100.1% increase!).",
    "Section 4.2.1 (see Fig. 3b and Table 12) describes the multi-step learning rate scheduler.",
    "Yesterday I ran 10km in 52:13 -- a personal best!",
]

CODE_SNIPPETS = [
    # Python: 4-space indentation, decorators, f-strings, comments.
    'import os\nimport sys\n\n\ndef main(argv: list[str]) -> int:\n    """Print the arguments."""\n'
    '    for i, arg in enumerate(argv):\n        if arg.startswith("--"):\n            continue\n'
    '        print(f"{i:>3}: {arg!r}")  # aligned\n    return 0\n\n\nif __name__ == "__main__":\n'
    '    sys.exit(main(sys.argv[1:]))\n',
    'class Node:\n    def __init__(self, value, children=None):\n        self.value = value\n'
    '        self.children = children or []\n\n    def __repr__(self):\n'
    "        return f'Node({self.value!r}, {len(self.children)} children)'\n\n"
    '    @property\n    def depth(self) -> int:\n        return 1 + max((c.depth for c in self.children), default=0)\n',
    'x = [i ** 2 for i in range(10) if i % 2 == 0]\ny = {k: v for k, v in zip("abc", (1, 2, 3))}\n'
    'z = lambda a, *b, **c: (a, b, c)\nprint(x, y, z(1, 2, k=3), sep="\\t", end="\\n")\n',
    # C: tabs for indentation, preprocessor, pointers.
    '#include <stdio.h>\n#include <stdlib.h>\n\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n\n'
    'int main(int argc, char **argv) {\n\tint *buf = malloc(sizeof(int) * 16);\n'
    '\tif (!buf) {\n\t\tperror("malloc");\n\t\treturn 1;\n\t}\n\tfor (int i = 0; i < 16; ++i)\n'
    '\t\tbuf[i] = MAX(i, 7) << 2;\n\tprintf("%d %s\\n", buf[3], argv[0]);\n\tfree(buf);\n\treturn 0;\n}\n',
    'static inline uint32_t rotl(uint32_t x, int k) {\n    return (x << k) | (x >> (32 - k));\n}\n'
    '/* multi-line\n * comment */\nconst char *s = "tab\\there";  // trailing comment\n',
    # JSON
    '{\n  "name": "dsllm",\n  "version": "0.1.0",\n  "vocab_size": 102400,\n  "rope_theta": 10000.0,\n'
    '  "bos_token_id": 100000,\n  "eos_token_id": 100001,\n  "nested": {"a": [1, 2, 3], "b": null, "c": true},\n'
    '  "unicode": "\\u00fc\\u4e2d"\n}\n',
    '[{"id":1,"tags":["x","y"]},{"id":2,"tags":[]},{"id":3,"score":-0.5e-3}]',
    # Swift
    'import Foundation\n\nstruct Tokenizer: Sendable {\n    let vocab: [String: Int]\n\n'
    '    func encode(_ text: String) throws -> [Int] {\n        guard !text.isEmpty else { return [] }\n'
    '        return text.unicodeScalars.compactMap { vocab[String($0)] }\n    }\n}\n\n'
    'let t = Tokenizer(vocab: ["a": 1])\nprint(try t.encode("abc"), terminator: "\\n")\n',
    'extension Array where Element == Int {\n    var total: Int { reduce(0, +) }\n}\n'
    '@main enum App { static func main() async { print([1, 2, 3].total) } }\n',
    # Shell and Makefile (recipes must use tabs).
    '#!/usr/bin/env bash\nset -euo pipefail\n\nfor f in "$@"; do\n  if [[ -f "$f" ]]; then\n'
    '    wc -l "$f" | awk \'{print $1}\'\n  fi\ndone 2>/dev/null || echo "failed: $?" >&2\n'
    'export PATH="$HOME/.local/bin:$PATH"\n',
    'all: build\n\nbuild:\n\tswift build -c release\n\ttest -x .build/release/dsllm\n\n'
    'clean:\n\trm -rf .build\n\n.PHONY: all build clean\n',
    # YAML, SQL, HTML, Rust, regex-heavy.
    'name: CI\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n'
    '      - uses: actions/checkout@v4\n      - run: swift test --parallel\n',
    'SELECT u.id, COUNT(*) AS n\nFROM users u\nJOIN orders o ON o.user_id = u.id\n'
    "WHERE o.created_at >= '2024-01-01'\nGROUP BY u.id\nHAVING n > 3\nORDER BY n DESC;\n",
    '<!DOCTYPE html>\n<html lang="en">\n  <head><meta charset="utf-8"><title>Test &amp; demo</title></head>\n'
    '  <body>\n    <p class="x">Hello&nbsp;<b>world</b>!</p>\n  </body>\n</html>\n',
    'fn main() {\n    let v: Vec<u64> = (1..=10).map(|x| x * x).collect();\n'
    '    println!("{:?} {}", v, v.iter().sum::<u64>());\n}\n',
    r'pattern = r"^(?:[a-z0-9!#$%&\'*+/=?^_`{|}~-]+)@(?:[a-z0-9-]+\.)+[a-z]{2,}$"' + "\n",
]

# Natural-language samples per script. NFC-unstable code points never appear literally here.
SCRIPTS = {
    "chinese": [
        "深度求索发布了开源大语言模型。", "我们在两万亿个词元上训练了模型，包括中文和英文。",
        "今天天气很好，我们去公园散步吧！", "人工智能正在改变世界：从医疗到教育。",
        "《红楼梦》是中国古典四大名著之一。", "他说：“你好，世界。”然后笑了。",
    ],
    "japanese": [
        "こんにちは、世界！", "東京は日本の首都です。", "カタカナとひらがなと漢字を混ぜて書きます。",
        "ｶﾀｶﾅの半角もあります。", "吾輩は猫である。名前はまだ無い。",
    ],
    "korean": [
        "안녕하세요, 세계!", "한국어는 한글로 씁니다.", "대규모 언어 모델을 훈련했습니다.", "ㄱㄴㄷ ㅏㅑㅓ 자모",
    ],
    "russian": [
        "Привет, мир!", "Москва — столица России.", "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "нещо на Български", "Україна, Їжак, ґанок.",
    ],
    "greek": [
        "Γειά σου Κόσμε!", "Η γρήγορη καφέ αλεπού πηδάει πάνω από το τεμπέλικο σκυλί.",
        "\u1f08\u03bd\u03b4\u03c1\u03b1 \u03bc\u03bf\u03b9 \u1f14\u03bd\u03bd\u03b5\u03c0\u03b5, "
        "\u039c\u03bf\u1fe6\u03c3\u03b1, \u03c0\u03bf\u03bb\u03cd\u03c4\u03c1\u03bf\u03c0\u03bf\u03bd",
        "\u1f21 \u03b4\u1f72 \u03c8\u03c5\u03c7\u1f74 \u1f00\u03b8\u03ac\u03bd\u03b1\u03c4\u03bf\u03c2 \u1fe5\u03ae\u03c4\u03c9\u03c1 \u1f44\u03bc\u03bc\u03b1\u03c4\u03b1",
    ],
    "arabic": [
        "مرحبا بالعالم!", "اللغة العربية جميلة جداً.", "السَّلَامُ عَلَيْكُمْ", "في عام ٢٠٢٤ تم إصدار النموذج.",
    ],
    "hebrew": ["שלום עולם!", "עברית נכתבת מימין לשמאל.", "בְּרֵאשִׁית בָּרָא אֱלֹהִים"],
    "hindi": ["नमस्ते दुनिया!", "भारत एक विशाल देश है।", "संख्या १२३४ और 5678 दोनों।"],
    "thai": ["สวัสดีชาวโลก", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ", "ราคา ๑๒๓ บาท"],
    "other": [
        "Tiếng Việt có nhiều dấu thanh: à á ả ã ạ.", "Zażółć gęślą jaźń.", "Příliš žluťoučký kůň úpěl ďábelské ódy.",
        "Þetta er íslenska: ýmislegt, þorp, ö.", "Fußgängerübergänge in Köln.", "Ça, c'est déjà l'été à Noël!",
        "İstanbul'da ılık bir gün.", "Բարեւ աշխարհ, Հայաստան", "გამარჯობა მსოფლიო", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ",
        "ሰላም ለዓለም", "வணக்கம் உலகம்", "ওহে বিশ্ব", "សួស្តី​ពិភពលោក", "ᠮᠣᠩᠭᠣᠯ", "ꯃꯤꯇꯩ",
    ],
}

EMOJI = [
    "\U0001F600", "\U0001F44D", "\U0001F44D\U0001F3FD", "\U0001F44B\U0001F3FF",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466",
    "\U0001F9D1\U0001F3FF\u200d\U0001F4BB", "\U0001F3F3\ufe0f\u200d\U0001F308", "\U0001F3F4\u200d\u2620\ufe0f",
    "\U0001F1FA\U0001F1F8", "\U0001F1EF\U0001F1F5\U0001F1E8\U0001F1F3", "\u2764\ufe0f", "\u2764",
    "1\ufe0f\u20e3", "#\ufe0f\u20e3", "*\u20e3", "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",
    "\u263a", "\u263a\ufe0f", "\u2603\ufe0e", "\U0001F926\U0001F3FC\u200d\u2642\ufe0f", "\U0001FAE0\U0001FAE8",
    "\U0001F525\U0001F525\U0001F525", "\u00a9\ufe0f \u00ae \u2122",
]


# ---------------------------------------------------------------------------------------------
# Case generators. Each returns a list of texts; order matters only for determinism.
# ---------------------------------------------------------------------------------------------

def is_valid_scalar(cp: int) -> bool:
    """Unicode scalar value that is not a noncharacter (those are legal but never tested)."""
    if 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF or cp < 0:
        return False
    return not (0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE)


def prose_cases(rng: random.Random) -> list[str]:
    out = list(ENGLISH)
    out += [" " + s for s in ENGLISH]
    out += [s.lower() for s in ENGLISH[:10]] + [s.upper() for s in ENGLISH[10:20]]
    for _ in range(60):
        sentences = rng.sample(ENGLISH, rng.randint(2, 6))
        out.append(rng.choice([" ", "  ", "\n", "\n\n", " \n", "\t"]).join(sentences))
    # Word-level pieces: single words with and without the space that pattern 2 absorbs.
    words = sorted({w for s in ENGLISH for w in s.split()})
    out += rng.sample(words, 30)
    out += [" " + w for w in rng.sample(words, 30)]
    return out


def code_cases(rng: random.Random) -> list[str]:
    out = []
    for snippet in CODE_SNIPPETS:
        out.append(snippet)
        out.append(snippet.replace("    ", "\t"))       # tabs instead of spaces
        out.append(snippet.replace("\n", "\r\n"))       # Windows line endings
        out.append(snippet.rstrip("\n"))                 # no final newline
    lines = sorted({ln for s in CODE_SNIPPETS for ln in s.split("\n") if ln.strip()})
    out += lines
    out += [ln + "   " for ln in rng.sample(lines, 20)]  # trailing spaces, as in real diffs
    for _ in range(30):
        out.append("\n".join(rng.choice([" " * rng.randint(1, 12), "\t" * rng.randint(1, 4), ""]) + rng.choice(lines).strip()
                             for _ in range(rng.randint(2, 6))))
    return out


def script_cases(rng: random.Random) -> list[str]:
    out = []
    all_sentences = [s for ss in SCRIPTS.values() for s in ss]
    for s in all_sentences:
        out += [s, " " + s, s + " "]
        out += s.split()[:4]
    for _ in range(80):
        parts = rng.sample(all_sentences, 2) + [rng.choice(ENGLISH)]
        rng.shuffle(parts)
        out.append(rng.choice([" ", "", "\n", " - "]).join(parts))
    return out


def greek_cases(rng: random.Random) -> list[str]:
    out = []
    for cp in NFC_UNSTABLE + NFC_NEIGHBOURS:
        c = chr(cp)
        out += [c, " " + c, c + c, "a" + c + "b", " \u1f00" + c + "\u1f10", "1" + c + "!" + c]
    # The six unstable code points next to their NFC images, which must stay distinct.
    out.append(" ".join(chr(c) for c in NFC_UNSTABLE))
    out.append("".join(chr(c) for c in NFC_UNSTABLE))
    out.append("\u1f7d\u03ce \u1fbe\u03b9 \u1fd3\u0390 \u1fdb\u038a \u2126\u03a9 \u212aK")
    out.append("Temperature 300 \u212a, resistance 50 \u2126.")
    block = [cp for cp in range(0x1F00, 0x2000)]
    for start in range(0x1F00, 0x2000, 16):         # the whole Greek Extended block, in rows
        out.append("".join(chr(c) for c in range(start, start + 16)))
    for _ in range(60):
        n = rng.randint(1, 12)
        word = "".join(chr(rng.choice(block)) for _ in range(n))
        out.append(rng.choice(["", " ", "\u03b1", "x"]) + word + rng.choice(["", " ", ".", "1"]))
    return out


def emoji_cases(rng: random.Random) -> list[str]:
    out = list(EMOJI)
    out += [" " + e for e in EMOJI] + ["a" + e + "b" for e in EMOJI]
    out.append("".join(EMOJI))
    out.append(" ".join(EMOJI))
    for _ in range(30):
        out.append(rng.choice(ENGLISH)[: rng.randint(5, 40)] + rng.choice(["", " "]) + "".join(rng.sample(EMOJI, rng.randint(1, 4))))
    return out


def fullwidth_cases(rng: random.Random) -> list[str]:
    out = []
    fw = [chr(c) for c in range(0xFF01, 0xFF5F)]
    for i in range(0, len(fw), 6):
        out.append("".join(fw[i:i + 6]))
    out += [" " + c for c in fw[::3]] + ["a" + c + "1" for c in fw[1::3]]
    out += ["\uff21\uff22\uff23 \uff44\uff45\uff46", "\uff08\u6d4b\u8bd5\uff09", "\uff11\uff12\uff13\uff14",
            "\u5168\u89d2\uff1a\uff21\uff49\uff0c\uff11\uff10\uff10\uff05\uff01", "\uff5c\uff5c\uff5c", "\uff5e\uff5e",
            "\uff61\uff62\uff63\uff64\uff65\uff66\uff9d\uff9e\uff9f", "\uffe0\uffe1\uffe2\uffe3\uffe4\uffe5\uffe6",
            "\u3000\u3001\u3002\u300c\u300d", "\u3002\u3002\u3002", "\uff01\uff01 !!", "\u2018quoted\u2019 \u201cdouble\u201d \u201f\u201e"]
    for _ in range(20):
        out.append("".join(rng.choice(fw + [" ", "a", "\u4e2d"]) for _ in range(rng.randint(2, 10))))
    return out


def whitespace_cases(rng: random.Random) -> list[str]:
    out = []
    # Each template probes one rule: `\s?` before letters/punctuation, `\s+$` at the end,
    # whitespace between categories, and runs that BPE may merge.
    templates = ["{w}", "{w}{w}{w}", "a{w}b", "a{w}{w}b", "{w}a", "a{w}", " {w}a", "{w} a", "a {w} b",
                 "1{w}2", "!{w}?", "\u4e2d{w}\u6587", "a{w}\nb", "{w}  a"]
    for w in WHITESPACE + NOT_WHITESPACE:
        out += [t.format(w=w) for t in templates]
    small = [" ", "\t", "\n", "\r", "\xa0", "\u3000", "\u2009", "\x85", "\v"]
    for w1, w2 in product(small, repeat=2):
        out.append("a" + w1 + w2 + "b")
    pool = WHITESPACE + [" "] * 10 + ["\t"] * 3
    for _ in range(60):
        run = "".join(rng.choice(pool) for _ in range(rng.randint(1, 8)))
        left, right = rng.choice(["", "a", "word", "1", "!", "\u4e2d"]), rng.choice(["", "b", "Word", "2", "?", "\u6587"])
        out.append(left + run + right)
    # Long pure-space and pure-tab runs, where BPE merges many spaces at once.
    out += [" " * n for n in (4, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100)]
    out += ["\t" * n for n in (2, 3, 4, 8, 16)]
    out += ["x" + " " * n + "y" for n in (2, 3, 5, 8, 16, 40)]
    return out


def newline_cases(rng: random.Random) -> list[str]:
    out = ["\r", "\r\n", "\n\r", "\r\r", "\n\n", "\r\n\r\n", "\r\r\n", "\n\r\n", "a\r\nb", "a\rb", "a\n\rb",
           "a \r\n b", "a  \r\n  b", "line1\r\nline2\r\n", "line1\rline2\r", "trailing   \r\n", "\r\n   leading",
           " \r", "\r ", "\t\r\n\t", "1\r2\n3", "\u4e2d\r\n\u6587", "!\r?", "\r\n" * 5, "\r" * 5, "\n" * 7,
           "a\n\n\nb", "a \n b", "a\t\nb", "end\n", "\nstart"]
    for _ in range(40):
        out.append("".join(rng.choice(["a", "bc", " ", "  ", "\t", "\r", "\n", "\r\n", "1", ".", "\u00e9"])
                           for _ in range(rng.randint(3, 12))))
    return out


DIGIT_SETS = {
    "ascii": "0123456789",
    "arabic_indic": "".join(chr(c) for c in range(0x0660, 0x066A)),
    "ext_arabic_indic": "".join(chr(c) for c in range(0x06F0, 0x06FA)),
    "devanagari": "".join(chr(c) for c in range(0x0966, 0x0970)),
    "bengali": "".join(chr(c) for c in range(0x09E6, 0x09F0)),
    "thai": "".join(chr(c) for c in range(0x0E50, 0x0E5A)),
    "tibetan": "".join(chr(c) for c in range(0x0F20, 0x0F2A)),
    "khmer": "".join(chr(c) for c in range(0x17E0, 0x17EA)),
    "fullwidth": "".join(chr(c) for c in range(0xFF10, 0xFF1A)),
    "math_bold": "".join(chr(c) for c in range(0x1D7CE, 0x1D7D8)),
    "math_monospace": "".join(chr(c) for c in range(0x1D7F6, 0x1D800)),
    "superscript": "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079",
    "subscript": "".join(chr(c) for c in range(0x2080, 0x208A)),
    "fractions": "\u00bd\u00bc\u00be\u2153\u2154\u2155\u2159\u215b\u215f\u2189",
    "roman": "".join(chr(c) for c in range(0x2160, 0x2189)),
    "circled": "".join(chr(c) for c in range(0x2460, 0x2474)),
    "other_n": "\u3007\u3021\u3022\u3038\U00010107\U00010108\U0001D360\U0001F100\U0001F101\u16ee\u2cfd",
    "cjk_numerals": "\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341\u767e\u5343\u4e07",
}


def number_cases(rng: random.Random) -> list[str]:
    out = [str(i) for i in range(0, 21)]
    out += ["123456789", "3.14159", "-42", "+7", "1,234,567.89", "1e-10", "6.02e23", "0x1F", "0b1010", "2024-01-05",
            "12:30:45", "v1.2.3", "$100", "100%", "1st 2nd 3rd 4th", "a1b2c3", "x86_64", "ied 4 \u00bd months",
            "333", " 333", "  333", "1 000 000", "1\u00a0000", "1\u202f000", "\u00bd\u00bd", "4\u00bd", "10\u00b2", "H\u2082O",
            "\u2160\u2161\u2162 \u216b", "COVID-19", "4K 1080p 60fps", "(555) 123-4567", "3+4=7", "50 km/h"]
    for name, digits in DIGIT_SETS.items():
        out.append(digits)
        out.append(" " + digits)
        for _ in range(6):
            s = "".join(rng.choice(digits) for _ in range(rng.randint(1, 7)))
            out.append(rng.choice(["", " ", "a", "x ", "\u4e2d", "#"]) + s + rng.choice(["", " ", "b", ".", "5", "\u6587"]))
        out.append(digits[:3] + "0123" + digits[3:6])
    return out


def math_alnum_cases(rng: random.Random) -> list[str]:
    block = list(range(0x1D400, 0x1D800))   # includes unassigned holes such as U+1D455
    out = []
    for start in range(0x1D400, 0x1D800, 64):
        out.append("".join(chr(c) for c in range(start, start + 64, 3)))
    for _ in range(40):
        word = "".join(chr(rng.choice(block)) for _ in range(rng.randint(1, 10)))
        out.append(rng.choice(["", " ", "x", "1"]) + word + rng.choice(["", " ", "y", "2", " z"]))
    out += ["\U0001D400\U0001D401\U0001D402 = \U0001D44E\U0001D44F", "\U0001D6FC + \U0001D6FD = \U0001D6FE",
            "\U0001D538\U0001D539 \u2102 \u211d \u2124"]
    return out


def latin1_cases(rng: random.Random) -> list[str]:
    out = []
    templates = ["{c}", "{c}{c}", "a{c}b", " {c}", "{c} ", "1{c}2", "[{c}]", " {c}{c}x", "\u4e2d{c}", "e\u0301{c}"]
    for c in SPECIAL_LATIN1:
        out += [t.format(c=c) for t in templates]
    out += ["F\u00fchrer", "f\u00fcr", "M\u00fcller", "K\u00f6ln", "s\u00f8ster", "\u00c6r\u00f8sk\u00f8bing",
            "\u00feorn", "\u00de\u00f3r", "\u00ffes", "\u00f5un", "\u00c0ngel", "\u00c1ngel", "3\u00f74",
            "\u00fa\u00fe", "\u00f9\u00fa", "\u00f8\u0308", "u\u0308ber", "\u00dcber", "\u00fcber", "Gr\u00fc\u00dfe",
            "Bj\u00f6rk Gu\u00f0mundsd\u00f3ttir", "Fran\u00e7ois Dupr\u00e9", "cr\u00e8me br\u00fbl\u00e9e",
            "\u00dcberm\u00e4\u00dfig gro\u00dfe \u00d6ffnungszeiten", "na\u00efve co\u00f6perate",
            "\u00ff\u00fe\u00fd\u00fc\u00fb\u00fa\u00f9\u00f8\u00f7\u00f6\u00f5", "\u00c0\u00c1\u00c2\u00c3"]
    latin1 = [chr(c) for c in range(0xA1, 0x100) if c != 0xAD] + ["\xad"]
    out += ["a" + c + "b" for c in latin1]
    out += [" " + "".join(latin1[i:i + 8]) for i in range(0, len(latin1), 8)]
    for _ in range(25):
        word = "".join(rng.choice(latin1 + list("aeiouxyz") + list(SPECIAL_LATIN1) * 2) for _ in range(rng.randint(2, 9)))
        out.append(rng.choice(["", " "]) + word)
    return out


def combining_cases(rng: random.Random) -> list[str]:
    marks = [chr(c) for c in range(0x0300, 0x0370)] + ["\u20dd", "\u20e3", "\u1ab0", "\u1dc0", "\ufe20", "\u0489"]
    out = ["e\u0301", "cafe\u0301", "a\u0300\u0301\u0302", " \u0301", "\u0301abc", "1\u20e3", "\u4e2d\u0301",
           "n\u0303o", "Vie\u0323\u0302t", "\u05e9\u05c1\u05b8", "\u0628\u0650\u0633\u0652",
           "\u0915\u093f\u0924\u093e\u092c", "o\u0308\u0301", "\u00e9 vs e\u0301", "Z\u0351\u036b\u0343\u036a\u0302a\u0310l\u0346g\u0300o"]
    for _ in range(60):
        base = rng.choice("aeiouAEIOU xz1\u03b1\u0430\u4e2d!")
        out.append(base + "".join(rng.choice(marks) for _ in range(rng.randint(1, 4))) + rng.choice(["", "b", " c"]))
    return out


def special_token_cases(rng: random.Random) -> list[str]:
    out = ["[PAD100020]", EOS_TEXT, BOS_TEXT, "Hello[PAD100020]world", " [PAD100020] ", "[PAD100020][PAD100021]",
           "[[PAD100020]]", "[PAD1000200]", "[PAD100014]", "[PAD100015]", "[PAD102399]", "[PAD102400]", "[pad100020]",
           "[PAD100020", "PAD100020]", EOS_TEXT + "Hello", "Hello" + EOS_TEXT, " " + EOS_TEXT + " ",
           EOS_TEXT + BOS_TEXT, BOS_TEXT + "User: hi\n\nAssistant:", "</s>", "<s>", "<|endoftext|>",
           "<\uff5cend\u2581of\u2581sentence\uff5c", "\u00fc[PAD100020]\u00fc", "[\u00fc]", "[PAD100020]\n[PAD100021]",
           "x[PAD100999]y[PAD101000]z", EOS_TEXT + "[PAD100020]" + EOS_TEXT]
    for _ in range(60):
        pad = f"[PAD{rng.randint(100015, 102399)}]"
        sentence = rng.choice(ENGLISH)
        cut = rng.randint(0, len(sentence))
        out.append(sentence[:cut] + rng.choice([pad, pad * 2, " " + pad, EOS_TEXT, "\u00fc", pad + "\u00f6"]) + sentence[cut:])
    return out


def boundary_cases() -> list[str]:
    """Every range edge of the three hand-written classes, inside and just outside."""
    cps = set()
    for lo, hi in LETTER_RANGES + PUNCT_RANGES + CJK_RANGES:
        cps.update((lo - 1, lo, hi, hi + 1))
    out = []
    for cp in sorted(c for c in cps if is_valid_scalar(c) and c > 0x20):
        c = chr(cp)
        # One compound text per code point: alone, doubled, after a space, glued to a letter,
        # a CJK character, a digit and punctuation, and before a newline.
        out.append(f"{c} {c}{c}a{c}b \u4e2d{c}1{c}!{c}\n{c}")
    return out


# Blocks sampled for random code point strings: BMP scripts and symbols plus supplementary
# planes (historic scripts, math, emoji, CJK extensions, tags, private use).
RANDOM_BLOCKS = [
    (0x0020, 0x007E), (0x00A0, 0x00FF), (0x0100, 0x024F), (0x0250, 0x02FF), (0x0300, 0x036F), (0x0370, 0x03FF),
    (0x0400, 0x052F), (0x0530, 0x058F), (0x0590, 0x05FF), (0x0600, 0x06FF), (0x0700, 0x074F), (0x0780, 0x07BF),
    (0x0900, 0x097F), (0x0980, 0x09FF), (0x0B80, 0x0BFF), (0x0E00, 0x0E7F), (0x0E80, 0x0EFF), (0x0F00, 0x0FFF),
    (0x1000, 0x109F), (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1200, 0x137F), (0x13A0, 0x13FF), (0x1400, 0x167F),
    (0x1680, 0x169F), (0x1780, 0x17FF), (0x1800, 0x18AF), (0x1C80, 0x1CBF), (0x1D00, 0x1DBF), (0x1E00, 0x1EFF),
    (0x1F00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2150, 0x218F),
    (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2500, 0x257F), (0x2600, 0x26FF), (0x2C00, 0x2CFF), (0x2E80, 0x2EFF),
    (0x3000, 0x303F), (0x3040, 0x309F), (0x30A0, 0x30FF), (0x3100, 0x312F), (0x3130, 0x318F), (0x3400, 0x4DBF),
    (0x4DC0, 0x4DFF), (0x4E00, 0x9FFF), (0xA000, 0xA48F), (0xA640, 0xA69F), (0xA720, 0xA7FF), (0xAB70, 0xABBF),
    (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF), (0xE000, 0xF8FF), (0xF900, 0xFAFF), (0xFB00, 0xFB4F), (0xFB50, 0xFDFF),
    (0xFE00, 0xFE0F), (0xFE30, 0xFE4F), (0xFE50, 0xFE6F), (0xFF00, 0xFFEF), (0xFFF0, 0xFFFD),
    (0x10000, 0x1007F), (0x10300, 0x1034F), (0x10400, 0x1044F), (0x104B0, 0x104FF), (0x10C80, 0x10CFF),
    (0x118A0, 0x118FF), (0x1D100, 0x1D1FF), (0x1D400, 0x1D7FF), (0x1E900, 0x1E95F), (0x1F000, 0x1F0FF),
    (0x1F100, 0x1F1FF), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F900, 0x1F9FF),
    (0x1FA70, 0x1FAFF), (0x20000, 0x2A6DF), (0x2F800, 0x2FA1F), (0x30000, 0x3134F), (0xE0000, 0xE007F),
    (0xE0100, 0xE01EF), (0xF0000, 0xF00FF), (0x10FF00, 0x10FFFD),
]


def random_codepoint_text(rng: random.Random, n_blocks: int, length: int) -> str:
    blocks = rng.sample(RANDOM_BLOCKS, n_blocks)
    chars = []
    while len(chars) < length:
        lo, hi = rng.choice(blocks)
        cp = rng.randint(lo, hi)
        if is_valid_scalar(cp):
            chars.append(chr(cp))
        if rng.random() < 0.15:
            chars.append(" ")
    return "".join(chars)


def random_codepoint_cases(rng: random.Random) -> list[str]:
    return [random_codepoint_text(rng, rng.randint(1, 3), rng.randint(1, 24)) for _ in range(250)]


def mix_cases(rng: random.Random, pool: list[str], n: int = 250) -> list[str]:
    short = [t for t in pool if len(t) <= 80]
    separators = ["", " ", "  ", "\n", "\t", ", ", " \n", "\r\n"] + WHITESPACE
    out = []
    for _ in range(n):
        parts = rng.sample(short, rng.randint(2, 6))
        text = parts[0]
        for p in parts[1:]:
            text += rng.choice(separators) + p
        out.append(text)
    return out


def long_cases(rng: random.Random, pool: list[str]) -> list[str]:
    def grow(pick, target: int, sep) -> str:
        text = ""
        while len(text) < target:
            text += pick() + sep()
        return text

    def all_script_sentences():
        return [s for ss in SCRIPTS.values() for s in ss]

    return [
        grow(lambda: rng.choice(ENGLISH), 4000, lambda: rng.choice([" ", " ", "\n\n"])),
        grow(lambda: rng.choice(CODE_SNIPPETS), 8000, lambda: "\n\n"),
        grow(lambda: rng.choice(SCRIPTS["chinese"] + SCRIPTS["japanese"]), 2500, lambda: rng.choice(["", "\n"])),
        grow(lambda: rng.choice(all_script_sentences() + ENGLISH), 6000, lambda: rng.choice([" ", "\n"])),
        grow(lambda: rng.choice(pool), 10000, lambda: rng.choice(["", " ", "\n", "\r\n"] + WHITESPACE)),
        grow(lambda: random_codepoint_text(rng, 2, 30), 3000, lambda: rng.choice([" ", "\n"])),
    ]


def build_cases() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    groups = [
        ("prose", prose_cases(rng)), ("code", code_cases(rng)), ("scripts", script_cases(rng)),
        ("greek", greek_cases(rng)), ("emoji", emoji_cases(rng)), ("fullwidth", fullwidth_cases(rng)),
        ("whitespace", whitespace_cases(rng)), ("newlines", newline_cases(rng)), ("numbers", number_cases(rng)),
        ("math", math_alnum_cases(rng)), ("latin1", latin1_cases(rng)), ("combining", combining_cases(rng)),
        ("special", special_token_cases(rng)), ("boundaries", boundary_cases()),
        ("random", random_codepoint_cases(rng)),
    ]
    pool = [t for _, texts in groups for t in texts]
    groups.append(("mixed", mix_cases(rng, pool)))
    groups.append(("long", long_cases(rng, pool)))
    groups.insert(0, ("empty", [""]))

    seen, cases = set(), []
    for name, texts in groups:
        for text in texts:
            if text not in seen:
                seen.add(text)
                cases.append((name, text))
    return cases


# ---------------------------------------------------------------------------------------------
# llama.cpp
# ---------------------------------------------------------------------------------------------

def check_llama_cpp_loads(vocab: Path) -> None:
    """Fail with an explanation instead of dying from SIGILL inside ggml-cpu's initialisation."""
    probe = ("import llama_cpp; llama_cpp.Llama(model_path=%r, vocab_only=True, verbose=False)" % str(vocab))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True)
    if result.returncode != 0:
        hint = ""
        if result.returncode == -4:  # SIGILL
            hint = ("\nllama-cpp-python was built for another CPU (Illegal instruction); rebuild it with "
                    "CMAKE_ARGS=-DGGML_NATIVE=OFF or set LLAMA_CPP_LIB_PATH (see this file's header).")
        sys.exit(f"error: llama_cpp cannot load {vocab} (exit {result.returncode}).{hint}\n"
                 + result.stderr.decode(errors="replace")[-2000:])


def detokenize(llama_cpp, vocab_ptr, ids: list[int]) -> bytes:
    """llama.cpp's whole-sequence detokenizer; retried with the size it asks for."""
    arr = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
    size = max(64, 8 * len(ids))
    while True:
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_detokenize(vocab_ptr, arr, len(ids), buf, size, False, False)
        if n >= 0:
            return buf.raw[:n]
        size = -n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab", type=Path, default=DEFAULT_VOCAB, help="vocab-only GGUF (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSONL output (default: %(default)s)")
    args = parser.parse_args()

    check_llama_cpp_loads(args.vocab)
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(args.vocab), vocab_only=True, verbose=False)
    vocab_ptr = llm._model.vocab

    cases = build_cases()
    per_group: dict[str, int] = {}
    failures: list[tuple[str, str]] = []
    n_ids = 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="ascii", newline="\n") as f:
        for group, text in cases:
            data = text.encode("utf-8")
            ids = llm.tokenize(data, add_bos=False, special=False)
            record = {"text": text, "ids": ids}
            if detokenize(llama_cpp, vocab_ptr, ids) != data:
                record["roundtrip"] = False
                failures.append((group, text))
            f.write(json.dumps(record, ensure_ascii=True) + "\n")
            per_group[group] = per_group.get(group, 0) + 1
            n_ids += len(ids)

    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    print(f"llama-cpp-python {llama_cpp.__version__}, vocab {args.vocab} ({os.path.getsize(args.vocab):,} bytes)")
    print(f"{len(cases)} cases, {n_ids:,} ids, {sum(len(t) for _, t in cases):,} code points")
    print("per group: " + ", ".join(f"{g} {n}" for g, n in per_group.items()))
    print(f"llama.cpp detokenize round-trip failures: {len(failures)}")
    for group, text in failures[:10]:
        print(f"  [{group}] {text[:60]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
