#!/usr/bin/env bash
# Tokenizer encode benchmark: dsllm vs HF tokenizers vs llama.cpp (see bench.py's docstring).
#
#   bash bench/tokenizer/run.sh [extra bench.py args, e.g. --runs 3]
#
# Needs a release build (swift build -c release) and Python 3 with tokenizers and
# llama-cpp-python. The corpus is generated once and cached at bench/out/corpus.txt
# (git-ignored); delete it to regenerate. Results go to bench/out/tokenizer-results.json.
# Environment: DSLLM (binary), VOCAB (GGUF), LLAMA_CPP_LIB_PATH (see below).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dsllm="${DSLLM:-$root/.build/release/dsllm}"
vocab="${VOCAB:-$root/Sources/DSTokenizer/Resources/ggml-vocab-deepseek-llm.gguf}"
corpus="$root/bench/out/corpus.txt"

# A portable llama.cpp CPU backend, if one was built there (see tools/golden/make_tokenizer_golden.py:
# the installed wheel may target another CPU).
if [[ -z "${LLAMA_CPP_LIB_PATH:-}" && -d "$root/.venv-tools/llama-cpp-lib" ]]; then
    export LLAMA_CPP_LIB_PATH="$root/.venv-tools/llama-cpp-lib"
fi

[[ -x "$dsllm" ]] || { echo "error: $dsllm not found; run: swift build -c release" >&2; exit 1; }
[[ -s "$corpus" ]] || python3 "$root/bench/tokenizer/make_corpus.py" "$corpus"

python3 "$root/bench/tokenizer/bench.py" --dsllm "$dsllm" --vocab "$vocab" --corpus "$corpus" \
    --out "$root/bench/out/tokenizer-results.json" "$@"

# Vocabulary load time and BPE training, same machine, same run.
python3 "$root/bench/tokenizer/load.py" --dsllm "$dsllm" --vocab "$vocab"
python3 "$root/bench/tokenizer/train.py" --dsllm "$dsllm" --corpus "$corpus"
