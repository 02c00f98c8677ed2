#!/usr/bin/env bash
# End-to-end check of `dsllm serve` with the official openai client (pinned in e2e/requirements.txt). The
# client lives in a virtual environment under .build/ (made once, refreshed when the pins change), never in the
# system interpreter: Debian 12 forbids pip there (PEP 668), and `make test` should not change the machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.build/e2e-venv"
requirements="$root/e2e/requirements.txt"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || {
        rm -rf "$venv"
        echo "error: python3 -m venv failed; on Debian install python3-venv (make deps does)" >&2
        exit 1
    }
fi
# The copy of the pins inside the venv records what was installed.
if ! cmp -s "$requirements" "$venv/requirements-e2e.txt"; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements-e2e.txt"
fi
"$venv/bin/python" "$root/e2e/server/openai_e2e.py" --dsllm "$root/.build/release/dsllm"
