#!/usr/bin/env bash
# Grow the fuzz corpus: run every target (or those named) for SECONDS_EACH
# seconds (default 60) with atheris, minimize each target's corpus (crash
# and seed inputs are always kept), then replay the whole corpus as the
# unit tests do. New inputs land in tests/fuzz/corpus/<target>/: commit
# them. A crash or a hang (over 10 s on one input) stops its target and is
# left as tests/fuzz/crash-* or timeout-*: move it into the target's
# corpus (keep the crash- prefix), fix the bug, and it stays a regression
# test. Needs atheris in the venv (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${SWIFTCRYPT_VENV:-.venv}/bin/python
SECONDS_EACH=${SECONDS_EACH:-60}
"$PY" -c 'import atheris' 2>/dev/null || "$PY" -m pip install -q atheris
[ -d tests/fuzz/corpus ] || "$PY" tests/fuzz/make_seeds.py
if [ $# -gt 0 ]; then
    names=("$@")
else
    mapfile -t names < <("$PY" -c 'from tests.fuzz.targets import TARGETS; print("\n".join(TARGETS))')
fi
status=0
for name in "${names[@]}"; do
    echo "== $name (${SECONDS_EACH}s)"
    log=$(mktemp)
    dict=()  # tokens for targets whose inputs hold quoted JSON
    [ -f "tests/fuzz/dicts/$name.dict" ] && dict=(-dict="tests/fuzz/dicts/$name.dict")
    "$PY" tests/fuzz/fuzz.py "$name" "${dict[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -max_len=4096 -artifact_prefix=tests/fuzz/ -print_final_stats=1 >"$log" 2>&1 || true
    grep -E "DONE|ERROR|Test unit written|stat::number_of_executed_units" "$log" || true
    rm -f "$log"
    if compgen -G "tests/fuzz/crash-*" >/dev/null || compgen -G "tests/fuzz/timeout-*" >/dev/null; then
        echo "!! $name: crash or hang found, see tests/fuzz/"
        status=1
        continue
    fi
    # minimize: keep the inputs that add coverage, plus seeds and past
    # crashes; by edges, not hit counts (-use_counters=0): tens of files a
    # target, not hundreds
    corpus=tests/fuzz/corpus/$name
    merged=$(mktemp -d)
    "$PY" tests/fuzz/fuzz.py "$name" -merge=1 -use_counters=0 -timeout=10 -max_len=4096 "$merged" \
        >/dev/null 2>&1 && [ -n "$(ls -A "$merged")" ] && {
        find "$corpus" -maxdepth 1 -type f ! -name 'seed-*' ! -name 'crash-*' -delete
        cp -n "$merged"/* "$corpus"/ 2>/dev/null || true
    }
    rm -rf "$merged"
    echo "   corpus: $(ls "$corpus" | wc -l) files"
done
"$PY" -m pytest -q -p no:cacheprovider tests/unit/test_fuzz_corpus.py
exit $status
