#!/usr/bin/env bash
# Installs what dsllm needs on a fresh Debian machine, and nothing that is already there.
# Swift itself comes with the machine image (/opt/swift); the C libraries come from Debian.
set -euo pipefail

# Debian packages dsllm uses: oneDNN (f32 GEMM for prefill and scoring) and OpenBLAS (the fallback). Both
# are opened at run time (dlopen), so a machine without them still builds and runs, only slower in prefill.
# Open MPI (mpirun + libmpi, also opened with dlopen) for data-parallel `mpirun -np N dsllm train`.
APT_PACKAGES=(libdnnl-dev libopenblas-dev openmpi-bin)
# `make test` runs the openai end-to-end client in a venv under .build/ (scripts/server-e2e.sh); Debian ships
# `python3 -m venv` (its ensurepip) separately, in python3-venv. Only asked for when python3 lacks it.
if ! command -v python3 >/dev/null 2>&1; then
    APT_PACKAGES+=(python3 python3-venv)
elif ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
    APT_PACKAGES+=(python3-venv)
fi

if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
    echo "error: the Swift toolchain is missing (expected on PATH or at /opt/swift/usr/bin/swift)" >&2
    exit 1
fi

missing=()
for p in "${APT_PACKAGES[@]+"${APT_PACKAGES[@]}"}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
