#!/usr/bin/env bash
# Inference benchmark: dsllm vs llama.cpp on a DeepSeek-shaped random model (7B layer shapes, few layers).
#   bash bench/inference/run.sh [layers=2] [extra bench.py args]
# Makes bench/out/ds-<L>l (bf16 safetensors + DeepSeek tokenizer), quantizes it with dsllm to q8_0, q4_0, q4_k_m,
# bf16 and f16 GGUF (dsllm's files are byte-identical to llama-quantize's), and runs both engines on those files
# with a 512-token prompt. Needs the llama.cpp build of tools/golden/build_llama_cpp.sh (and gguf, numpy).
#   ISA=avx2 bash bench/inference/run.sh   # dsllm's AVX2 kernels vs an AVX2-only llama.cpp
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
layers="${1:-2}"; shift || true
dsllm="$root/.build/release/dsllm"
model="$root/bench/out/ds-${layers}l"
# The anchor: llama.cpp built for this CPU's flags (tools/golden/build_llama_cpp.sh); with ISA=avx2 the AVX2-only build
# (tools/golden/build_llama_cpp.sh --avx2-only) against dsllm's AVX2 kernels (DSLLM_ISA=avx2).
if [[ "${ISA:-}" == "avx2" ]]; then
    export PYTHONPATH="$root/.venv-tools/llama-cpp-avx2${PYTHONPATH:+:$PYTHONPATH}"
    set -- --isa avx2 "$@"
else
    export PYTHONPATH="$root/.venv-tools/llama-cpp${PYTHONPATH:+:$PYTHONPATH}"
fi
[[ -s "$model/model.safetensors" ]] || python3 "$root/bench/inference/make_model.py" --out "$model" --layers "$layers" --dsllm "$dsllm"
for t in q8_0 q4_0 q4_k_m bf16 f16; do
    [[ -s "$model-$t.gguf" ]] || "$dsllm" quantize --in "$model" --out "$model-$t.gguf" --type "$t"
done
python3 "$root/bench/inference/bench.py" --dsllm "$dsllm" --prompt 512 "$@" \
    "$model-q8_0.gguf" "$model-q4_0.gguf" "$model-q4_k_m.gguf" "$model-bf16.gguf" "$model-f16.gguf" \
    2> >(grep -v "n_ctx" >&2)
