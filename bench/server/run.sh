#!/usr/bin/env bash
# Server benchmark: dsllm serve vs llama.cpp's server (llama-cpp-python) on the inference benchmark's Q8_0 model.
#   bash bench/server/run.sh [extra bench.py args]
# Needs llama-cpp-python with its server extras (see tools/requirements.txt) and the model from bench/inference/run.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ -z "${LLAMA_CPP_LIB_PATH:-}" && -d "$root/.venv-tools/llama-cpp-lib" ]]; then
    export LLAMA_CPP_LIB_PATH="$root/.venv-tools/llama-cpp-lib"
fi
model="$root/bench/out/ds-2l-q8_0.gguf"
[[ -s "$model" ]] || bash "$root/bench/inference/run.sh" 2 --runs 1
python3 "$root/bench/server/bench.py" --dsllm "$root/.build/release/dsllm" --model "$model" "$@"
