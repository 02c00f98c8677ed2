#!/usr/bin/env bash
# `make install` gives a dsllm that runs away from the checkout: install into a temporary prefix, copy that prefix
# somewhere else (relocatable), and run the copy from an empty working directory with no DSLLM_* variables. A copy
# under /tmp cannot reach the checkout through its own path, and `tokenizer info` must name the prefix's vocabulary;
# with the prefix's share/dsllm removed, the binary must fail with a clear error (never fall back to the checkout,
# never crash). Then `make uninstall` removes what was installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_bin="$root/.build/release/dsllm"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
ok() { echo "install-test: ok: $*"; }

make -s -C "$root" install PREFIX="$tmp/prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make install"; }
for f in bin/dsllm share/dsllm/ggml-vocab-deepseek-llm.gguf share/dsllm/THIRD_PARTY_NOTICES.md \
         share/dsllm/models/default/config.json share/dsllm/models/default/tokenizer.json; do
    [ -f "$tmp/prefix/$f" ] || fail "make install did not install $f"
done
ok "make install PREFIX=… installed bin/dsllm, the vocabulary, its notice and the default model"

cp -a "$tmp/prefix" "$tmp/moved"
mkdir "$tmp/cwd"
dsllm="$tmp/moved/bin/dsllm"
# Runs the relocated binary as a user would: empty working directory, no DSLLM_* overrides.
run() { (cd "$tmp/cwd" && env -u DSLLM_DEFAULT_MODEL -u DSLLM_VOCAB "$dsllm" "$@"); }

source_line="$(run tokenizer info | grep '^source:')" || fail "tokenizer info failed"
[ "$source_line" = "source:         $tmp/moved/share/dsllm/ggml-vocab-deepseek-llm.gguf" ] \
    || fail "the relocated binary read the vocabulary from elsewhere: $source_line"
ok "the relocated binary reads the vocabulary from its own share/dsllm"

ids="$(printf 'Hello world' | run tokenize)"
[ "$ids" = "17464 1843" ] || fail "tokenize printed \"$ids\", expected \"17464 1843\""
ok "tokenize"

gen_args=(generate --prompt "The" --max-tokens 6 --temperature 0 --json)
installed="$(run "${gen_args[@]}")" || fail "generate with the installed default model failed"
expected="$("$build_bin" "${gen_args[@]}" --model "$root/models/default")"
ids_of() { python3 -c 'import json, sys; print(json.load(sys.stdin)["ids"])'; }
[ "$(ids_of <<<"$installed")" = "$(ids_of <<<"$expected")" ] \
    || fail "generate: installed default model gave $(ids_of <<<"$installed"), models/default gives $(ids_of <<<"$expected")"
ok "generate with the installed default model (same tokens as models/default)"

# DSLLM_VOCAB overrides the lookup; a wrong value is an error, not a silent fallback.
cp "$tmp/moved/share/dsllm/ggml-vocab-deepseek-llm.gguf" "$tmp/vocab.gguf"
source_line="$(cd "$tmp/cwd" && DSLLM_VOCAB="$tmp/vocab.gguf" "$dsllm" tokenizer info | grep '^source:')"
[ "$source_line" = "source:         $tmp/vocab.gguf" ] || fail "DSLLM_VOCAB was not used: $source_line"
set +e
err="$(cd "$tmp/cwd" && printf 'Hello' | DSLLM_VOCAB="$tmp/missing.gguf" "$dsllm" tokenize 2>&1 >/dev/null)"; status=$?
set -e
[ "$status" -ne 0 ] && [ "$status" -lt 128 ] && [[ "$err" == *"DSLLM_VOCAB=$tmp/missing.gguf: no such readable file"* ]] \
    || fail "DSLLM_VOCAB pointing nowhere: exit $status, $err"
ok "DSLLM_VOCAB"

# Without its share/dsllm the binary has nothing to fall back on: a one-line error naming where it looked.
rm -rf "$tmp/moved/share/dsllm"
set +e
err="$(printf 'Hello' | run tokenize 2>&1 >/dev/null)"; status=$?
set -e
[ "$status" -ne 0 ] && [ "$status" -lt 128 ] || fail "tokenize without the vocabulary exited with $status: $err"
[[ "$err" == *"was not found; looked in: $tmp/moved/share/dsllm/ggml-vocab-deepseek-llm.gguf"* ]] \
    || fail "tokenize without the vocabulary: unexpected error: $err"
set +e
err="$(run "${gen_args[@]}" 2>&1 >/dev/null)"; status=$?
set -e
[ "$status" -ne 0 ] && [ "$status" -lt 128 ] || fail "generate without the default model exited with $status: $err"
[[ "$err" == *"$tmp/moved/share/dsllm/models/default: no such model"* ]] \
    || fail "generate without the default model: unexpected error: $err"
ok "without share/dsllm: clear errors naming the prefix, no fallback to the checkout"

make -s -C "$root" uninstall PREFIX="$tmp/prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make uninstall"; }
[ ! -e "$tmp/prefix/bin/dsllm" ] && [ ! -e "$tmp/prefix/share/dsllm" ] || fail "make uninstall left files behind"
ok "make uninstall"
