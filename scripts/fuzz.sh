#!/usr/bin/env bash
# make fuzz: every fuzz target (fuzz/fuzz_targets) for FUZZ_SECONDS each (60), one after the
# other, under `nice`, with libFuzzer's memory and time bounds; prints the executions of each.
#
# - The toolchain is stable: RUSTC_BOOTSTRAP=1 lets it take the flags cargo-fuzz passes.
# - No sanitizer: the project forbids `unsafe`; panics, overflows (debug assertions are on)
#   and the targets' own assertions are what is looked for, and without ASan they run ~2x faster.
# - Corpus: fuzz/corpus/<target> (committed, minimized) and seeds built from shared/fixtures and
#   events/ are read; new inputs go to .local/fuzz/<target> (not committed). FUZZ_MINIMIZE=1
#   merges the working corpus back into fuzz/corpus/<target>, keeping only inputs that add coverage.
# - A crash leaves its input in fuzz/artifacts/<target>/ and fails the run; turn it into a
#   regression test in the normal suite (see docs/fuzzing.md).
# - FUZZ_TARGETS="a b" runs only those; FUZZ_LOG appends "target runs seconds" lines to a file.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
RSS_LIMIT_MB="${FUZZ_RSS_LIMIT_MB:-1024}"
TIMEOUT_SECONDS="${FUZZ_TIMEOUT_SECONDS:-10}"
MAX_LEN="${FUZZ_MAX_LEN:-16384}"
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked --quiet
fi

TARGETS="${FUZZ_TARGETS:-$(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^bridge-fuzz$')}"
WORK=.local/fuzz
SEEDS="$WORK/seeds"
rm -rf "$SEEDS"
python3 scripts/fuzz_seeds.py "$SEEDS"

(cd fuzz && nice -n 19 cargo fuzz build --sanitizer none)
BIN="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"

status=0
summary=()
for target in $TARGETS; do
    mkdir -p "$WORK/$target" "fuzz/corpus/$target" "fuzz/artifacts/$target"
    log="$WORK/$target.log"
    set +e
    nice -n 19 "$BIN/$target" "$WORK/$target" "fuzz/corpus/$target" "$SEEDS/$target" \
        -artifact_prefix="fuzz/artifacts/$target/" -max_total_time="$FUZZ_SECONDS" \
        -rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_SECONDS" -max_len="$MAX_LEN" \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    seconds="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)"
    if [[ $rc -ne 0 ]]; then
        status=1
        summary+=("$target: FAILED (exit $rc) after ${runs:-?} executions; see $log and fuzz/artifacts/$target/")
        grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -n 8 >&2 || true
    else
        summary+=("$target: ${runs:-?} executions in ${seconds:-?} s, no crash, no timeout, no out-of-memory")
        if [[ -n "${FUZZ_LOG:-}" ]]; then
            echo "$target ${runs:-0} ${seconds:-0}" >>"$FUZZ_LOG"
        fi
    fi
    if [[ "${FUZZ_MINIMIZE:-0}" == 1 ]]; then
        nice -n 19 "$BIN/$target" -merge=1 "fuzz/corpus/$target" "$WORK/$target" "$SEEDS/$target" \
            -rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_SECONDS" -max_len="$MAX_LEN" \
            >"$WORK/$target.merge.log" 2>&1 || true
    fi
done
printf '%s\n' "${summary[@]}"
exit $status
