#!/usr/bin/env bash
# Runs the cargo-fuzz targets one after the other and prints the executions each reached.
#
#   fuzz/run.sh [TARGET...]        every target when none is named
#
# FUZZ_SECONDS      seconds per target (default 30)
# FUZZ_RUNS         stop a target after this many executions instead (the campaign:
#                   FUZZ_RUNS=10000000), with FUZZ_SECONDS still the bound
# FUZZ_SANITIZER    cargo-fuzz sanitizer: none (default; the code under test forbids unsafe)
#                   or address
# FUZZ_JOBS         parallel fuzzing jobs per target (default 1)
#
# Each target's working corpus is fuzz/corpus/<target> (git-ignored). It is seeded with every
# provider fixture from tests/fixtures (copied, byte for byte) and reads the committed seeds
# in fuzz/seeds/<target>. Crashes go to fuzz/artifacts/<target>, logs to fuzz/logs.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
sanitizer=${FUZZ_SANITIZER:-none}
jobs=${FUZZ_JOBS:-1}
max_runs=${FUZZ_RUNS:--1}

# Each target's dictionary.
dictionary() {
    case $1 in
        verify_hmac | verify_token) cat fuzz/dicts/verify.dict ;;
        keyring) cat fuzz/dicts/json.dict fuzz/dicts/keyring.dict ;;
        *) cat fuzz/dicts/json.dict fuzz/dicts/payloads.dict ;;
    esac
}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo +nightly install cargo-fuzz --version 0.13.2 --locked" >&2
    exit 1
fi

# Every target cargo-fuzz knows when none is named (the properties crate's test keeps
# fuzz/fuzz_targets, fuzz/Cargo.toml and its TARGETS list equal).
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

mkdir -p fuzz/logs
if ! nice -n 19 cargo +nightly fuzz build --sanitizer "$sanitizer" >fuzz/logs/build.log 2>&1; then
    tail -n 30 fuzz/logs/build.log >&2
    exit 1
fi
status=0
summary=()
for target in "${targets[@]}"; do
    corpus=$PWD/fuzz/corpus/$target
    mkdir -p "$corpus" "fuzz/seeds/$target"
    for fixture in tests/fixtures/*.json; do
        cp "$fixture" "$corpus/fixture-$(basename "$fixture")"
    done
    dictionary "$target" >"fuzz/logs/$target.dict"
    log=$PWD/fuzz/logs/$target.log
    echo "== $target: ${seconds}s"
    if nice -n 19 cargo +nightly fuzz run --sanitizer "$sanitizer" --jobs "$jobs" "$target" \
        "$corpus" "$PWD/fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -runs="$max_runs" -timeout=10 -dict="$PWD/fuzz/logs/$target.dict" \
        -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log and fuzz/artifacts/$target)"
        status=1
        grep -E "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | head -n 5 || true
    fi
    runs=$(grep -oE "stat::number_of_executed_units: [0-9]+" "$log" | awk '{s += $2} END {print s + 0}' || true)
    took=$(grep -oE "Done [0-9]+ runs in [0-9]+ second" "$log" | awk '{print $5}' | tail -n 1 || true)
    files=$(find "$corpus" -type f | wc -l)
    summary+=("$(printf '%-15s %12s runs %6ss %6s corpus files  %s' \
        "$target" "$runs" "${took:-?}" "$files" "$result")")
done
printf '%s\n' "${summary[@]}"
exit $status
