#!/usr/bin/env bash
# A real scaling sweep on this machine: a 2048-token BPE tokenizer trained on the offline corpus, the corpus
# tokenized with it (so tiny models are not dominated by a 102400-row LM head), then `dsllm scaling sweep` over
# bench/scaling/plan.json, the fits and the figures. Usage: bash bench/scaling/run.sh [path/to/dsllm]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-.build/release/dsllm}
W=bench/out/scaling
bash bench/scaling/prepare-data.sh "$B"
# Resumable: a second call continues the sweep (finished runs are skipped).
RESUME=(); [ -d "$W/sweep" ] && RESUME=(--resume)
time "$B" scaling sweep --plan bench/scaling/plan.json "${RESUME[@]}"
"$B" scaling fit "$W/sweep/results.jsonl"
"$B" scaling plot "$W/sweep/results.jsonl" --out "$W/figures" --overwrite
