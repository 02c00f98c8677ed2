#!/usr/bin/env python3
"""Write a deterministic mixed-language UTF-8 corpus for the tokenizer benchmark.

Nothing is downloaded. The mix, by bytes, is roughly: source code 35% (this Python's own
standard library .py files, taken in sorted-name order), English prose 22%, Chinese 9%,
Japanese 6%, Russian 7%, Greek 4%, Arabic 4%, Hindi 4%, emoji-laden posts 3%, numeric
tables/JSON 5%, other Latin-script languages 1%. Prose comes from small word lists and
sentence templates driven by a seeded RNG: not literature, but realistic word lengths,
punctuation and script mixing for a byte-level BPE.

The corpus is byte-identical across runs on the same Python installation (the code slice
depends on the stdlib version). It avoids the rare whitespace characters on which HF
tokenizers' regex engine and llama.cpp's std::wregex disagree (U+00A0, U+0085, U+1680,
U+2000-200A, U+2028/2029, U+202F, U+205F, U+3000, and \\v \\f U+001C-001F), so all benchmarked
tokenizers are expected to produce identical ids.

Usage: python3 bench/tokenizer/make_corpus.py OUT [--mb 12] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

# Characters on which the benchmarked regex engines disagree; replaced by a plain space.
EXOTIC_WHITESPACE = set("\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)}
EXOTIC_TABLE = {ord(c): " " for c in EXOTIC_WHITESPACE}

EN = {
    "noun": "model data system result method paper team language network token memory model city river "
            "student teacher computer problem question answer library function value number table chart "
            "experiment dataset benchmark sentence word story history market company government report "
            "morning evening window garden kitchen journey machine engine bridge mountain village".split(),
    "verb": "improves describes changes reaches builds trains measures explains follows creates reduces "
            "supports predicts produces requires considers reveals compares evaluates shapes carries".split(),
    "adj": "large small quick careful new old open efficient robust simple complex bright quiet modern "
           "ancient strong weak early late important curious final several different common".split(),
    "adv": "quickly carefully rarely often usually slowly clearly finally almost nearly quietly".split(),
    "name": "Alice Bob Carol David Emma Frank Grace Henry Irene James Karen Liam Maria Noah Olivia".split(),
    "place": "London Paris Beijing Tokyo Berlin Cairo Mumbai Moscow Athens Toronto Sydney Lagos".split(),
}
EN_TEMPLATES = [
    "The {adj} {noun} {verb} the {noun}.",
    "{name} {adv} {verb} a {adj} {noun} in {place}.",
    "In {year}, the {noun} in {place} {verb} every {noun} it could find.",
    "Why does the {noun} {adv} look so {adj}?",
    "\"It's {adj},\" said {name}, \"but the {noun} isn't ready yet.\"",
    "Our {noun} {verb} {num}% of the {adj} {noun}s, while the {noun} {verb} the rest.",
    "{name} and {name} met in {place}; they didn't expect the {noun} to be {adj}.",
    "See section {num}.{num} for details on how the {noun} {verb} the {noun} (Table {num}).",
    "A {adj} {noun}, a {adj} {noun}, and a {adj} {noun} -- that's all we need.",
    "We'll {adv} revisit the {noun} once the {noun} is {adj}!",
]

ZH_WORDS = ("我们 模型 语言 数据 训练 研究 方法 结果 问题 系统 时间 世界 中国 北京 上海 学生 老师 学习 工作 生活 "
            "经济 发展 社会 文化 历史 科学 技术 网络 计算机 人工智能 开源 大规模 实验 评估 能力 提高 使用 进行 "
            "通过 已经 非常 重要 可以 需要 因为 所以 但是 如果 今天 明天 朋友 城市 公司 市场 政府 国家 人民 "
            "音乐 电影 书籍 故事 美丽 安静 快速 简单 复杂 数学 代码 推理 知识 理解 生成 文本 词元 参数").split()
JA_NOUNS = "日本 東京 学生 先生 言語 モデル データ 研究 結果 問題 時間 世界 会社 電車 天気 料理 音楽 映画 本 友達 コンピュータ".split()
JA_VERBS = "使います 学びます 作りました 見ました 書きます 読みました 考えます 始めました 終わりました 話します".split()
JA_TEMPLATES = ["{n}は{n}の{n}を{v}。", "{n}で{n}を{v}。", "昨日、{n}と{n}について{v}。", "{n}が{n}より大きいです。",
                "この{n}はとても面白いですね！", "「{n}」という{n}を{v}。"]
RU_WORDS = ("модель данные язык система результат метод город река студент учитель компьютер вопрос ответ "
            "работа время мир страна человек жизнь день год рука дело история наука развитие общество "
            "большой маленький новый старый важный быстрый простой сложный хороший красивый "
            "делает говорит знает видит читает пишет строит изучает находит помогает и в на с по для не что это как").split()
EL_WORDS = ("το η ο και σε με για από μοντέλο γλώσσα δεδομένα σύστημα αποτέλεσμα μέθοδος πόλη ποτάμι "
            "μαθητής δάσκαλος υπολογιστής ερώτηση απάντηση εργασία χρόνος κόσμος χώρα άνθρωπος ζωή ημέρα "
            "μεγάλος μικρός νέος παλιός σημαντικός γρήγορος απλός κάνει λέει ξέρει βλέπει διαβάζει γράφει").split()
AR_WORDS = ("في من إلى على عن مع هذا هذه التي الذي نموذج لغة بيانات نظام نتيجة طريقة مدينة نهر طالب "
            "معلم حاسوب سؤال جواب عمل وقت عالم بلد إنسان حياة يوم سنة كبير صغير جديد قديم مهم سريع بسيط "
            "يكتب يقرأ يعرف يرى يدرس يبني يساعد العربية القاهرة الرياض").split()
HI_WORDS = ("और में से को का की के है हैं था थे यह वह मॉडल भाषा डेटा प्रणाली परिणाम तरीका शहर नदी छात्र "
            "शिक्षक कंप्यूटर प्रश्न उत्तर काम समय दुनिया देश मनुष्य जीवन दिन साल बड़ा छोटा नया पुराना "
            "महत्वपूर्ण तेज़ सरल लिखता पढ़ता जानता देखता सीखता बनाता मदद भारत दिल्ली मुंबई").split()
LATIN_OTHER = ("Über die Brücke gehen wir früh; schöne Grüße aus München. Ça va très bien, merci ! "
               "¿Dónde está la biblioteca? Mañana será otro día. Ærøskøbing ligger på Ærø. "
               "Zażółć gęślą jaźń. Příliš žluťoučký kůň.").split(". ")
EMOJI = ["😀", "😂", "🥲", "😍", "🤔", "👍", "👍🏽", "👋🏿", "🙏", "🔥", "✨", "🎉", "❤️", "💯", "🚀", "🌍",
         "👨‍👩‍👧‍👦", "🧑🏿‍💻", "🏳️‍🌈", "🇯🇵", "🇧🇷", "🇺🇸", "☕", "🍕", "🐍", "🤖", "📈", "✅", "❌"]


def words_sentence(rng: random.Random, words: list[str], lo: int, hi: int, sep: str, end: str) -> str:
    return sep.join(rng.choice(words) for _ in range(rng.randint(lo, hi))) + end


def english(rng: random.Random) -> str:
    def sentence() -> str:
        t = rng.choice(EN_TEMPLATES)
        out = []
        for part in t.split("{"):
            if "}" in part:
                slot, rest = part.split("}", 1)
                value = (str(rng.randint(1990, 2024)) if slot == "year" else
                         str(rng.randint(1, 99)) if slot == "num" else rng.choice(EN[slot]))
                out.append(value + rest)
            else:
                out.append(part)
        return "".join(out)
    return "\n\n".join(" ".join(sentence() for _ in range(rng.randint(3, 8))) for _ in range(rng.randint(2, 6)))


def chinese(rng: random.Random) -> str:
    def sentence() -> str:
        clauses = [words_sentence(rng, ZH_WORDS, 2, 6, "", "") for _ in range(rng.randint(1, 3))]
        return "，".join(clauses) + rng.choice("。。。！？")
    return "\n".join("".join(sentence() for _ in range(rng.randint(3, 8))) for _ in range(rng.randint(2, 6)))


def japanese(rng: random.Random) -> str:
    def sentence() -> str:
        t = rng.choice(JA_TEMPLATES)
        while "{n}" in t:
            t = t.replace("{n}", rng.choice(JA_NOUNS), 1)
        return t.replace("{v}", rng.choice(JA_VERBS))
    return "\n".join("".join(sentence() for _ in range(rng.randint(3, 8))) for _ in range(rng.randint(2, 6)))


def spaced_language(words: list[str], end: str):
    def make(rng: random.Random) -> str:
        def sentence() -> str:
            s = words_sentence(rng, words, 5, 14, " ", rng.choice([end, end, end, "?", "!"]))
            if rng.random() < 0.3:  # commas, as real prose has
                parts = s.split(" ")
                i = rng.randrange(1, len(parts))
                parts[i - 1] += ","
                s = " ".join(parts)
            return s[0].upper() + s[1:]
        return "\n\n".join(" ".join(sentence() for _ in range(rng.randint(3, 7))) for _ in range(rng.randint(2, 5)))
    return make


def emoji_posts(rng: random.Random) -> str:
    posts = []
    for _ in range(rng.randint(5, 15)):
        text = english(rng).split("\n\n")[0][: rng.randint(40, 200)]
        tags = " ".join("#" + rng.choice(EN["noun"]) for _ in range(rng.randint(0, 3)))
        posts.append(f"@{rng.choice(EN['name']).lower()}{rng.randint(1, 999)}: {text} "
                     + "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 5))) + (" " + tags if tags else ""))
    return "\n".join(posts)


def numeric(rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:  # CSV
        rows = ["date,ticker,open,close,volume,change_pct"]
        for _ in range(rng.randint(20, 80)):
            o = rng.uniform(10, 500)
            rows.append(f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.choice(['ACME', 'INIT', 'DSK', 'XYZ'])},"
                        f"{o:.2f},{o * rng.uniform(0.9, 1.1):.2f},{rng.randint(1000, 9_999_999)},{rng.uniform(-5, 5):+.2f}")
        return "\n".join(rows)
    if kind == 1:  # JSON records
        return json.dumps([{"id": rng.randint(1, 10**6), "score": round(rng.random(), 4), "tags": rng.sample(EN["adj"], 2),
                            "pos": [round(rng.uniform(-90, 90), 5), round(rng.uniform(-180, 180), 5)]}
                           for _ in range(rng.randint(5, 25))], indent=2, ensure_ascii=False)
    lines = []  # arithmetic and measurements
    for _ in range(rng.randint(10, 40)):
        a, b = rng.randint(0, 10**6), rng.randint(1, 999)
        lines.append(rng.choice([f"{a} + {b} = {a + b}", f"{a} / {b} = {a / b:.6f}", f"x = {rng.uniform(-1e3, 1e3):.3e}",
                                 f"Order #{a}: {b} items at ${rng.uniform(1, 99):.2f} each",
                                 f"Call +1 ({rng.randint(200, 999)}) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                                 f"v{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 999)} released {rng.randint(1, 28)}/{rng.randint(1, 12)}/2024"]))
    return "\n".join(lines)


def latin_other(rng: random.Random) -> str:
    return " ".join(rng.choice(LATIN_OTHER) + "." for _ in range(rng.randint(3, 10)))


def stdlib_sources() -> list[Path]:
    """Top-level stdlib modules, sorted so the choice is deterministic for a given Python."""
    root = Path(os.path.dirname(os.__file__))
    return sorted(p for p in root.glob("*.py") if p.is_file())


def code_documents():
    """Yield stdlib files (at most 40 KB each, cut at a newline), cycling forever."""
    files = stdlib_sources()
    if not files:
        sys.exit("error: no stdlib .py files found next to os.py")
    while True:
        for path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if len(text) > 40_000:
                text = text[: text.rfind("\n", 0, 40_000) + 1]
            yield text


def generate(total_bytes: int, seed: int) -> str:
    rng = random.Random(seed)
    code = code_documents()
    kinds = [  # (generator, weight by bytes)
        (lambda r: next(code), 35), (english, 22), (chinese, 9), (japanese, 6),
        (spaced_language(RU_WORDS, "."), 7), (spaced_language(EL_WORDS, "."), 4),
        (spaced_language(AR_WORDS, "."), 4), (spaced_language(HI_WORDS, "।"), 4),
        (emoji_posts, 3), (numeric, 5), (latin_other, 1),
    ]
    produced = [0] * len(kinds)
    weights = [w for _, w in kinds]
    parts, size = [], 0
    while size < total_bytes:
        # Pick the kind furthest below its share: keeps the mix on target at any size.
        i = min(range(len(kinds)), key=lambda k: (produced[k] + 1) / weights[k])
        doc = kinds[i][0](rng).translate(EXOTIC_TABLE)
        n = len(doc.encode("utf-8")) + 2
        parts.append(doc)
        produced[i] += n
        size += n
    return "\n\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=float, default=12.0, help="minimum size in MB (10^6 bytes; default 12)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    text = generate(int(args.mb * 1_000_000), args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(text.encode("utf-8"))
    print(f"wrote {args.out}: {args.out.stat().st_size:,} bytes, {len(text):,} code points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
