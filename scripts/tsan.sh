#!/usr/bin/env bash
# The injector's threads under ThreadSanitizer: builds the injector alone with
# -fsanitize=thread (build-tsan/) and preloads it, after the sanitizer's
# runtime, into the threaded samples of an ordinary build, as `vramscope run
# --simulate` would. Any report of the sanitizer fails the run; so does a
# trace whose counts are not exact. A last run plants a data race
# (tests/tsan/planted_race.c) in a library preloaded beside the injector and
# passes only if the sanitizer reports it: proof that these runs would catch
# a race on the sample's threads.
#
# usage: scripts/tsan.sh [BUILD] [--long]
#   BUILD   an ordinary build with the samples and simcuda (default: build)
#   --long  32 threads of 20,000 iterations instead of 2,000
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
iterations=2000
for arg in "$@"; do
  case "$arg" in
    --long) iterations=20000 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "tsan.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    *) build="$(cd "$arg" && pwd)" ;;
  esac
done
[[ -x $build/bin/vramscope && -x $build/samples/threads ]] || {
  echo "tsan.sh: build first (scripts/setup.sh ${build#"$root/"})" >&2
  exit 1
}
runtime=$(gcc -print-file-name=libtsan.so)
runtime=$(readlink -f "$runtime")
[[ -f $runtime ]] || { echo "tsan.sh: no ThreadSanitizer runtime (libtsan) for gcc" >&2; exit 1; }

tsan="$root/build-tsan"
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$tsan" -DVRAMSCOPE_TSAN=ON -DVRAMSCOPE_BUILD_TESTS=OFF "${launcher[@]}" > /dev/null
cmake --build "$tsan" --target vramscope_inject -j "$(nproc)" > /dev/null
injector="$tsan/lib/vramscope/libvramscope_inject.so"
# An injector built without the sanitizer would pass every run below and prove nothing.
if [[ $(nm -D --undefined-only "$injector" | grep -c '__tsan_func_entry') -eq 0 ]]; then
  echo "tsan.sh: $injector calls no ThreadSanitizer hooks: it was not built with -fsanitize=thread" >&2
  exit 1
fi

canary="$tsan/planted_race.so"
gcc -fsanitize=thread -shared -fPIC -O1 -g "$root/tests/tsan/planted_race.c" -o "$canary" -ldl

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0

# under_tsan DIR PRELOAD ENV... -- COMMAND...: runs COMMAND under the
# sanitizer with PRELOAD, its trace and output in DIR; returns its status.
under_tsan() {
  local dir=$1 preload=$2
  shift 2
  local settings=()
  while [[ $1 != -- ]]; do settings+=("$1"); shift; done
  shift
  mkdir -p "$dir"
  # A subshell that becomes the job, so that the job is the run's main process.
  (
    export "${settings[@]}" TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$root/scripts/tsan.supp" \
      LD_LIBRARY_PATH="$build/lib/vramscope/simcuda" VRAMSCOPE_OUTPUT="$dir/t.vstrace" \
      VRAMSCOPE_MAIN_PID=$BASHPID LD_PRELOAD="$preload"
    exec "$@"
  ) > "$dir/out" 2> "$dir/err"
}

# run NAME EXPECTED_ALLOCATIONS EXPECTED_FREES ENV... -- COMMAND...
run() {
  local name=$1 allocations=$2 frees=$3
  shift 3
  local settings=()
  while [[ $1 != -- ]]; do settings+=("$1"); shift; done
  shift
  local dir="$scratch/$name"
  local status=0
  under_tsan "$dir" "$runtime $injector" "${settings[@]}" -- "$@" || status=$?
  local counts=""
  if [[ -f $dir/t.vstrace ]]; then
    counts=$("$build/bin/vramscope" report "$dir/t.vstrace" --json - 2> /dev/null |
      python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; print(c["allocations"], c["frees"])' || true)
  fi
  if [[ $status -eq 0 && $counts == "$allocations $frees" ]] && ! grep -q ThreadSanitizer "$dir/err"; then
    echo "tsan: $name: clean, $allocations allocations and $frees frees recorded"
    passed=$((passed + 1))
  else
    echo "tsan: $name: FAILED (exit status $status; counts '${counts:-no trace}', expected '$allocations $frees')"
    sed -n '1,60p' "$dir/err"
    failed=$((failed + 1))
  fi
}

# libunwind's per-thread caches are torn down after the sanitizer's own
# thread state, which crashes the sanitizer's runtime at thread exit (not the
# injector's doing): the native stacks are walked with libgcc's unwinder here.
threads=$((iterations == 2000 ? 8 : 32))
n=$((threads * iterations))
run threads "$n" "$n" VRAMSCOPE_STACKS=libgcc -- \
  "$build/samples/threads" --threads "$threads" --iterations "$iterations"
run threads-async "$n" "$n" VRAMSCOPE_STACKS=libgcc -- \
  "$build/samples/threads" --threads "$threads" --iterations "$iterations" --async
run threads-no-stacks "$n" "$n" VRAMSCOPE_STACKS=none -- \
  "$build/samples/threads" --threads "$threads" --iterations "$iterations"
run threads-live "$n" "$n" VRAMSCOPE_STACKS=libgcc VRAMSCOPE_LIVE=1 -- \
  "$build/samples/threads" --threads "$threads" --iterations "$iterations"
run fork-workers $((4 * iterations)) $((4 * iterations)) VRAMSCOPE_STACKS=libgcc -- \
  "$build/samples/fork_workers" --iterations "$iterations"

# The planted race: the run must fail, with the sanitizer's report on it.
status=0
under_tsan "$scratch/planted-race" "$runtime $canary $injector" VRAMSCOPE_STACKS=libgcc -- \
  "$build/samples/threads" --threads "$threads" --iterations "$iterations" || status=$?
if [[ $status -eq 66 ]] && grep -q "ThreadSanitizer: data race .*planted_race.c" "$scratch/planted-race/err"; then
  echo "tsan: planted-race: caught, as it must be"
  passed=$((passed + 1))
else
  echo "tsan: planted-race: FAILED (exit status $status; the planted race was not reported, so the runs above prove nothing)"
  sed -n '1,30p' "$scratch/planted-race/err"
  failed=$((failed + 1))
fi

echo "tsan: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
