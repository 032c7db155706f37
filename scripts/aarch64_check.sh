#!/usr/bin/env bash
# vramscope on 64-bit Arm (docs/platforms.md). Cross-builds the injector,
# simcuda, the samples and the command line for aarch64 with Debian's
# toolchain (cmake/aarch64-linux-gnu.cmake) into build-aarch64, then runs
# every sample under qemu-user, on simcuda, and checks that:
#   1. each prints the same and exits the same with and without the injector;
#   2. its trace's report by the aarch64 vramscope (under qemu) is, byte for
#      byte, the report the x86-64 vramscope writes of the same trace;
#   3. that report's figures (calls by API, bytes, peaks, leaks, failures,
#      categories, sites) are those of the same sample recorded on x86-64
#      (of the samples whose threads race, the totals alone).
# Needs the x86-64 build in build/ (scripts/setup.sh); installs the cross
# toolchain, qemu-user and the arm64 libraries it needs. Exits 1 on any
# mismatch. Logs and traces go to build-aarch64/check.
#
# usage: scripts/aarch64_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -gt 0 ]]; then
  case "$1" in
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "aarch64_check.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
fi
if [[ ! -x build/bin/vramscope ]]; then
  echo "aarch64_check.sh: build/bin/vramscope is missing: run scripts/setup.sh first" >&2
  exit 1
fi

# The programs run on Debian's arm64 libraries (multiarch, /lib/aarch64-linux-gnu),
# the C library and its loader included: one glibc, as on an Arm machine.
packages=(g++-aarch64-linux-gnu qemu-user libstdc++6:arm64 zlib1g-dev:arm64 libunwind-dev:arm64 libdeflate-dev:arm64
  libdw-dev:arm64)
scripts/install_packages.sh aarch64_check.sh "${packages[@]}"

build=build-aarch64
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
echo "aarch64_check.sh: cross-building the injector, simcuda, the samples and vramscope into $build"
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVRAMSCOPE_BUILD_TESTS=OFF -DVRAMSCOPE_BUILD_VIEWER=OFF "${launcher[@]}" > /dev/null
cmake --build "$build" -j "$(nproc)" --target vramscope_inject samples_all vramscope > "$build/build.log" 2>&1 ||
  { tail -30 "$build/build.log"; echo "aarch64_check.sh: the cross build failed" >&2; exit 1; }

lib=$PWD/$build/lib/vramscope
work=$PWD/$build/check
rm -rf "$work"
mkdir -p "$work/arm" "$work/x86"
failures=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }

# An aarch64 program under qemu, as `vramscope run --simulate` would start
# it when $1 is a trace path (the same variables), or plainly when it is empty.
# qemu runs the program in its own process: the job's pid is this shell's.
on_arm() {
  local trace=$1
  shift
  if [[ -z $trace ]]; then
    env LD_LIBRARY_PATH="$lib/simcuda" timeout 120 qemu-aarch64 "$@"
  else
    timeout 120 bash -c 'export VRAMSCOPE_MAIN_PID=$$; exec "$@"' _ \
      env LD_PRELOAD="$lib/libvramscope_inject.so" LD_LIBRARY_PATH="$lib/simcuda" VRAMSCOPE_OUTPUT="$trace" \
      VRAMSCOPE_STACKS=native NVTX_INJECTION64_PATH="$lib/libvramscope_inject.so" qemu-aarch64 "$@"
  fi
}

# Every sample the GPU suite runs, each given 120 s. A worker that execs
# would start an aarch64 program, which the kernel here runs only through
# qemu's binfmt handler: fork_workers runs without them.
for sample in train_mlp leak oom threads dlsym_driver vmm fork fork_workers kinds caching_allocator alloc_loop; do
  args=()
  [[ $sample == fork_workers ]] && args=(--exec-every 1000)
  # Threads that interleave differently on every run: the totals alone are the same.
  compare=()
  [[ $sample == threads || $sample == fork_workers ]] && compare=(--totals)
  status=0
  plain=$(on_arm "" "$build/samples/$sample" "${args[@]}" 2> "$work/arm/$sample.plain.err") || status=$?
  profiled_status=0
  profiled=$(on_arm "$work/arm/$sample.vstrace" "$build/samples/$sample" "${args[@]}" \
    2> "$work/arm/$sample.profiled.err") || profiled_status=$?
  if [[ $status == 124 || $profiled_status == 124 ]]; then
    fail "1. $sample: ran past 120 s under qemu (plain status $status, profiled $profiled_status)"
  elif [[ $plain == "$profiled" && $status == "$profiled_status" ]]; then
    pass "1. $sample: the same output and exit status ($status) with and without the injector"
  else
    fail "1. $sample: output or status differ (plain $status, profiled $profiled_status)"
    diff <(printf '%s\n' "$plain") <(printf '%s\n' "$profiled") > "$work/arm/$sample.diff" || true
  fi
  if [[ ! -s $work/arm/$sample.vstrace ]]; then
    fail "2. $sample: no trace was written"
    continue
  fi
  qemu-aarch64 "$build/bin/vramscope" report "$work/arm/$sample.vstrace" \
    --json "$work/arm/$sample.arm.json" > "$work/arm/$sample.arm.txt" 2>&1 || true
  build/bin/vramscope report "$work/arm/$sample.vstrace" --json "$work/arm/$sample.json" \
    > "$work/arm/$sample.txt" 2>&1 || true
  if cmp -s "$work/arm/$sample.txt" "$work/arm/$sample.arm.txt" &&
    cmp -s "$work/arm/$sample.json" "$work/arm/$sample.arm.json"; then
    pass "2. $sample: the aarch64 report, text and JSON, is the x86-64 one"
  else
    fail "2. $sample: the aarch64 and x86-64 reports of $work/arm/$sample.vstrace differ"
  fi
  build/bin/vramscope run -q --simulate -o "$work/x86/$sample.vstrace" -- "build/samples/$sample" "${args[@]}" \
    > /dev/null 2>&1 || true
  build/bin/vramscope report "$work/x86/$sample.vstrace" --json "$work/x86/$sample.json" > /dev/null 2>&1 || true
  if python3 scripts/report_figures.py "${compare[@]}" "$work/x86/$sample.json" "$work/arm/$sample.json" \
    > "$work/$sample.figures.txt" 2>&1; then
    pass "3. $sample: the figures recorded on aarch64 are those recorded on x86-64"
  else
    fail "3. $sample: the figures differ from x86-64's ($work/$sample.figures.txt):"
    head -5 "$work/$sample.figures.txt"
  fi
done
if ((failures)); then
  echo "aarch64_check.sh: $failures checks failed"
  exit 1
fi
echo "aarch64_check.sh: every check passed"
