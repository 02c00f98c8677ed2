#!/usr/bin/env python3
"""The offline corpus (corpus/*.jsonl) as one JSONL file with its documents shuffled by a fixed seed.

Training reads token shards front to back, so every prefix of the data should mix all domains.
Usage: python3 tools/data/shuffle_corpus.py OUT.jsonl   (used by bench/scaling/prepare-data.sh and scripts/default-model.sh)
"""
import glob, os, random, sys

lines = [l for p in sorted(glob.glob("corpus/*.jsonl")) for l in open(p)]
random.Random(0).shuffle(lines)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.writelines(lines)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
