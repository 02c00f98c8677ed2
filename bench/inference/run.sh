#!/usr/bin/env bash
# Inference benchmark: dsllm vs llama.cpp on a DeepSeek-shaped random model (7B layer shapes, few layers).
#   bash bench/inference/run.sh [layers=2] [extra bench.py args]
# Makes bench/out/ds-<L>l (bf16 safetensors + DeepSeek tokenizer), quantizes it with dsllm to q8_0, q4_0, q4_k_m,
# bf16 and f16 GGUF (dsllm's files are byte-identical to llama-quantize's), and runs both engines on those files
# with a 512-token prompt. Needs llama-cpp-python (see tools/requirements.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
layers="${1:-2}"; shift || true
dsllm="$root/.build/release/dsllm"
model="$root/bench/out/ds-${layers}l"
if [[ -z "${LLAMA_CPP_LIB_PATH:-}" && -d "$root/.venv-tools/llama-cpp-lib" ]]; then
    export LLAMA_CPP_LIB_PATH="$root/.venv-tools/llama-cpp-lib"
fi
[[ -s "$model/model.safetensors" ]] || python3 "$root/bench/inference/make_model.py" --out "$model" --layers "$layers" --dsllm "$dsllm"
for t in q8_0 q4_0 q4_k_m bf16 f16; do
    [[ -s "$model-$t.gguf" ]] || "$dsllm" quantize --in "$model" --out "$model-$t.gguf" --type "$t"
done
python3 "$root/bench/inference/bench.py" --dsllm "$dsllm" --prompt 512 "$@" \
    "$model-q8_0.gguf" "$model-q4_0.gguf" "$model-q4_k_m.gguf" "$model-bf16.gguf" "$model-f16.gguf" \
    2> >(grep -v "n_ctx" >&2)
