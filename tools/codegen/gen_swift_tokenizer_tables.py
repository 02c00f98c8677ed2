#!/usr/bin/env python3
"""Writes Sources/DSData/WordTokenizerTables.swift from tools/codegen/datatrove_text_tables.json: the data the Swift port of
spaCy 3.8.18's English tokenizer (+ sentencizer) needs, as used by datatrove 0.10.1's word_tokenize and
split_into_sentences (see tools/codegen/spacy_en_tokenizer_port.py, which the Swift code follows step by step).

The prefix / suffix / infix regexes are alternations of literals, character classes and one-character look-arounds.
This script takes them apart, checks that every alternative has one of the shapes the hand-written Swift matchers
(Sources/DSData/WordTokenizer.swift, and WordTokenizerURL.swift for url_match) implement (it fails loudly
otherwise), and emits:
  * every character class as code-point ranges, computed by running Python `re` (and str.isspace / str.isalpha /
    unicodedata) over all code points, so the Swift side has Python's exact Unicode semantics (Python 3.11 =
    Unicode 14);
  * the literal lists (multi-character prefixes / suffixes, the digit-look-behind currency and unit suffixes, the
    hyphen infixes);
  * the 1347 special cases (key -> tokens) and the phrase-matcher patterns (the tokenization, without special
    cases, of the 366 keys that contain an affix or a space), computed with tools/codegen/spacy_en_tokenizer_port.py.

Usage: python3 tools/codegen/gen_swift_tokenizer_tables.py
"""
import json
import os
import re
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from spacy_en_tokenizer_port import Tokenizer  # noqa: E402

TABLES = os.path.join(ROOT, "tools", "datatrove_text_tables.json")
OUT = os.path.join(ROOT, "Sources", "DSData", "WordTokenizerTables.swift")

# The character classes are Python's Unicode semantics; datatrove's golden data was made with Python 3.11.
assert unicodedata.unidata_version == "14.0.0", f"run with Python 3.11 (Unicode 14), not {unicodedata.unidata_version}"

t = json.load(open(TABLES, encoding="utf-8"))
sp = t["spacy_en"]
assert sp["token_match"] is None and sp["faster_heuristics"] is True

ALL = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
ALL_STR = "".join(ALL)


def split_top(p):
    """Top-level alternatives of a regex string (no nested-group splitting)."""
    out, depth, in_cls, cur, i = [], 0, False, "", 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            cur += p[i:i + 2]
            i += 2
            continue
        if in_cls:
            if c == "]":
                in_cls = False
        elif c == "[":
            in_cls = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(cur)
            cur = ""
            i += 1
            continue
        cur += c
        i += 1
    out.append(cur)
    return out


def literal(alt):
    """The literal string an alternative matches, or None if it is not a plain literal."""
    if not re.fullmatch(r"(?:\\[^A-Za-z0-9]|[^\\\[\]()|*+?{}^$.])+", alt):
        return None
    lit = re.sub(r"\\(.)", r"\1", alt)
    assert re.fullmatch(alt, lit), alt
    return lit


def class_set(cls):
    """Code points matched by a one-character class regex (Python re semantics)."""
    rx = re.compile("(?:" + cls + ")+")
    out = set()
    for m in rx.finditer(ALL_STR):
        out.update(ord(c) for c in m.group(0))
    return out


CLASS_RX = r"\[(?:\\.|[^\]\\])*\]"

# ---------------------------------------------------------------- prefixes
pre_single, pre_multi, pre_icons, pre_other = [], [], None, []
for alt in split_top(sp["prefix_search"]):
    assert alt.startswith("^"), alt
    a = alt[1:]
    lit = literal(a)
    if lit is not None and len(lit) == 1:
        pre_single.append(lit)
    elif lit is not None:
        # first match wins: a multi-character literal whose first character is an earlier one-character prefix
        # can never be the result
        if lit[0] in pre_single:
            continue
        pre_multi.append(lit)
    elif re.fullmatch(CLASS_RX, a):
        assert pre_icons is None
        pre_icons = a
    else:
        pre_other.append(a)
assert pre_other == [r"\+(?![0-9])", r"\.\.+"], pre_other
assert "+" not in pre_single and "." not in pre_single
for lit in pre_multi:
    assert lit[0] not in pre_single and lit[0] not in "+."
ICONS = class_set(pre_icons)

# ---------------------------------------------------------------- suffixes (result = longest matching alternative)
suf_single, suf_multi, suf_digit_lits, suf_dot_lb, suf_upper = [], [], [], None, None
suf_seen_other = []
for alt in split_top(sp["suffix_search"]):
    assert alt.endswith("$"), alt
    a = alt[:-1]
    lit = literal(a)
    if lit is not None:
        (suf_single if len(lit) == 1 else suf_multi).append(lit)
        continue
    if re.fullmatch(CLASS_RX, a):
        assert a == pre_icons
        continue
    if a == r"\.\.+" or a == r"(?<=[0-9])\+" or a == r"(?<=°[FfCcKk])\.":
        suf_seen_other.append(a)
        continue
    m = re.fullmatch(r"\(\?<=\[0-9\]\)\(\?:(.*)\)", a)
    if m:
        for x in split_top(m.group(1)):
            lx = literal(x)
            assert lx is not None, x
            suf_digit_lits.append(lx)
        continue
    m = re.fullmatch(r"\(\?<=(" + CLASS_RX + r")(" + CLASS_RX + r")\)\\\.", a)
    if m:
        assert m.group(1) == m.group(2) and suf_upper is None
        suf_upper = m.group(1)
        continue
    m = re.fullmatch(r"\(\?<=(" + CLASS_RX + r")\)\\\.", a)
    if m:
        assert suf_dot_lb is None
        suf_dot_lb = m.group(1)
        continue
    raise SystemExit("unexpected suffix alternative: " + a[:200])
assert sorted(suf_seen_other) == sorted([r"\.\.+", r"(?<=[0-9])\+", r"(?<=°[FfCcKk])\."]), suf_seen_other
assert suf_dot_lb and suf_upper
suf_digit_lits = sorted(set(suf_digit_lits), key=lambda s: (len(s), s))
suf_multi = sorted(set(suf_multi))

# ---------------------------------------------------------------- infixes (finditer: first alternative wins)
inf = split_top(sp["infix_finditer"])
assert len(inf) == 8, len(inf)
assert inf[0] == r"\.\.+" and inf[1] == "…" and inf[2] == pre_icons, inf[:3]
assert inf[3] == r"(?<=[0-9])[+\-\*^](?=[0-9-])", inf[3]
m = re.fullmatch(r"\(\?<=(" + CLASS_RX + r")\)\\\.\(\?=(" + CLASS_RX + r")\)", inf[4])
assert m
inf_dot_lb, inf_dot_la = m.group(1), m.group(2)
m = re.fullmatch(r"\(\?<=(" + CLASS_RX + r")\),\(\?=(" + CLASS_RX + r")\)", inf[5])
assert m
inf_comma_lb, inf_comma_la = m.group(1), m.group(2)
m = re.fullmatch(r"\(\?<=(" + CLASS_RX + r")\)\(\?:(.*)\)\(\?=(" + CLASS_RX + r")\)", inf[6])
assert m
inf_hy_lb, inf_hy_la = m.group(1), m.group(3)
hyphens = [literal(x) for x in split_top(m.group(2))]
assert all(h for h in hyphens)
m = re.fullmatch(r"\(\?<=(" + CLASS_RX + r")\)\[:<>=/\]\(\?=(" + CLASS_RX + r")\)", inf[7])
assert m
inf_colon_lb, inf_colon_la = m.group(1), m.group(2)

# ---------------------------------------------------------------- url_match host TLD class
url = sp["url_match"]
tld_classes = re.findall(r"\(\?:(" + CLASS_RX + r")\{2,63\}\)", url)
assert len(tld_classes) == 1
URL_TLD = class_set(tld_classes[0])
for ch in ".:/?#@_-":
    assert ord(ch) not in URL_TLD, ch
# (U+3000 is in the TLD class and U+2000.. in the host class: harmless, chunks never contain whitespace)
assert {c for c in URL_TLD if c < 128} == set(range(ord("a"), ord("z") + 1))
# the rest of the url regex is implemented by hand; make sure it is the one the Swift code was written for
URL_EXPECTED_PREFIX = (r"(?u)^(?:(?:[\w\+\-\.]{2,})://)?(?:\S+(?::\S*)?@)?(?:(?!(?:10|127)(?:\.\d{1,3}){3})"
                       r"(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})"
                       r"(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}"
                       r"(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))|(?:(?:[A-Za-z0-9\u00a1-\uffff]"
                       r"[A-Za-z0-9\u00a1-\uffff_-]{0,62})?[A-Za-z0-9\u00a1-\uffff]\.)+(?:")
URL_EXPECTED_SUFFIX = r"{2,63}))(?::\d{2,5})?(?:[/?#]\S*)?$"
assert url.startswith(URL_EXPECTED_PREFIX) and url.endswith(URL_EXPECTED_SUFFIX)
assert url == URL_EXPECTED_PREFIX + tld_classes[0] + URL_EXPECTED_SUFFIX

# ---------------------------------------------------------------- Python character predicates
SPACE = {ord(c) for c in ALL if c.isspace()}
PUNCT = {ord(c) for c in ALL if unicodedata.category(c).startswith("P")}
PY_WORD = class_set(r"\w")  # str patterns are Unicode by default
PY_DEC = class_set(r"\d")
SENT_PUNCT = set()
for p in t["sentencizer_punct_chars"]:
    assert len(p) == 1
    SENT_PUNCT.add(ord(p))
URL_HOST = class_set(r"[A-Za-z0-9\u00a1-\uffff]")
PRE1 = {ord(c) for c in pre_single} | ICONS
SUF1 = {ord(c) for c in suf_single} | ICONS
# letters that no prefix / suffix / infix / url rule can touch when a chunk is made only of them (see the Swift fast
# path): every rule consumes or looks at a non-letter, or needs an ASCII digit before it.
PLAIN = {ord(c) for c in ALL if c.isalpha()} - PRE1 - SUF1 - ICONS - {ord(c) for c in "".join(hyphens) + "…"}
for lit in pre_multi + suf_multi:
    assert any(ord(c) not in PLAIN for c in lit), lit
assert not any(chr(c).isdigit() for c in PLAIN if c < 128)

CLASSES = [  # (Swift name, set); the bit of a class is its index
    ("space", SPACE),
    ("plain", PLAIN),
    ("prefix1", PRE1),
    ("suffix1", SUF1),
    ("icon", ICONS),
    ("sufDotLB", class_set(suf_dot_lb)),
    ("sufUpper", class_set(suf_upper)),
    ("infDotLB", class_set(inf_dot_lb)),
    ("infDotLA", class_set(inf_dot_la)),
    ("infCommaLB", class_set(inf_comma_lb)),
    ("infCommaLA", class_set(inf_comma_la)),
    ("infHyphenLB", class_set(inf_hy_lb)),
    ("infHyphenLA", class_set(inf_hy_la)),
    ("infColonLB", class_set(inf_colon_lb)),
    ("infColonLA", class_set(inf_colon_la)),
    ("punct", PUNCT),
    ("sentPunct", SENT_PUNCT),
    ("urlTLD", URL_TLD),
    ("urlHost", URL_HOST),
    ("pyWord", PY_WORD),
    ("pyDecimal", PY_DEC),
]
assert len(CLASSES) <= 32
# the Swift infix matcher reads a missing next character as ' ': no look-ahead class may contain it
for name, cs in CLASSES:
    if name.endswith("LA"):
        assert 0x20 not in cs, name
assert not (SPACE & (PRE1 | SUF1 | ICONS | PY_WORD | PLAIN))


def ranges(s):
    xs = sorted(s)
    out = []
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:
            j += 1
        out.append(f"{xs[i]:x}" if i == j else f"{xs[i]:x}-{xs[j]:x}")
        i = j + 1
    return " ".join(out)


# ---------------------------------------------------------------- special cases and phrase-matcher patterns
tok = Tokenizer.from_tables(TABLES)
specials = sp["special_cases"]
for k, v in specials.items():
    assert "".join(v) == k and all(v), k
patterns = []
for pat, keys in tok.patterns.items():
    if len(pat) == 1:
        # visited last by the span filter and replaced by an identical token: no effect, skipped
        assert specials.get(pat[0], [pat[0]]) == [pat[0]], pat
        continue
    assert not any(x.isspace() for x in pat)
    patterns.append(pat)
patterns.sort()

SEP_ENTRY, SEP_TOKEN = "\x01", "\x02"


def swift_str(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif o < 0x20 or o == 0x7F or 0x80 <= o < 0xA0 or unicodedata.category(ch) in ("Zs", "Zl", "Zp", "Cf", "Mn",
                                                                                            "Me", "Mc", "Co", "Cn"):
            out.append("\\u{%x}" % o)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def chunked(name, entries, width=100):
    """A list of entries as string literals, several entries (joined by U+0001) per line; the Swift side joins the
    lines with U+0001 again and splits on it."""
    lines_, cur = [], []
    for e in entries:
        if cur and len(swift_str(SEP_ENTRY.join(cur + [e]))) > width:
            lines_.append(cur)
            cur = []
        cur.append(e)
    if cur:
        lines_.append(cur)
    body = "\n".join("        " + swift_str(SEP_ENTRY.join(ln)) + "," for ln in lines_)
    return f"    static let {name}: [String] = [\n{body}\n    ]\n"


special_entries = [k + SEP_TOKEN + SEP_TOKEN.join(v) for k, v in sorted(specials.items())]
pattern_entries = [SEP_TOKEN.join(p) for p in patterns]

lines = []
lines.append("// Generated by tools/codegen/gen_swift_tokenizer_tables.py from tools/codegen/datatrove_text_tables.json — do not edit.")
lines.append("// spaCy 3.8.18 English tokenizer rules (spacy.blank(\"en\")) and sentencizer punct_chars, as datatrove 0.10.1")
lines.append("// uses them. Character classes are code-point ranges computed with Python 3.11's re / str / unicodedata.")
lines.append("")
lines.append("enum SpacyENTables {")
lines.append("    /// Class bits. Classes with identical sets share a bit; bit i's ranges are `classRanges[i]`.")
unique = []  # (names, set)
for name, cs in CLASSES:
    for u in unique:
        if u[1] == cs:
            u[0].append(name)
            break
    else:
        unique.append(([name], cs))
assert len(unique) <= 32
for i, (names, _) in enumerate(unique):
    lines.append(f"    static let {names[0]}: UInt32 = 1 << {i}")
    for alias in names[1:]:
        lines.append(f"    static let {alias}: UInt32 = {names[0]}")
lines.append("")
lines.append("    /// Hexadecimal code-point ranges of each class bit (`a-b` or `a`, space-separated), in bit order.")
lines.append("    static let classRanges: [String] = [")
for names, s in unique:
    rs = ranges(s)
    words = rs.split(" ")
    chunks, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > 100:
            chunks.append(cur)
            cur = w
        else:
            cur = (cur + " " + w) if cur else w
    chunks.append(cur)
    lines.append(f"        // {', '.join(names)}: {len(s)} code points")
    lines.append("        [")
    for c in chunks:
        lines.append(f"            \"{c}\",")
    lines.append("        ].joined(separator: \" \"),")
lines.append("    ]")
lines.append("")
lines.append("    /// Multi-character prefixes (checked when the first character is not a one-character prefix).")
lines.append("    static let prefixLiterals: [String] = [" + ", ".join(swift_str(x) for x in pre_multi) + "]")
lines.append("    /// Multi-character suffixes without look-behind.")
lines.append("    static let suffixLiterals: [String] = [" + ", ".join(swift_str(x) for x in suf_multi) + "]")
lines.append("    /// Suffixes matched only after an ASCII digit: `(?<=[0-9])(?:currency|unit)$`.")
lines.append("    static let digitSuffixLiterals: [String] = [")
row = []
for x in suf_digit_lits:
    row.append(swift_str(x))
    if len(row) == 14:
        lines.append("        " + ", ".join(row) + ",")
        row = []
if row:
    lines.append("        " + ", ".join(row) + ",")
lines.append("    ]")
lines.append("    /// `(?<=[alnum])(?:-|–|—|--|---|——|~)(?=[alpha])`, alternatives in regex order.")
lines.append("    static let hyphenInfixes: [String] = [" + ", ".join(swift_str(x) for x in hyphens) + "]")
lines.append("")
lines.append(f"    /// {len(specials)} special cases: entries separated by U+0001, key and tokens by U+0002.")
lines.append(chunked("specialCases", special_entries).rstrip("\n"))
lines.append("")
lines.append(f"    /// {len(patterns)} phrase-matcher patterns of 2+ tokens (U+0001 between patterns, U+0002 between tokens).")
lines.append(chunked("phrasePatterns", pattern_entries).rstrip("\n"))
lines.append("}")
src = "\n".join(lines) + "\n"
with open(OUT, "w", encoding="utf-8") as f:
    f.write(src)
print(f"wrote {os.path.relpath(OUT, ROOT)}: {len(src.splitlines())} lines, {len(specials)} specials, "
      f"{len(patterns)} patterns, classes " + ", ".join(f"{n}={len(s)}" for n, s in CLASSES))
