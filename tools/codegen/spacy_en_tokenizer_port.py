#!/usr/bin/env python3
"""Pure-Python model of the word tokenizer datatrove 0.10.1 uses for English, for porting to Swift.

datatrove's English word tokenizer is `spacy.blank("en")` (+ the "sentencizer" pipe), tokens = token.text with
whitespace-only tokens dropped (datatrove's strip_strings). This module re-implements spaCy 3.8.18's Tokenizer
(spacy/tokenizer.pyx: _tokenize_affixes, _split_affixes, _attach_tokens, _apply_special_cases) and the Sentencizer
from the rule tables that tools/golden/make_data_golden.py dumps to tools/codegen/datatrove_text_tables.json, with no spaCy import.
tools/golden/make_data_golden.py checks it against spaCy on the whole golden corpus and on a fuzz set.

Usage:
    from spacy_en_tokenizer_port import Tokenizer
    tok = Tokenizer.from_tables("tools/codegen/datatrove_text_tables.json")
    tok.word_tokenize("I can't go.")   # ['I', 'ca', "n't", 'go', '.']
    tok.count_sentences("One. Two.")   # 2  (what datatrove's split_into_sentences returns the length of)
"""

import json
import re
import unicodedata


class Tokenizer:
    def __init__(self, prefix, suffix, infix, url, specials, matcher_keys, sent_punct):
        self.prefix_search = re.compile(prefix).search
        self.suffix_search = re.compile(suffix).search
        self.infix_finditer = re.compile(infix).finditer
        self.url_match = re.compile(url).match
        self.specials = specials  # key -> list of token strings
        self.sent_punct = set(sent_punct)
        # special cases that contain an affix or a space are ALSO matched after tokenization (PhraseMatcher pass):
        # pattern = the key's tokenization without special cases
        self.patterns = {}
        for k in matcher_keys:
            pat = tuple(t for t, _ in self._tokenize_affixes(k, with_specials=False))
            self.patterns.setdefault(pat, set()).add(k)
        self.max_pat = max((len(p) for p in self.patterns), default=0)

    @classmethod
    def from_tables(cls, path):
        with open(path, encoding="utf-8") as fh:
            t = json.load(fh)
        s = t["spacy_en"]
        return cls(s["prefix_search"], s["suffix_search"], s["infix_finditer"], s["url_match"], s["special_cases"],
                   s["special_cases_in_phrase_matcher"], t["sentencizer_punct_chars"])

    # --- spaCy Tokenizer._tokenize_affixes: split on whitespace runs; a single ' ' after a token is absorbed ---
    def _tokenize_affixes(self, text, with_specials=True):
        """Returns [(token_text, is_whitespace_token)]. Whitespace = str.isspace()."""
        out = []
        if not text:
            return out
        start = 0
        in_ws = text[0].isspace()
        for i, ch in enumerate(text):
            if ch.isspace() != in_ws:
                if start < i:
                    out += self._chunk(text[start:i], with_specials)
                start = i + 1 if ch == " " else i
                in_ws = not in_ws
        if start < len(text):
            out += self._chunk(text[start:], with_specials)
        return out

    def _chunk(self, span, with_specials):
        if span.isspace():  # whitespace runs (minus one absorbed ' ') become one whitespace token
            return [(span, True)]
        if with_specials and span in self.specials:
            return [(t, False) for t in self.specials[span]]
        prefixes, suffixes = [], []
        rest = self._split_affixes(span, prefixes, suffixes, with_specials)
        toks = list(prefixes)
        if rest:
            if with_specials and rest in self.specials:
                toks += self.specials[rest]
            elif self.url_match(rest):
                toks.append(rest)
            else:
                start = 0
                start_before_infixes = start
                for m in self.infix_finditer(rest):
                    a, b = m.start(), m.end()
                    if a == start_before_infixes:  # an infix at position 0 is ignored
                        continue
                    if a != start:
                        toks.append(rest[start:a])
                    if a != b:
                        toks.append(rest[a:b])
                    start = b
                if rest[start:]:
                    toks.append(rest[start:])
        toks += suffixes[::-1]
        return [(t, False) for t in toks]

    def _find_prefix(self, s):
        m = self.prefix_search(s)
        return (m.end() - m.start()) if m else 0

    def _find_suffix(self, s):
        m = self.suffix_search(s)
        return (m.end() - m.start()) if m else 0

    def _split_affixes(self, s, prefixes, suffixes, with_specials):
        last_size = 0
        while s and len(s) != last_size:
            if with_specials and s in self.specials:
                break
            last_size = len(s)
            pre_len = self._find_prefix(s)
            if pre_len:
                prefix, minus_pre = s[:pre_len], s[pre_len:]
                if minus_pre and with_specials and minus_pre in self.specials:
                    s = minus_pre
                    prefixes.append(prefix)
                    break
            suf_len = self._find_suffix(s[pre_len:])
            if suf_len:
                suffix, minus_suf = s[-suf_len:], s[:-suf_len]
                if minus_suf and with_specials and minus_suf in self.specials:
                    s = minus_suf
                    suffixes.append(suffix)
                    break
            if pre_len and suf_len and (pre_len + suf_len) <= len(s):
                s = s[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                s = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                s = minus_suf
                suffixes.append(suffix)
        return s

    # --- spaCy Tokenizer._apply_special_cases (PhraseMatcher over the token sequence) ---
    def _apply_special_cases(self, toks, text):
        # token character offsets are needed for span.text (which includes inter-token whitespace)
        texts = [t for t, _ in toks]
        n = len(texts)
        matches = []
        for i in range(n):
            for k in range(1, min(self.max_pat, n - i) + 1):
                if tuple(texts[i:i + k]) in self.patterns:
                    matches.append((i, i + k))
        if not matches:
            return toks
        # longest first; equal length: lower start first. A span is kept if neither its first nor its last token
        # was covered by an earlier-considered span (kept or not); all its tokens are then marked covered.
        matches.sort(key=lambda m: (m[1] - m[0], -m[0]))
        seen, kept = set(), []
        for a, b in reversed(matches):
            if a not in seen and (b - 1) not in seen:
                kept.append((a, b))
            seen.update(range(a, b))
        kept.sort()
        offs = self._offsets(toks, text)
        out, i, ki = [], 0, 0
        while i < n:
            if ki < len(kept) and kept[ki][0] == i:
                a, b = kept[ki]
                ki += 1
                span_text = text[offs[a]:offs[b - 1] + len(texts[b - 1])]
                if span_text in self.specials:
                    out += [(t, False) for t in self.specials[span_text]]
                else:
                    out += toks[a:b]
                i = b
            else:
                out.append(toks[i])
                i += 1
        return out

    @staticmethod
    def _offsets(toks, text):
        offs, pos = [], 0
        for t, _ in toks:
            pos = text.index(t, pos)
            offs.append(pos)
            pos += len(t)
        return offs

    def tokenize(self, text):
        """All tokens, whitespace tokens included, as (text, is_whitespace)."""
        return self._apply_special_cases(self._tokenize_affixes(text), text)

    def word_tokenize(self, text):
        """datatrove SpaCyTokenizer.word_tokenize: token texts, stripped, empty (whitespace-only) ones dropped."""
        return [t.strip() for t, _ in self.tokenize(text) if t.strip()]

    # --- spaCy Sentencizer + datatrove split_into_sentences ---
    def count_sentences(self, text):
        """len(datatrove.utils.text.split_into_sentences(text)) for English: number of sentencizer sentences, min 1."""
        toks = [t for t, _ in self.tokenize(text)]
        if not toks:
            return 1
        starts = 1
        seen_period = False
        for t in toks:
            in_punct = t in self.sent_punct
            if seen_period and not is_punct(t) and not in_punct:
                starts += 1
                seen_period = False
            elif in_punct:
                seen_period = True
        return starts


def is_punct(text):
    """spaCy lexeme IS_PUNCT: every character's Unicode category starts with 'P' (a whitespace token is not)."""
    return all(unicodedata.category(c).startswith("P") for c in text)
