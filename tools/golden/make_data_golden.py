#!/usr/bin/env python3
"""Golden data for dsllm's pre-training data pipeline (DSData), from HuggingFace datatrove.

Pinned (see tools/golden/requirements.txt): datatrove==0.10.1, spacy==3.8.18 (datatrove's English word tokenizer is
spacy.blank("en") + the "sentencizer" pipe; no model download), xxhash==3.8.2 (datatrove's default MinHash shingle
hash), numpy==2.4.6 (MinHash permutations: legacy numpy.random.RandomState), orjson==3.8.3 (JsonlReader), regex.
Python 3.11. Nothing is downloaded when this script runs.

1. Builds a small synthetic English corpus (seeded, generated prose from the word lists below) with planted
   near-duplicates: exact copies, copies that differ only in case / punctuation / digits / whitespace / accents
   (identical after datatrove's text normalization), word-edited copies at several 5-gram-shingle Jaccard levels
   (0.95 ... 0.3), chains (A ~ B ~ C), a cluster whose kept document is NOT its lowest index (union by size),
   distinct documents, same-domain boilerplate, short documents (< 5 words: no MinHash signature), spread over
   3 `dump` values; plus documents made to trip each GopherQualityFilter, GopherRepetitionFilter and C4QualityFilter
   rule (each is checked: the script fails if datatrove does not give the intended first-failing reason), edge
   cases that just pass, and clean documents.
   -> Tests/DSDataTests/Golden/corpus.jsonl  (one JSON object a line: id, text, dump, domain)

2. Runs datatrove 0.10.1 on it:
   * the 4-stage MinHash dedup with the default MinhashConfig (5-grams, 14 buckets x 8 hashes, seed 1, xxhash64,
     64-bit), LocalPipelineExecutor, 1 task, JsonlReader on the corpus (document index = line number, 0-based;
     datatrove skips empty texts, the corpus has none); stage 3 with save_cluster_id/save_cluster_size. Records for
     every document: kept or dropped, its cluster (id of the kept document = the union-find root), cluster size,
     number of distinct shingles; and every duplicate pair stage 2 wrote, per bucket, in file order.
     The same decisions are recomputed here from the spec (signatures, bucket sort, pair chaining, union by size)
     and must agree exactly.
   * GopherQualityFilter(), GopherRepetitionFilter(), C4QualityFilter() with default arguments, each separately on
     every document (filter() on a fresh Document): pass, or the reason string; for C4 also the output text when it
     differs from the input. Also GopherQualityFilter(max_doc_words=300) so `gopher_long_doc` is exercised without a
     100,000-word document.
   * Step-by-step data for the first 5 documents: normalized text (simplify_text), word tokens, number of
     shingles, the first 10 n-grams with their xxhash64, and the full 112-value signature.
   * spaCy tokenizer cases (raw text -> datatrove word_tokenize tokens, and C4 sentence counts) for the Swift port.
   All 64-bit values are written as decimal strings (JSON numbers lose precision above 2^53).
   -> Tests/DSDataTests/Golden/datatrove-golden.json

3. Writes the permutation parameters: tools/codegen/datatrove_minhash_params.json (112 a, 112 b, decimal UInt64 numbers),
   and tools/codegen/datatrove_text_tables.json (datatrove's PUNCTUATION / TERMINAL_PUNCTUATION, stop words, C4 constants,
   the sentencizer's punct_chars and spaCy's English tokenizer rules: prefix/suffix/infix/url regexes and the
   special cases), which the spec (/tmp/datatrove-spec.md, written alongside) refers to.

Usage: python3 tools/golden/make_data_golden.py     (~25 s on 2 cores; prints a summary, asserts its cross-checks)
"""

import hashlib
import json
import os
import random
import re
import struct
import sys
import tempfile

import numpy as np
import xxhash

import datatrove
import spacy
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter
from datatrove.pipeline.filters import c4_filters, gopher_quality_filter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils import text as dt_text
from datatrove.utils.text import simplify_text, split_into_sentences
from datatrove.utils.word_tokenizers import load_word_tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN_DIR = os.path.join(ROOT, "Tests", "DSDataTests", "Golden")
CORPUS_OUT = os.path.join(GOLDEN_DIR, "corpus.jsonl")
GOLDEN_OUT = os.path.join(GOLDEN_DIR, "datatrove-golden.json")
PARAMS_OUT = os.path.join(ROOT, "tools", "datatrove_minhash_params.json")
TABLES_OUT = os.path.join(ROOT, "tools", "datatrove_text_tables.json")

EXPECTED_VERSIONS = {"datatrove": "0.10.1", "spacy": "3.8.18", "xxhash": "3.8.2", "numpy": "2.4.6"}
P61 = (1 << 61) - 1
MASK64 = (1 << 64) - 1
SEED = 20240611
DUMPS = ["CC-MAIN-2023-06", "CC-MAIN-2023-14", "CC-MAIN-2023-23"]

# ---------------------------------------------------------------------------------------------------------------
# Word lists and sentence templates (hand-written; no external data)
# ---------------------------------------------------------------------------------------------------------------

NOUNS = """harbor lantern orchard meadow village engine river bridge garden market library teacher painter farmer
sailor doctor window mountain valley forest kitchen letter journal museum station tower island castle cottage
tavern merchant carpenter blacksmith gardener shepherd traveler captain soldier student council mayor festival
harvest winter summer autumn spring morning evening candle ladder basket barrel wagon carriage saddle blanket
compass telescope notebook pencil chapter story legend ballad melody violin drum trumpet chorus theater stage
curtain costume mirror portrait statue fountain courtyard hallway staircase balcony chimney rooftop lighthouse
pier dock canal ferry harbour warehouse factory workshop furnace anvil hammer chisel spindle loom fabric ribbon
button thread needle recipe bakery kettle teapot saucer cupboard pantry cellar attic orchardist beekeeper hive
honey apple pear plum cherry walnut chestnut acorn pinecone willow birch maple cedar oak elm meadowlark sparrow
falcon heron otter badger rabbit squirrel beaver salmon trout pebble boulder canyon glacier prairie marsh delta
estuary lagoon reef volcano crater summit ridge plateau hillside riverbank shoreline horizon sunrise sunset
thunderstorm rainbow breeze blizzard drought harvestman almanac calendar ledger invoice treaty charter archive
manuscript atlas map globe lens prism crystal mineral granite marble copper bronze silver pottery vase""".split()

VERBS = """repaired painted visited described discovered carried measured followed admired restored gathered
polished inspected cleaned borrowed delivered planted watered harvested sketched studied recorded translated
rebuilt decorated protected guarded opened closed crossed climbed explored mapped charted weighed counted sorted
packed unpacked loaded launched steered anchored welcomed greeted praised criticized questioned answered
remembered forgot replaced improved extended shortened widened lifted lowered moved shared sold bought traded
collected donated lent returned tested examined organized arranged designed invented assembled dismantled""".split()

VERBS_I = """arrived departed waited wandered rested vanished appeared flourished declined rose fell shimmered
glowed trembled hesitated laughed smiled wept sang danced listened whispered shouted paused returned settled
drifted floated sank traveled lingered thrived recovered collapsed expanded""".split()

VERBS_PP = """built seen visited painted repaired described explored mapped restored studied admired crossed
protected measured recorded followed praised gathered""".split()

VERBS_PRES = "see know admire visit remember protect repair describe follow explore".split()

ADJS = """quiet ancient bright narrow wooden golden silver crowded peaceful famous humble curious patient careful
generous stubborn gentle rugged distant hidden modern elegant simple fragile sturdy heavy light warm cold damp
dusty shiny colorful pale dark vivid faded broad steep shallow deep rapid slow noisy silent fragrant bitter sweet
remote local rural urban coastal northern southern eastern western central fertile barren lively sleepy restless
honest clever brave modest proud weary cheerful anxious friendly formal rustic ornate sparse abundant""".split()

ADVS = """quietly slowly quickly carefully gently suddenly eventually finally rarely often always seldom patiently
eagerly proudly bravely happily sadly calmly boldly briskly softly loudly warmly""".split()

NAMES = """Adeline Bartholomew Cecilia Desmond Eleanor Fitzgerald Genevieve Horatio Isadora Jasper Katarina
Leopold Marguerite Nathaniel Ophelia Percival Rosalind Sebastian Theodora Ulysses Valentina Winifred Xavier
Yolanda Zachariah Amelia Benedict Clementine Dorian Evangeline""".split()

PLACES = """Ashford Brookhaven Clearwater Dunmore Eastbridge Fairhaven Glenwood Hollowmere Ironwood Juniper
Kingsport Larkspur Millbrook Northgate Oakridge Pinecrest Queensbury Riverton Stonebridge Thornbury Upton
Valemont Westfield Yarrowdale Zephyr""".split()

TIMES = """Last spring|Early that morning|Later that year|In the autumn|Each winter|By the evening|Long ago|
Before dawn|After the storm|During the festival|Every summer|At midnight""".replace("\n", "").split("|")

DOMAINS = ["riverton-gazette.example", "oakridge-history.example", "harborlight.example", "millbrook-news.example",
           "pinecrest-journal.example", "stonebridge-review.example", "kingsport-times.example"]

TEMPLATES = [
    "The {A} {N} of {P} {V} the {A} {N} {T2}.",
    "{M} {V} a {N} that {Vi} {D} near the {N}.",
    "In {P}, {Np} and {Np} {Vi} with {A} {Np}.",
    "Many {Np} have {Vpp} the {N} to {P} since {Y}.",
    "It was {A} to see how the {N} {Vi} after {M} {V} its {N}.",
    "{M} and {M} {V} {K} {Np} for the {A} {N} in {P}.",
    "Without a {N}, the {Np} of {P} would be {A} and {A}.",
    "Every {N} in the {N} {Vi} {D}, which {V} the {Np}.",
    "Some {Np} say that the {N} is {A}, but {M} {V} otherwise.",
    "The {N} {V} by {M} {Vi} to {P} with the {A} {Np}.",
    "Because the {N} was {A}, the {Np} {V} the {N} {D}.",
    "{T}, the {A} {Np} {Vi} between the {N} and the {N}.",
    "A {A} {N} {V} {K} {Np} along the {N} of {P}.",
    "Few {Np} {V} the {N}, yet {M} still {V} it {D}.",
    "Do the {Np} of {P} {Vpres} the {A} {N}?",
    "{M} wrote that the {N} had {Vpp} every {N} in {P}.",
    "The {Np} {Vi} {D} while the {A} {N} {V} a {N}.",
    "Near {P}, a {A} {N} and a {A} {N} {Vi} together.",
    "{T}, {M} {V} the {N} and {V} the {Np} of {P}.",
    "Nobody in {P} {V} the {A} {N} as {D} as {M}.",
    "What a {A} {N} the {Np} of {P} {V}!",
    "With {K} {Np}, the {N} became {A} and {A}.",
    "The {A} {Np} of {P} {Vi}, and the {N} {Vi} {D}.",
    "{M} {V} that the {N} would be {A} by {Y}.",
]
NUM_WORDS = "two three four five six seven eight nine ten eleven twelve several".split()


def pick(rng, xs):
    return xs[rng.randrange(len(xs))]


def sentence(rng, template=None):
    t = template if template is not None else pick(rng, TEMPLATES)

    def fill(m):
        k = m.group(1)
        if k == "A":
            return pick(rng, ADJS)
        if k == "N":
            return pick(rng, NOUNS)
        if k == "Np":
            w = pick(rng, NOUNS)
            return w + ("es" if w.endswith(("s", "x", "ch", "sh")) else "s")
        if k == "V":
            return pick(rng, VERBS)
        if k == "Vi":
            return pick(rng, VERBS_I)
        if k == "Vpp":
            return pick(rng, VERBS_PP)
        if k == "Vpres":
            return pick(rng, VERBS_PRES)
        if k == "D":
            return pick(rng, ADVS)
        if k == "M":
            return pick(rng, NAMES)
        if k == "P":
            return pick(rng, PLACES)
        if k == "T":
            return pick(rng, TIMES)
        if k == "T2":
            return pick(rng, TIMES).lower()
        if k == "Y":
            return str(rng.randrange(1700, 2000))
        if k == "K":
            return pick(rng, NUM_WORDS)
        raise KeyError(k)

    s = re.sub(r"\{(\w+)\}", fill, t)
    return s[0].upper() + s[1:]


def paragraph(rng, n_lines, sents_per_line=(1, 3)):
    return "\n".join(" ".join(sentence(rng) for _ in range(rng.randint(*sents_per_line))) for _ in range(n_lines))


def article(rng, n_paras=(3, 5), lines=(2, 3)):
    return "\n\n".join(paragraph(rng, rng.randint(*lines)) for _ in range(rng.randint(*n_paras)))


# ---------------------------------------------------------------------------------------------------------------
# MinHash model (the spec, in Python): used to measure Jaccard, to plant structured cases and to cross-check
# ---------------------------------------------------------------------------------------------------------------

SIG_STEP = MinhashDedupSignature(output_folder=tempfile.mkdtemp(prefix="dt_sig_probe_"))
A_PARAMS = [int(x) for x in SIG_STEP.parameters[0][0]]
B_PARAMS = [int(x) for x in SIG_STEP.parameters[1][0]]
WORD_TOK = load_word_tokenizer("eng")


def shingle_set(text):
    return {int(x) for x in SIG_STEP.get_shingles(text).reshape(-1)}


def jaccard(t1, t2):
    s1, s2 = shingle_set(t1), shingle_set(t2)
    if not s1 and not s2:
        return 1.0
    return len(s1 & s2) / len(s1 | s2)


def model_signature(shingles):
    """112 values: min over shingles of ((h*a + b) mod 2^64) mod (2^61-1)  (numpy uint64 wrap-around, then %)."""
    return [min(((h * a + b) & MASK64) % P61 for h in shingles) for a, b in zip(A_PARAMS, B_PARAMS)]


def model_dedup(texts):
    """Returns (removed set, root per idx, pairs per bucket) following datatrove's stages 1-3 exactly."""
    sigs = {}
    for i, t in enumerate(texts):
        sh = shingle_set(t)
        if sh:
            sigs[i] = model_signature(sh)
    pairs = []
    for bucket in range(14):
        recs = sorted((tuple(sig[bucket * 8:(bucket + 1) * 8]), i) for i, sig in sigs.items())
        bucket_pairs = []
        for (s1, i1), (s2, i2) in zip(recs, recs[1:]):
            if s1 == s2:
                bucket_pairs.append((i1, i2))
        pairs.append(bucket_pairs)
    parent, size = {}, {}

    def find(x):
        if x not in parent or parent[x] == x:
            parent[x] = x
            return x
        parent[x] = find(parent[x])
        return parent[x]

    for bucket_pairs in pairs:
        for a, b in bucket_pairs:
            ra, rb = find(a), find(b)
            if ra != rb:
                sa, sb = size.get(ra, 1), size.get(rb, 1)
                if sa < sb:
                    ra, rb = rb, ra
                parent[rb] = ra
                size[ra] = sa + sb
                size.pop(rb, None)
    roots = {x: find(x) for x in list(parent)}
    removed = {x for x, r in roots.items() if x != r}
    return removed, roots, pairs


# ---------------------------------------------------------------------------------------------------------------
# Corpus construction
# ---------------------------------------------------------------------------------------------------------------

ALPHA_WORD = re.compile(r"\b[a-z]{3,}\b")


def edit_words(rng, text, n_edits):
    """Replace n_edits random lowercase words (3+ letters) with random vocabulary words."""
    for _ in range(n_edits):
        spans = [m.span() for m in ALPHA_WORD.finditer(text)]
        a, b = spans[rng.randrange(len(spans))]
        pool = pick(rng, [NOUNS, ADJS, VERBS, ADVS])
        text = text[:a] + pick(rng, pool) + text[b:]
    return text


def near_copy(rng, text, target):
    """Edit words one at a time until the shingle Jaccard with `text` drops to <= target; returns (copy, jaccard)."""
    cur = text
    j = 1.0
    while j > target:
        cur = edit_words(rng, cur, 1)
        j = jaccard(text, cur)
    return cur, j


def normalization_variant(rng, text, kind):
    if kind == "case":
        return text.upper() if rng.random() < 0.5 else text.title()
    if kind == "punct":
        return re.sub(r"[.,]", lambda m: pick(rng, [";", " --", "!", ":", " /", "..."]), text)
    if kind == "whitespace":
        return re.sub(r" ", lambda m: pick(rng, [" ", "  ", "\t", " \n", "\u00a0"]), text).replace("\n\n", "\n \n")
    if kind == "digits":
        return re.sub(r"\b1[0-9]{3}\b", lambda m: str(rng.randrange(1000, 9999)), text)
    if kind == "accents":
        repl = {"a": "á", "e": "é", "i": "ï", "o": "ô", "u": "ü", "c": "ç", "n": "ñ"}
        return "".join(repl[c] if c in repl and rng.random() < 0.3 else c for c in text)
    raise KeyError(kind)


STEP_DOCS = [
    # 0: plain prose
    None,
    # 1: numbers, punctuation, contractions, units, specials ("cannot", "gonna"), hyphens, quotes
    "On March 3rd, 2021 the council's budget rose 12.5% to $1,234,567.89 -- or so they said. "
    "\"We can't wait,\" said the mayor; \"it's gonna be great!\" The 5km race (and the 10-mile walk) "
    "cannot start before 9:30am. I'm sure you'll agree: the U.S.-based e-mail (info@example.com) didn't arrive.\n"
    "Items: 3x lamps, 4.5kg of flour, 2,000 ft of rope, 1990s records, 100mph winds and the 21st century.",
    # 2: fewer than 5 words after normalization -> no shingles, no signature, always kept
    "Hello there, world!",
    # 3: Unicode: accents, ligature, German sharp s, dotted capital I, Greek, em dash, curly quotes, NBSP, emoji
    "Crème brûlée and naïve café owners in São Paulo — “quite” the scene. Straße in Zürich; İstanbul’s "
    "ﬁne ﬂour. ΟΔΥΣΣΕΥΣ sailed home\u00a0again; the résumé was 12\u00a0pages. © 2020 Ωmega Corp. ½ cup of tea ☕ "
    "costs €3,50 or £2.99 at the Ærø harbor, 20°C today.",
    # 4: normalization-sensitive tokens: dont/dont't, units glued to numbers, identity specials (em, ll, ol)
    "Dont worry, they dont know. Ill be there at 5pm and well see. Hes sure shes right, its fine. "
    "Wed go 10km or 3mi by 2mph, then 7ft up and 2in across; 8GB of ram, 4kb of cache, 5mb left. "
    "Let em in, yall. Whos there? Thats the ol story of the gonna and gotta kind.",
]


def build_corpus():
    rng = random.Random(SEED)
    docs = []  # dicts: id, text, dump, domain, kind, info

    def add(text, kind, info=None, dump=None, domain=None):
        d = {"text": text, "kind": kind, "info": info or {},
             "dump": dump if dump is not None else pick(rng, DUMPS),
             "domain": domain if domain is not None else pick(rng, DOMAINS)}
        docs.append(d)
        return d

    # -- step-by-step documents first (indices 0..4) --
    step0 = article(rng, (2, 2), (2, 2))
    for i, t in enumerate(STEP_DOCS):
        add(step0 if t is None else t, "step", {"step_index": i})

    body = []  # documents placed in shuffled order after the step docs

    def badd(text, kind, info=None, dump=None, domain=None):
        d = {"text": text, "kind": kind, "info": info or {},
             "dump": dump if dump is not None else pick(rng, DUMPS),
             "domain": domain if domain is not None else pick(rng, DOMAINS)}
        body.append(d)
        return d

    # -- distinct base articles --
    bases = [article(rng) for _ in range(48)]
    for i, t in enumerate(bases):
        badd(t, "distinct", {"base": i})

    # -- exact copies (other dump/domain) --
    for i in range(0, 6):
        badd(bases[i], "exact_copy", {"base": i})
    # -- copies identical after normalization --
    for i, kind in zip(range(6, 16), ["case", "punct", "whitespace", "digits", "accents"] * 2):
        badd(normalization_variant(rng, bases[i], kind), "norm_copy", {"base": i, "variant": kind})

    # -- word-edited near copies at several Jaccard levels --
    targets = [0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.5, 0.4, 0.3]
    bi = 16
    for tgt in targets:
        for _ in range(3):
            t, j = near_copy(rng, bases[bi % len(bases)], tgt)
            badd(t, "near_copy", {"base": bi % len(bases), "target_jaccard": tgt, "jaccard": round(j, 4)})
            bi += 1

    # -- chains: A -> A1 (0.85) -> A2 (0.85 of A1) -> A3 --
    for c in range(3):
        prev = article(rng)
        badd(prev, "chain", {"chain": c, "step": 0})
        for s in range(1, 4):
            nxt, j = near_copy(rng, prev, 0.85)
            badd(nxt, "chain", {"chain": c, "step": s, "jaccard_to_prev": round(j, 4)})
            prev = nxt

    # -- same-domain boilerplate: distinct articles sharing a header and footer --
    header = ("Riverton Gazette. Local news, weather and history from the valley since the old mill opened.\n"
              "Subscribe to our weekly letter for stories about the harbor, the orchards and the people of Riverton.")
    footer = ("Share this story with your friends and neighbors. Comments are reviewed by the editors before they "
              "appear.\nRiverton Gazette is published by the Riverton Historical Society and its many volunteers.")
    for _ in range(6):
        badd(header + "\n\n" + article(rng, (2, 3), (2, 2)) + "\n\n" + footer, "boilerplate", {},
             domain="riverton-gazette.example")

    # -- short documents: identical texts that are never deduplicated (no 5-gram) --
    for t in ["Thank you for reading.", "Thank you for reading.", "Page not found", "Page not found", "OK"]:
        badd(t, "short", {})

    rng.shuffle(body)
    docs.extend(body)

    # -- union-by-size case, in a fixed order: X, then Y1, Y2, Y3 (exact copies of each other) where X is a near copy
    #    of Y that shares NO bucket-0 signature but does share a later bucket: Y1-Y2-Y3 form a cluster of 3 first,
    #    then X (size 1) joins it, so the kept document is Y1, not X (the lowest index). --
    yrng = random.Random(SEED + 1)
    for attempt in range(200):
        y = article(yrng)
        x, j = near_copy(yrng, y, 0.8)
        sx, sy = model_signature(shingle_set(x)), model_signature(shingle_set(y))
        shared = [b for b in range(14) if sx[b * 8:(b + 1) * 8] == sy[b * 8:(b + 1) * 8]]
        if shared and shared[0] > 0:
            break
    else:
        raise RuntimeError("could not plant the union-by-size case")
    add(x, "union_by_size_x", {"jaccard": round(j, 4), "shared_buckets": shared})
    for k in range(3):
        add(y, "union_by_size_y", {"copy": k})

    # -- filter-targeted documents (appended; each checked below) --
    for kind, text in filter_docs(random.Random(SEED + 2)):
        add(text, kind, {})

    # -- clean documents --
    for _ in range(8):
        add(article(rng), "clean", {})

    for i, d in enumerate(docs):
        d["id"] = f"doc-{i:04d}"
    return docs


# ---------------------------------------------------------------------------------------------------------------
# Documents targeted at each filter rule
# ---------------------------------------------------------------------------------------------------------------

SHORT_WORDS = "it is so to be of an as we go up on at by do no or if me my us he hi".split()
LONG_WORDS = """internationalization characteristically counterrevolutionary incomprehensibilities
institutionalization uncharacteristically disproportionately electroencephalograph
interdisciplinary misrepresentations compartmentalization telecommunications""".split()
STOPLESS = [
    "Bright rivers cross quiet valleys.", "Old bridges span wide canals.", "Tall towers guard ancient harbors.",
    "Gentle breezes carry sweet fragrances.", "Busy markets sell fresh apples.", "Curious children explore hidden caves.",
    "Patient farmers plant sturdy crops.", "Golden fields stretch toward distant hills.",
    "Silent owls watch sleepy villages.", "Careful sailors steer narrow boats.", "Young painters sketch rugged cliffs.",
    "Brave climbers reach snowy summits.", "Humble bakers knead fragrant dough.", "Cheerful musicians play lively tunes.",
]


def gq(text, **kw):
    r = GopherQualityFilter(**kw).filter(Document(text=text, id="x"))
    return "pass" if r is True else r[1]


def gr(text):
    r = GopherRepetitionFilter().filter(Document(text=text, id="x"))
    return "pass" if r is True else r[1]


def c4(text):
    d = Document(text=text, id="x")
    r = C4QualityFilter().filter(d)
    return ("pass" if r is True else r[1]), d.text


def prose(rng, n_sents):
    return " ".join(sentence(rng) for _ in range(n_sents))


def prose_lines(rng, n_lines, per_line=2):
    return "\n".join(prose(rng, per_line) for _ in range(n_lines))


def search(rng, make, check, target, tries=400):
    seen = {}
    for _ in range(tries):
        t = make(rng)
        got = check(t)
        if got == target:
            return t
        seen[got] = seen.get(got, 0) + 1
    raise RuntimeError(f"could not build a document for {target}: got {seen}")


def filter_docs(rng):
    out = []

    def q(target, make, **kw):
        out.append(("gq:" + target + ("" if not kw else ":" + ",".join(f"{k}={v}" for k, v in kw.items())),
                    search(rng, make, lambda t: gq(t, **kw), target)))

    # ---------------- Gopher quality ----------------
    q("gopher_short_doc", lambda r: prose(r, 3))
    out.append(("gq:gopher_long_doc:max_doc_words=300", search(
        rng, lambda r: prose_lines(r, 20, 2), lambda t: gq(t, max_doc_words=300), "gopher_long_doc")))
    q("gopher_below_avg_threshold", lambda r: " ".join(
        " ".join(pick(r, SHORT_WORDS) for _ in range(r.randint(5, 9))).capitalize() + "." for _ in range(12))
      + " The dog and the cat have to be with me.")
    q("gopher_above_avg_threshold", lambda r: " ".join(
        " ".join(pick(r, LONG_WORDS) for _ in range(r.randint(5, 9))).capitalize() + " and the " + pick(r, LONG_WORDS)
        + "." for _ in range(10)))
    q("gopher_too_many_hashes", lambda r: " ".join(
        sentence(r) + " #" + pick(r, NOUNS) + " #" + pick(r, ADJS) for _ in range(8)))
    q("gopher_too_many_ellipsis", lambda r: " ".join(
        sentence(r)[:-1] + "... " + pick(r, NAMES) + "..." for _ in range(8)))
    q("gopher_too_many_bullets", lambda r: "\n".join(
        pick(r, ["- ", "• ", "  - ", "-"]) + sentence(r) for _ in range(12)))
    q("gopher_too_many_end_ellipsis", lambda r: "\n".join(
        prose(r, 2) + (" and so on..." if i % 2 == 0 else "") for i in range(8)))
    q("gopher_below_alpha_threshold", lambda r: " ".join(
        sentence(r) + " " + " ".join(str(r.randrange(10, 99999)) for _ in range(5)) for _ in range(8)))
    q("gopher_enough_stop_words", lambda r: " ".join(pick(r, STOPLESS) for _ in range(14)))
    # only capitalized stop words: "The", "And", "With" do not count (the match is case-sensitive)
    q("gopher_enough_stop_words", lambda r: " ".join(
        pick(r, ["The", "And", "With", "To"]) + " " + pick(r, STOPLESS).lower() for _ in range(14)))
    # edge cases that pass
    q("pass", lambda r: prose(r, 9))  # plain
    q("pass", lambda r: " ".join(sentence(r) + " #" + pick(r, NOUNS) for _ in range(6)))  # some hashes
    q("pass", lambda r: "\n".join(pick(r, ["- ", "• "]) + sentence(r) for _ in range(8)) + "\n" + prose(r, 2))

    # exactly 50 / 49 non-symbol words (contractions split: "didn't" -> "did", "n't")
    def exact_words(n):
        def make(r):
            base = "The harbor was quiet and the keepers didn't mind the rain with the ships of the bay. "
            t = base
            while True:
                words = [w for w in WORD_TOK.word_tokenize(t) if any(c not in dt_text.PUNCTUATION_SET for c in w)]
                if len(words) >= n:
                    break
                t += pick(r, NOUNS) + " "
            # trim to exactly n non-symbol words
            toks = t.split()
            while len([w for w in WORD_TOK.word_tokenize(" ".join(toks))
                       if any(c not in dt_text.PUNCTUATION_SET for c in w)]) > n:
                toks.pop()
            t = " ".join(toks) + "."
            got = [w for w in WORD_TOK.word_tokenize(t) if any(c not in dt_text.PUNCTUATION_SET for c in w)]
            assert len(got) == n, len(got)
            return t
        return make

    out.append(("gq:edge_50_words", search(rng, exact_words(50), gq, "pass")))
    out.append(("gq:edge_49_words", search(rng, exact_words(49), gq, "gopher_short_doc")))

    # ---------------- Gopher repetition ----------------
    def r_(target, make):
        out.append(("gr:" + target, search(rng, make, gr, target)))

    def para_dup(r):
        ps = [prose(r, 2) for _ in range(4)]
        return "\n\n".join(ps + ps[:3] + [prose(r, 1)])

    r_("dup_para_frac", para_dup)

    def para_char_dup(r):
        long_p = prose_lines(r, 3, 3)
        ps = [prose(r, 1) for _ in range(8)]
        return "\n\n".join(ps[:4] + [long_p] + ps[4:] + [long_p])

    r_("dup_para_char_frac", para_char_dup)

    def line_dup(r):
        lines = []
        for i in range(10):
            lines.append(sentence(r))
            lines.append(pick(r, ["Read more.", "Reply."]))
        return "\n".join(lines)

    r_("dup_line_frac", line_dup)

    def line_char_dup(r):
        long_l = prose(r, 4)
        lines = [sentence(r) for _ in range(9)]
        return "\n".join(lines[:3] + [long_l] + lines[3:6] + [long_l] + lines[6:])

    r_("dup_line_char_frac", line_char_dup)

    def top2(r):
        return "\n".join(sentence(r)[:-1] + " near the lighthouse keeper and the lighthouse keeper." for _ in range(6))

    r_("top_2_gram", top2)

    def top_k(k, long_gram, n_sent):
        def make(r):
            parts = []
            for i in range(n_sent):
                s = sentence(r)[:-1]
                # a short k-1 gram that is more frequent than the long k-gram keeps the top (k-1)-gram short
                parts.append(s + " " + " ".join(["to", "it", "as", "so"][: k - 1]) + " " + pick(r, NOUNS) + ".")
                if i % 2 == 0:
                    parts.append(pick(r, NAMES) + " " + long_gram + " " + pick(r, PLACES) + ".")
            return " ".join(parts)
        return make

    r_("top_3_gram", top_k(3, "extraordinarily magnificent cathedrals", 6))
    r_("top_4_gram", top_k(4, "extraordinarily magnificent cathedral towers", 6))

    def dup_n(n):
        # a span of exactly n words whose last word is long, repeated in different contexts; fillers vary the length
        span = " ".join(["old", "red", "oak", "box", "lid", "tin", "cup", "jar", "pen"][: n - 1] + ["unquestionably"])

        def make(r):
            parts = [prose(r, r.randint(2, 12))]
            for _ in range(r.randint(2, 5)):
                # the words around the span vary, so the repeated span is exactly n words long
                parts.append(pick(r, NAMES) + " " + pick(r, VERBS) + " " + span + " " + pick(r, VERBS_I) + " "
                             + pick(r, ADVS) + ".")
                parts.append(prose(r, r.randint(0, 2)))
            return " ".join(p for p in parts if p)
        return make

    for n in range(5, 11):
        r_(f"duplicated_{n}_n_grams", dup_n(n))
    r_("pass", lambda r: prose_lines(r, 6, 2))

    # ---------------- C4 ----------------
    def c(target, make):
        out.append(("c4:" + target, search(rng, make, lambda t: c4(t)[0], target)))

    c("pass", lambda r: prose_lines(r, 4, 2))  # all lines kept
    c("pass", lambda r: "Welcome to the Home Page\n" + prose_lines(r, 3, 2) + "\nMenu\nAbout us | Contact\n"
      + prose(r, 1)[:-1] + "...\n" + "Thank you.\n" + prose(r, 2) + " [1]\n"
      + "The tower was built in 1850.[2] It still stands.[citation needed]\nSee the map [edit] for details.\n"
      + "Please enable JavaScript to view the comments powered by our partner.\n"
      + "By using this site you agree to our Terms of Use and Privacy Policy.\n"
      + "This website uses cookies to improve your experience.\n"
      + "x" * 1001 + " is a very long word indeed.\n"
      + "Quoted lines end with a quote mark, as in \"this one.\"\nOr 'this one'\n"
      + "A { brace in a line without terminal punctuation does not drop the page\n"
      + "Lorem ipsum in a line that is dropped earlier does not drop the page either")
    c("lorem_ipsum", lambda r: prose_lines(r, 4, 2) + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.")
    c("curly_bracket", lambda r: prose_lines(r, 4, 2) + "\nThe function returns { value: 1 } when called.")
    c("too_few_sentences", lambda r: prose_lines(r, 2, 2))
    c("too_few_sentences", lambda r: "Dr. Smith met Mr. Jones at 5 p.m. in the U.S. embassy. They talked.\n"
      + "Short line\n" + prose(r, 2))
    c("pass", lambda r: "The old tower stood tall. Its bells rang! Did anyone hear? Nobody knew... "
      + "The keeper smiled.\n" + prose(r, 1))  # sentence counting with ! ? and an ellipsis inside a line
    c("too_few_sentences", lambda r: "Hello world . . . and so on and so forth.\n" + prose(r, 2))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------------------------


def run_minhash(corpus_path, work):
    """Runs datatrove's 4 stages (logs silenced; they also land in work/logs)."""
    import contextlib
    import io

    with contextlib.redirect_stderr(io.StringIO()):
        return _run_minhash(corpus_path, work)


def _run_minhash(corpus_path, work):
    cfg = MinhashConfig()
    sig_dir, buckets_dir, clusters_dir = (os.path.join(work, x) for x in ("sigs", "buckets", "clusters"))
    out_dir, rm_dir, logs = os.path.join(work, "out"), os.path.join(work, "removed"), os.path.join(work, "logs")
    reader = lambda: JsonlReader(os.path.dirname(corpus_path), glob_pattern=os.path.basename(corpus_path),
                                 compression=None)
    LocalPipelineExecutor([reader(), MinhashDedupSignature(sig_dir, config=cfg)], tasks=1, workers=1,
                          logging_dir=logs + "/1").run()
    LocalPipelineExecutor([MinhashDedupBuckets(sig_dir, buckets_dir, config=cfg)], tasks=cfg.num_buckets, workers=1,
                          logging_dir=logs + "/2").run()
    LocalPipelineExecutor([MinhashDedupCluster(buckets_dir, clusters_dir, config=cfg, save_cluster_id=True,
                                               save_cluster_size=True)], tasks=1, workers=1,
                          logging_dir=logs + "/3").run()
    LocalPipelineExecutor([reader(), MinhashDedupFilter(clusters_dir, exclusion_writer=JsonlWriter(rm_dir, compression=None),
                                                        load_cluster_ids=True, load_cluster_sizes=True),
                           JsonlWriter(out_dir, compression=None)], tasks=1, workers=1, logging_dir=logs + "/4").run()

    def ids_in(folder):
        ids = []
        for f in sorted(os.listdir(folder)):
            with open(os.path.join(folder, f)) as fh:
                ids += [json.loads(line)["id"] for line in fh if line.strip()]
        return ids

    kept, dropped = ids_in(out_dir), ids_in(rm_dir)

    def read_u32(path):
        if not os.path.exists(path):
            return []
        with open(path, "rb") as fh:
            data = fh.read()
        return list(struct.unpack(f"<{len(data) // 4}I", data))

    removed_idx = read_u32(os.path.join(clusters_dir, "000000.remove"))
    cl = read_u32(os.path.join(clusters_dir, "000000.clusters"))
    sz = read_u32(os.path.join(clusters_dir, "000000.sizes"))
    cluster_of = dict(zip(cl[0::2], cl[1::2]))
    size_of = dict(zip(sz[0::2], sz[1::2]))
    pairs = []
    for f in sorted(os.listdir(buckets_dir)):
        b = int(f.split("_")[0])
        vals = read_u32(os.path.join(buckets_dir, f))
        for k in range(0, len(vals), 4):
            f1, d1, f2, d2 = vals[k:k + 4]
            assert f1 == 0 and f2 == 0
            pairs.append([b, d1, d2])
    # per-rank sig files (sorted by stage 1): check one record layout for the spec
    rec = open(os.path.join(sig_dir, "bucket_000", "00000.minhash.sig"), "rb").read(8 * 8 + 4)
    return kept, dropped, removed_idx, cluster_of, size_of, pairs, rec


def main():
    got = {"datatrove": datatrove.__version__ if hasattr(datatrove, "__version__") else None, "spacy": spacy.__version__,
           "xxhash": xxhash.VERSION, "numpy": np.__version__}
    from importlib.metadata import version
    got["datatrove"] = version("datatrove")
    for k, v in EXPECTED_VERSIONS.items():
        if got[k] != v:
            print(f"WARNING: {k} {got[k]} != pinned {v}", file=sys.stderr)

    os.makedirs(GOLDEN_DIR, exist_ok=True)
    docs = build_corpus()
    texts = [d["text"] for d in docs]
    with open(CORPUS_OUT, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"id": d["id"], "text": d["text"], "dump": d["dump"], "domain": d["domain"]},
                                ensure_ascii=False) + "\n")
    print(f"corpus: {len(docs)} docs, {os.path.getsize(CORPUS_OUT)} bytes", file=sys.stderr)

    # ---- MinHash via datatrove ----
    with tempfile.TemporaryDirectory(prefix="dt_golden_") as work:
        kept, dropped, removed_idx, cluster_of, size_of, pairs, rec = run_minhash(CORPUS_OUT, work)
    ids = [d["id"] for d in docs]
    assert sorted(kept + dropped) == sorted(ids), "kept+dropped must cover the corpus"
    assert set(dropped) == {ids[i] for i in removed_idx}
    # cluster root = the member of the cluster that is not removed
    root_of_cluster = {}
    for idx, cid in cluster_of.items():
        if idx not in removed_idx:
            assert cid not in root_of_cluster
            root_of_cluster[cid] = idx
    # ---- cross-check with the model ----
    m_removed, m_roots, m_pairs = model_dedup(texts)
    flat_model_pairs = [[b, i1, i2] for b, bp in enumerate(m_pairs) for i1, i2 in bp]
    assert flat_model_pairs == pairs, "model pairs != datatrove pairs"
    assert m_removed == set(removed_idx), "model removals != datatrove removals"
    for idx, cid in cluster_of.items():
        assert m_roots[idx] == root_of_cluster[cid]
    print(f"minhash: kept {len(kept)}, dropped {len(dropped)}, pairs {len(pairs)}; model agrees", file=sys.stderr)

    # ---- step-by-step ----
    steps = []
    for i in range(5):
        t = texts[i]
        norm = simplify_text(t)
        toks = WORD_TOK.word_tokenize(norm)
        grams = [" ".join(toks[k:k + 5]) for k in range(len(toks) - 4)]
        sh = shingle_set(t)
        assert [int(x) for x in SIG_STEP.get_shingles(t).reshape(-1)] == [xxhash.xxh64_intdigest(g) for g in grams]
        e = {"id": ids[i], "normalized": norm, "tokens": toks, "n_ngrams": len(grams), "n_unique_shingles": len(sh),
             "first_ngrams": grams[:10], "first_hashes": [str(xxhash.xxh64_intdigest(g)) for g in grams[:10]]}
        if sh:
            sig = SIG_STEP.get_signature(SIG_STEP.get_shingles(t))
            flat = [int(v) for b in sig for v in b]
            assert flat == model_signature(sh)
            e["signature"] = [str(v) for v in flat]
        else:
            e["signature"] = None
        steps.append(e)

    # ---- filters ----
    per_doc = []
    counts = {}
    for i, d in enumerate(docs):
        t = d["text"]
        q_res, q300 = gq(t), gq(t, max_doc_words=300)
        r_res = gr(t)
        c_res, c_out = c4(t)
        words = WORD_TOK.word_tokenize(t)
        e = {
            "id": d["id"], "kind": d["kind"],
            "minhash": {"kept": d["id"] in kept},
            "gopher_quality": q_res, "gopher_quality_max300": q300, "gopher_repetition": r_res, "c4": c_res,
            "n_words": len(words),
            "n_non_symbol_words": sum(1 for w in words if any(ch not in dt_text.PUNCTUATION_SET for ch in w)),
        }
        if d["info"]:
            e["info"] = d["info"]
        if i in cluster_of:
            e["minhash"].update({"cluster_root": ids[root_of_cluster[cluster_of[i]]], "cluster_size": size_of[i]})
        e["minhash"]["n_shingles"] = len(shingle_set(t))
        if c_res == "pass" and c_out != t:
            e["c4_text"] = c_out
        for k in ("gopher_quality", "gopher_quality_max300", "gopher_repetition", "c4"):
            counts.setdefault(k, {}).setdefault(e[k], 0)
            counts[k][e[k]] += 1
        per_doc.append(e)
    # every targeted document got its intended reason
    for d, e in zip(docs, per_doc):
        k = d["kind"]
        if k.startswith(("gq:", "gr:", "c4:")):
            fam, target = k.split(":")[0], k.split(":")[1]
            col = {"gq": "gopher_quality", "gr": "gopher_repetition", "c4": "c4"}[fam]
            if "max_doc_words=300" in k:
                col = "gopher_quality_max300"
            if target.startswith("edge_"):
                continue
            assert e[col] == target, (k, e[col])
    print("filter reasons:", json.dumps(counts, indent=1), file=sys.stderr)

    # ---- tokenizer / sentence cases for the Swift port ----
    tok_cases = [
        "Hello, world!", "I can't believe it's not butter.", "Don't do that -- it's dangerous...",
        "The U.S. and the U.K. signed it in Jan. 2020.", "Mr. Smith paid $5.99 (or 5,99 EUR) for 3kg.",
        "e-mail me at info@example.com or visit https://example.com/a?b=c.", "She said: \"yes\"; he said 'no'.",
        "Rock'n'roll isn't dead, y'all!", "10km, 5mph, 100% and 3.14 are numbers.", "A-B testing, well-known, 1-2-3.",
        "#hashtag @user :) <3 :-(", "Wait... what?! Really?!", "Plan B. Section A.1 of Act No. 5.",
        "naïve café — “quotes” ‘single’ «guillemets»", "Tabs\tand  double  spaces\nand newlines.",
        "gonna gotta cannot wanna lemme", "The cats' toys and the cat's toy.", "He's 6'2\" tall, ain't he?",
        "Items: •one •two", "1990s 21st 3rd 4th 2nd", "C++ and C# and F# are languages.", "end.Start of next",
        "lowercase.Uppercase e.g. i.e. etc. vs. approx.", "Ω ≈ 3×10⁸ m/s ± 2 °C", "http://a.b/c, www.d.e",
        "(parenthesized) [bracketed] {braced}", "Don’t won’t can’t — curly apostrophes", "…and ‥ or ⋯",
        "Q: What's 2+2? A: 4.", "O'Neill's and O’Brien’s", "That's 'quoted' and \"double quoted\" text.",
    ]
    tokenizer_cases = [{"text": s, "tokens": WORD_TOK.word_tokenize(s)} for s in tok_cases]
    norm_cases = [{"text": s, "normalized": simplify_text(s), "tokens": WORD_TOK.word_tokenize(simplify_text(s))}
                  for s in tok_cases]
    sent_cases_src = [
        "One. Two. Three.", "Dr. Smith went home. He slept.", "Is it? Yes! Really.", "Wait... then go.",
        "He said \"Stop.\" Then left.", "The U.S. is big. Canada too.", "Hello world . . . and so on.",
        "Version 2.0 was released. It worked.", "No terminal punctuation", "Ends with ellipsis...",
        "Two  spaces.  Then more.", "a.b.c. d. e", "Plan B. It failed.", "Wow!!! Amazing?! Yes.",
    ]
    sentence_cases = [{"text": s, "sentences": len(split_into_sentences(s))} for s in sent_cases_src]
    hash_cases = [{"text": s, "xxh64": str(xxhash.xxh64_intdigest(s))}
                  for s in ["", "a", "the quick brown fox jumps", "café au lait 0 0", "0 0 0 0 0", "ωμέγα ☕ €"]]

    golden = {
        "generator": "tools/golden/make_data_golden.py",
        "versions": got,
        "minhash_config": {"n_grams": 5, "num_buckets": 14, "hashes_per_bucket": 8, "seed": 1, "hash": "xxhash64",
                           "precision": 64, "params_file": "tools/codegen/datatrove_minhash_params.json"},
        "notes": [
            "Document index = 0-based line number in corpus.jsonl; 64-bit values are decimal strings.",
            "minhash.cluster_root is the id of the kept document of the union-find cluster (absent: not in any pair).",
            "gopher_quality_max300 = GopherQualityFilter(max_doc_words=300), all other arguments default.",
            "c4_text: C4QualityFilter output text, present only if the document passes and the text changed.",
            "n_words / n_non_symbol_words: datatrove English word_tokenize (spaCy) token counts of the raw text.",
        ],
        "step_by_step": steps,
        "dup_pairs": pairs,
        "docs": per_doc,
        "tokenizer_cases": tokenizer_cases,
        "normalization_cases": norm_cases,
        "sentence_cases": sentence_cases,
        "hash_cases": hash_cases,
    }
    # ---- the pure-Python tokenizer model (tools/codegen/spacy_en_tokenizer_port.py) must agree with spaCy ----
    write_tables()
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from spacy_en_tokenizer_port import Tokenizer

    port = Tokenizer.from_tables(TABLES_OUT)
    for t in texts + [simplify_text(t) for t in texts] + tok_cases:
        assert port.word_tokenize(t) == WORD_TOK.word_tokenize(t), t
    for t in sent_cases_src + [ln.strip() for t in texts for ln in t.splitlines() if ln.strip()]:
        assert port.count_sentences(t) == len(split_into_sentences(t)), t
    print("spacy_en_tokenizer_port agrees with spaCy on the corpus", file=sys.stderr)

    with open(GOLDEN_OUT, "w", encoding="utf-8") as fh:
        json.dump(golden, fh, ensure_ascii=False, indent=None, separators=(",", ":"))
        fh.write("\n")
    print(f"golden: {os.path.getsize(GOLDEN_OUT)} bytes", file=sys.stderr)

    # ---- parameters and tables ----
    with open(PARAMS_OUT, "w") as fh:
        fh.write('{"source": "datatrove 0.10.1 MinhashDedupSignature.parameters, MinhashConfig() defaults: '
                 'numpy.random.RandomState(1); a = randint(1, 2**61-1, uint64, (1,112)); '
                 'b = randint(0, 2**61-1, uint64, (1,112)) drawn after a", "mersenne_prime": 2305843009213693951,\n')
        fh.write(' "a": [' + ", ".join(str(x) for x in A_PARAMS) + '],\n')
        fh.write(' "b": [' + ", ".join(str(x) for x in B_PARAMS) + ']}\n')
    print("ok", file=sys.stderr)


def write_tables():
    from spacy.pipeline.sentencizer import Sentencizer
    from spacy.symbols import ORTH

    nlp = spacy.blank("en")
    tk = nlp.tokenizer
    specials = {k: [d.get(ORTH, d.get("ORTH")) for d in v] for k, v in sorted(tk.rules.items())}
    tables = {
        "source": "datatrove 0.10.1 (datatrove.utils.text, filters) and spaCy 3.8.18 spacy.blank('en')",
        "punctuation": dt_text.PUNCTUATION,
        "punctuation_codepoints": [ord(c) for c in dt_text.PUNCTUATION],
        "terminal_punctuation_codepoints": sorted(ord(c) for c in dt_text.TERMINAL_PUNCTUATION),
        "punctuation_set_codepoints": sorted(ord(c) for c in dt_text.PUNCTUATION_SET),
        "numbers_pattern": dt_text.NUMBERS_PATTERN.pattern,
        "gopher_stop_words": gopher_quality_filter.STOP_WORDS,
        "c4_citation_regex": c4_filters.CITATION_REGEX.pattern,
        "c4_end_punctuation": list(c4_filters.END_PUNCTUATION),
        "c4_policy_substrings": c4_filters.POLICY_SUBSTRINGS,
        "sentencizer_punct_chars": sorted(Sentencizer.default_punct_chars),
        "spacy_en": {
            "prefix_search": tk.prefix_search.__self__.pattern,
            "suffix_search": tk.suffix_search.__self__.pattern,
            "infix_finditer": tk.infix_finditer.__self__.pattern,
            "url_match": tk.url_match.__self__.pattern,
            "token_match": None,
            "faster_heuristics": True,
            "special_cases": specials,
            "special_cases_in_phrase_matcher": sorted(
                k for k in specials
                if tk.find_prefix(k) or tk.find_suffix(k) or tk.find_infix(k) or " " in k),
        },
    }
    with open(TABLES_OUT, "w", encoding="utf-8") as fh:
        json.dump(tables, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
