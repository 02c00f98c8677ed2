#!/usr/bin/env python3
"""The hand-made inputs of the data pipeline tests (Tests/DSDataTests/Golden): one line per failure kind the ingest
step must count and name (broken JSON, not an object, no text field, blank text, invalid UTF-8, an over-long line,
blank lines) between good documents, and a small file with optional fields, also gzip- and zstd-compressed.

  python3 tools/data/make_data_test_inputs.py [--out Tests/DSDataTests/Golden]

The JSONL files come out byte for byte as committed; the .gz (`gzip -9n`) and .zst (`zstd -19`) bytes depend on the
compressor's version, their content does not.
"""
import argparse
import os
import subprocess

BAD_LINES = [
    b'{"id": "ok1", "text": "A good document."}',
    b'{"id": "broken", "text": "unterminated',            # not JSON
    b'[1, 2, 3]',                                          # JSON, not an object
    b'{"id": "notext", "body": "x"}',                     # no "text"
    b'{"id": "empty", "text": "   "}',                    # blank text
    b'{"id": "latin1", "text": "caf\xe9"}',               # invalid UTF-8 (line 6: the test names it)
    b'{"id": "huge", "text": "' + b"x" * 5000 + b'"}',   # longer than the tests' --max-line-bytes
    b'',
    b'{"id": "ok2", "text": "Another good one.", "dump": "d2"}',
    b'',
]

SMALL = (
    '{"id": "a1", "text": "First document.\\nSecond line.", "dump": "2024-01", "domain": "web"}\n'
    '{"id": "a2", "text": "Another one with ünïcödé — and a “quote”.", "domain": "books"}\n'
    '{"text": "No id here, dump and domain from the command line."}\n'
).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Tests/DSDataTests/Golden"))
    a = ap.parse_args()
    with open(os.path.join(a.out, "bad-input.jsonl"), "wb") as f:
        f.write(b"\n".join(BAD_LINES))
    small = os.path.join(a.out, "small.jsonl")
    with open(small, "wb") as f:
        f.write(SMALL)
    with open(small + ".gz", "wb") as f:
        f.write(subprocess.run(["gzip", "-9n", "-c", small], check=True, capture_output=True).stdout)
    subprocess.run(["zstd", "-19", "-q", "-f", small, "-o", small + ".zst"], check=True)


if __name__ == "__main__":
    main()
