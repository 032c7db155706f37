#!/usr/bin/env bash
# Fuzzes vramscope's readers with libFuzzer (docs/fuzzing.md): the data-only
# pickle reader (fuzz/corpus/pickle), the torch.profiler importers with the
# analysis of what they import (fuzz/corpus/kineto), the vramscope trace
# reader with the analysis of what it reads (fuzz/corpus/trace), the text
# and JSON the command line prints of a trace (report, seeded from
# fuzz/corpus/trace as well), the viewer opening a trace, a snapshot or a
# profiler trace (view, seeded from fuzz/corpus/trace, kineto and pickle:
# it opens all three) and the command line's sizes, durations and divisions lists
# (fuzz/corpus/size). Builds them with clang into
# build-fuzz, then either runs each for N seconds on a working copy of its
# seed corpus, printing executions and coverage, or, with --replay, only runs
# every seed once (seconds, for CI). Crashing inputs are written to
# build-fuzz/crashes/.
#
# The inputs earlier runs found are kept in fuzz/grown/NAME.tar.xz: a run
# starts from them when its working corpus is empty (a fresh machine), and
# --replay runs them too. --save merges the working corpus into the fewest
# inputs that keep its coverage and writes them there, to commit.
#
# --coverage builds the fuzzers for source-based coverage instead (into
# build-fuzz-coverage), runs the seeds and fuzz/grown/NAME.tar.xz once, and
# writes which lines of our own sources they run, file by file, to
# build-fuzz-coverage/coverage-NAME.txt, printing the total.
#
# usage: scripts/fuzz.sh [--seconds N] [--replay] [--save] [--coverage] [--target pickle|kineto|trace|report|view|size|all]
set -euo pipefail

seconds=60
replay=0
save=0
coverage=0
target=all
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --replay) replay=1; shift ;;
    --save) save=1; shift ;;
    --coverage) coverage=1; shift ;;
    --target) target="${2:?--target needs pickle, kineto, trace, report, view, size or all}"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$target" in
  all) targets=(pickle kineto trace report view size) ;;
  pickle|kineto|trace|report|view|size) targets=("$target") ;;
  *) echo "fuzz.sh: --target wants pickle, kineto, trace, report, view, size or all, not '$target'" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v clang++ > /dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a > /dev/null 2>&1; then
  "$root/scripts/install_packages.sh" fuzz.sh clang
  # libFuzzer comes in the runtime package named after clang's major version.
  "$root/scripts/install_packages.sh" fuzz.sh "libclang-rt-$(clang --version | sed -n 's/.*version \([0-9]*\).*/\1/p')-dev"
fi
"$root/scripts/install_packages.sh" fuzz.sh xz-utils  # fuzz/grown/*.tar.xz
build="$root/build-fuzz"
coverage_flags=()
if [[ $coverage -eq 1 ]]; then
  build="$root/build-fuzz-coverage"
  coverage_flags=(-DVRAMSCOPE_FUZZ_COVERAGE=ON)
  # llvm-profdata and llvm-cov of clang's own version read its profiles.
  major="$(clang --version | sed -n 's/.*version \([0-9]*\).*/\1/p')"
  llvm="/usr/lib/llvm-$major/bin"
  [[ -x $llvm/llvm-cov ]] || "$root/scripts/install_packages.sh" fuzz.sh "llvm-$major"
fi
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVRAMSCOPE_FUZZ=ON -DVRAMSCOPE_BUILD_TESTS=OFF "${launcher[@]}" \
  "${coverage_flags[@]}" > /dev/null
mkdir -p "$build/crashes"

# Unpacks fuzz/grown/NAME.tar.xz into an empty folder; says how many inputs.
unpack_grown() {
  local name="$1" into="$2"
  local archive="$root/fuzz/grown/$name.tar.xz"
  mkdir -p "$into"
  [[ -f $archive ]] || return 0
  tar -C "$into" -xJf "$archive"
  echo "fuzz.sh: $(find "$into" -type f | wc -l) inputs of earlier runs from fuzz/grown/$name.tar.xz"
}

for name in "${targets[@]}"; do
  cmake --build "$build" --target "vramscope_${name}_fuzzer" -j "$(nproc)"
  fuzzer="$build/bin/vramscope_${name}_fuzzer"
  seeds=("$root/fuzz/corpus/$name")
  [[ $name == report ]] && seeds=("$root/fuzz/corpus/trace")  # the same traces, printed
  # The viewer opens any of the three forms: its seeds are all of them.
  [[ $name == view ]] && seeds=("$root/fuzz/corpus/trace" "$root/fuzz/corpus/kineto" "$root/fuzz/corpus/pickle")
  seed_names="${seeds[*]#"$root"/}"
  limits=(-rss_limit_mb=4096)
  # A reader allocates no more than its input justifies: a header that
  # claims a huge count fails here, not on a user's machine.
  if [[ $name == trace || $name == report || $name == view ]]; then limits=(-malloc_limit_mb=256 -rss_limit_mb=2048); fi
  work="$build/corpus-$name"
  if [[ $replay -eq 1 || $coverage -eq 1 ]]; then
    grown="$build/replay-$name"
    rm -rf "$grown" "$build/$name.profraw"
    unpack_grown "$name" "$grown"
    # A --coverage build writes the lines it runs to $name.profraw.
    LLVM_PROFILE_FILE="$build/$name.profraw" "$fuzzer" -runs=0 "${limits[@]}" -artifact_prefix="$build/crashes/" \
      "${seeds[@]}" "$grown"
    echo "fuzz.sh: every input of $seed_names and fuzz/grown/$name.tar.xz read without a crash"
    if [[ $coverage -eq 1 ]]; then
      "$llvm/llvm-profdata" merge -sparse "$build/$name.profraw" -o "$build/$name.profdata"
      # Our own sources only: not the standard library, not the harness in fuzz/
      "$llvm/llvm-cov" report "$fuzzer" -instr-profile="$build/$name.profdata" \
        -ignore-filename-regex='^/usr/|/fuzz/[^./][^/]*$' > "$build/coverage-$name.txt"
      # The whole build's total counts the files this target never calls (the
      # writers, the other importers): the lines of the files it reaches tell.
      echo "fuzz.sh: coverage of our sources by $seed_names and fuzz/grown/$name.tar.xz ($build/coverage-$name.txt):"
      awk '$1 ~ /\.(cpp|h)$/ && $5 > $6 { files++; lines += $8; missed += $9 }
        END { printf "fuzz.sh: %d files reached: %d of their %d lines run (%.2f%%)\n", files, lines - missed, lines, 100 * (lines - missed) / lines }' \
        "$build/coverage-$name.txt"
    fi
    continue
  fi
  if [[ $save -eq 1 ]]; then
    if [[ ! -d $work ]] || [[ -z $(ls -A "$work") ]]; then
      echo "fuzz.sh: --save: no working corpus in $work (fuzz first)" >&2
      exit 1
    fi
    merged="$build/merged-$name"
    rm -rf "$merged"
    mkdir -p "$merged" "$root/fuzz/grown"
    "$fuzzer" -merge=1 "${limits[@]}" -artifact_prefix="$build/crashes/" "$merged" "$work"
    tar -C "$merged" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cJf "$root/fuzz/grown/$name.tar.xz" .
    echo "fuzz.sh: fuzz/grown/$name.tar.xz: $(find "$merged" -type f | wc -l) inputs, $(du -h "$root/fuzz/grown/$name.tar.xz" | cut -f1)"
    continue
  fi
  if [[ ! -d $work ]] || [[ -z $(ls -A "$work") ]]; then unpack_grown "$name" "$work"; fi
  "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -max_len=262144 "${limits[@]}" \
    -artifact_prefix="$build/crashes/" "$work" "${seeds[@]}"
done
