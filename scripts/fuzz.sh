#!/usr/bin/env bash
# Fuzzes the data-only pickle reader with libFuzzer: builds it with clang into
# build-fuzz, then either runs it for N seconds on a working copy of the seed
# corpus (fuzz/corpus/pickle), printing executions and coverage, or, with
# --replay, only runs each seed once (a few seconds, for CI). Crashing inputs
# are written to build-fuzz/crashes/.
#
# usage: scripts/fuzz.sh [--seconds N] [--replay]
set -euo pipefail

seconds=60
replay=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --replay) replay=1; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVRAMSCOPE_FUZZ=ON -DVRAMSCOPE_BUILD_TESTS=OFF "${launcher[@]}" > /dev/null
cmake --build "$build" --target vramscope_pickle_fuzzer -j1
fuzzer="$build/bin/vramscope_pickle_fuzzer"
seeds="$root/fuzz/corpus/pickle"
mkdir -p "$build/crashes"

if [[ $replay -eq 1 ]]; then
  "$fuzzer" -runs=0 -artifact_prefix="$build/crashes/" "$seeds"
  echo "fuzz.sh: every seed of $seeds read without a crash"
  exit 0
fi
work="$build/corpus-pickle"
mkdir -p "$work"
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -max_len=262144 -rss_limit_mb=4096 \
  -artifact_prefix="$build/crashes/" "$work" "$seeds"
