#!/usr/bin/env bash
# End-to-end check of `dsllm serve` with the official openai client (the only Python package `make test`
# installs; pinned in tools/requirements-e2e.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! python3 -c "import openai" 2>/dev/null; then
    python3 -m pip install -q -r "$root/tools/requirements-e2e.txt"
fi
python3 "$root/tests/server/openai_e2e.py" --dsllm "$root/.build/release/dsllm"
