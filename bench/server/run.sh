#!/usr/bin/env bash
# Server benchmark: dsllm serve vs llama.cpp's server (llama-cpp-python) on the inference benchmark's Q8_0 model.
#   bash bench/server/run.sh [extra bench.py args]
# Needs llama-cpp-python with its server extras (see tools/golden/requirements.txt) and the model from bench/inference/run.sh.
# llama.cpp's C++ llama-server is used too when built at .venv-tools/llama-server (or LLAMA_SERVER=path):
#   pip download llama-cpp-python==0.3.36 --no-deps --no-binary :all: ; tar xzf llama_cpp_python-0.3.36.tar.gz
#   cd llama_cpp_python-0.3.36/vendor/llama.cpp && cmake -B build -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
#     -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release \
#     && cmake --build build --target llama-server -j2 && cp -a build/bin/* <repo>/.venv-tools/llama-server/
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ -z "${LLAMA_CPP_LIB_PATH:-}" && -d "$root/.venv-tools/llama-cpp-lib" ]]; then
    export LLAMA_CPP_LIB_PATH="$root/.venv-tools/llama-cpp-lib"
fi
model="$root/bench/out/ds-2l-q8_0.gguf"
[[ -s "$model" ]] || bash "$root/bench/inference/run.sh" 2 --runs 1
server="${LLAMA_SERVER:-$root/.venv-tools/llama-server/llama-server}"
extra=()
[[ -x "$server" ]] && extra=(--llama-server "$server")
python3 "$root/bench/server/bench.py" --dsllm "$root/.build/release/dsllm" --model "$model" "${extra[@]}" "$@"
