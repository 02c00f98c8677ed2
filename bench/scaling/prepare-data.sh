#!/usr/bin/env bash
# The data of the scaling sweep and the alignment demo: a 2048-token BPE tokenizer trained on the offline corpus
# (so tiny models are not dominated by a 102400-row LM head), the corpus near-deduplicated, shuffled (seeded) and
# tokenized into bench/out/scaling/shards. Usage: bash bench/scaling/prepare-data.sh [path/to/dsllm]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-.build/release/dsllm}
W=bench/out/scaling
mkdir -p "$W"
[ -f corpus/books.jsonl ] || bash scripts/make-corpus.sh corpus
if [ ! -f "$W/shards/train-000000.bin" ]; then
  python3 -c "
import json, glob
with open('$W/corpus.txt', 'w') as out:
    for p in sorted(glob.glob('corpus/*.jsonl')):
        for line in open(p):
            out.write(json.loads(line)['text'] + '\n')"
  "$B" tokenizer train --input "$W/corpus.txt" --vocab-size 2048 --out "$W/tokenizer.json" --quiet --overwrite
  # Training reads shards front to back: shuffle the documents (seeded) so every prefix mixes all domains.
  python3 tools/data/shuffle_corpus.py "$W/shuffled.jsonl"
  "$B" data ingest "$W/shuffled.jsonl" --out "$W/raw" --quiet --overwrite > /dev/null
  "$B" data dedup --near "$W/raw" --out "$W/dedup" --quiet --overwrite > /dev/null
  "$B" data tokenize "$W/dedup" --tokenizer "$W/tokenizer.json" --val-fraction 0.01 --shard-tokens 1000000000 --out "$W/shards" --quiet --overwrite
fi
