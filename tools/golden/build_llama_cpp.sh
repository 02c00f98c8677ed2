#!/usr/bin/env bash
# Builds the llama.cpp anchor for benchmarks: llama-cpp-python 0.3.36 (its vendored llama.cpp) from source, with
# GGML_NATIVE=OFF and each GGML_AVX*/GGML_AVX512* flag ON only where /proc/cpuinfo lists the feature
# (GGML_AVX_VNNI=ON dies with SIGILL on Zen 4; a native build's AMX kernel died on Sapphire Rapids).
# Installs into .venv-tools/llama-cpp (add it to PYTHONPATH; bench/inference/run.sh does). ~10 min on 2 cores.
#   bash tools/golden/build_llama_cpp.sh [--avx2-only]    # --avx2-only: the anchor for DSLLM_ISA=avx2 runs
#   bash tools/golden/build_llama_cpp.sh --server         # llama.cpp's C++ llama-server, same flags, for bench/server
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { [[ " $flags " == *" $1 "* ]]; }
on() { if has "$1"; then echo "-D$2=ON"; else echo "-D$2=OFF"; fi; }
dest="$root/.venv-tools/llama-cpp"
args="-DGGML_NATIVE=OFF $(on avx GGML_AVX) $(on avx2 GGML_AVX2) $(on fma GGML_FMA) $(on f16c GGML_F16C) $(on bmi2 GGML_BMI2)"
if [[ "${1:-}" == "--avx2-only" ]]; then
    dest="$root/.venv-tools/llama-cpp-avx2"
    args="$args -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF"
else
    args="$args $(on avx_vnni GGML_AVX_VNNI) $(on avx512f GGML_AVX512) $(on avx512vbmi GGML_AVX512_VBMI)"
    args="$args $(on avx512_vnni GGML_AVX512_VNNI) $(on avx512_bf16 GGML_AVX512_BF16)"
    args="$args -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
fi
echo "CMAKE_ARGS=$args" >&2
if [[ "${1:-}" == "--server" ]]; then
    # The same vendored sources, built with cmake (from PyPI) into a static llama-server binary.
    dest="$root/.venv-tools/llama-server"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    pip download --no-deps --no-binary llama-cpp-python -d "$work" "llama-cpp-python==0.3.36" 1>&2
    tar xzf "$work"/llama_cpp_python-0.3.36.tar.gz -C "$work"
    pip install --target "$work/tools" cmake ninja 1>&2
    export PATH="$work/tools/bin:$PATH" PYTHONPATH="$work/tools${PYTHONPATH:+:$PYTHONPATH}"
    src="$work/llama_cpp_python-0.3.36/vendor/llama.cpp"
    # shellcheck disable=SC2086
    cmake -S "$src" -B "$work/build" -G Ninja $args -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF -DCMAKE_BUILD_TYPE=Release 1>&2
    cmake --build "$work/build" --target llama-server -j "${JOBS:-2}" 1>&2
    mkdir -p "$dest"
    cp "$work/build/bin/llama-server" "$dest/llama-server.tmp" && mv "$dest/llama-server.tmp" "$dest/llama-server"
    echo "$args" > "$dest/BUILD_FLAGS"
    echo "installed: $dest/llama-server"
    exit 0
fi
mkdir -p "$dest"
CMAKE_ARGS="$args" CMAKE_BUILD_PARALLEL_LEVEL="${JOBS:-2}" \
    pip install --no-cache-dir --no-binary llama-cpp-python --target "$dest" "llama-cpp-python==0.3.36" "numpy" "gguf==0.19.0" 1>&2
echo "$args" > "$dest/BUILD_FLAGS"
echo "installed: $dest (PYTHONPATH=$dest)"
