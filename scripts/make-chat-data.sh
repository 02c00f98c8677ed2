#!/usr/bin/env bash
# Offline chat and preference data for `dsllm sft` / `dsllm dpo` demos: ChatterBot's English corpus (PyPI
# chatterbot-corpus 1.2.0, BSD-3-Clause), downloaded once with a pinned hash, converted by
# tools/data/chatterbot_to_jsonl.py. Usage: bash scripts/make-chat-data.sh [OUT_DIR, default chat-data]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-chat-data}
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --no-deps --require-hashes -r tools/data/requirements-chat.txt -d "$work/dist" -q
python3 -c "import zipfile, glob; zipfile.ZipFile(glob.glob('$work/dist/*.whl')[0]).extractall('$work/x')"
python3 -c "import yaml" 2>/dev/null || python3 -m pip install -q pyyaml
python3 tools/data/chatterbot_to_jsonl.py "$work/x/chatterbot_corpus/data/english" "$OUT"
