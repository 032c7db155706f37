#!/usr/bin/env bash
# vramscope on 64-bit Arm (docs/platforms.md). Cross-builds the injector,
# simcuda, the samples, the command line and the viewer for aarch64 with Debian's
# toolchain (cmake/aarch64-linux-gnu.cmake) into build-aarch64, then runs
# every sample under qemu-user, on simcuda, and checks that:
#   1. each prints the same and exits the same with and without the injector;
#   2. its trace's report by the aarch64 vramscope (under qemu) is, byte for
#      byte, the report the x86-64 vramscope writes of the same trace;
#   3. that report's figures (calls by API, bytes, peaks, leaks, failures,
#      categories, sites) are those of the same sample recorded on x86-64
#      (of the samples whose threads race, the totals alone);
#   4. where the kernel can start aarch64 programs (qemu's binfmt handler,
#      registered for the checks when root can), the aarch64 `vramscope run`
#      itself gives the same: samples that fork and exec, and a live stream
#      that the x86-64 viewer draws;
#   5. there too, the aarch64 viewer renders each of its views of aarch64
#      traces as the x86-64 viewer does.
# Needs the x86-64 build in build/ (scripts/setup.sh); installs the cross
# toolchain, qemu-user and the arm64 libraries it needs. Exits 1 on any
# mismatch. Logs and traces go to build-aarch64/check.
#
# usage: scripts/aarch64_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -gt 0 ]]; then
  case "$1" in
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "aarch64_check.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
fi
if [[ ! -x build/bin/vramscope ]]; then
  echo "aarch64_check.sh: build/bin/vramscope is missing: run scripts/setup.sh first" >&2
  exit 1
fi

# The programs run on Debian's arm64 libraries (multiarch, /lib/aarch64-linux-gnu),
# the C library and its loader included: one glibc, as on an Arm machine.
packages=(g++-aarch64-linux-gnu qemu-user qemu-user-binfmt libstdc++6:arm64 zlib1g-dev:arm64 libunwind-dev:arm64 libdeflate-dev:arm64
  libdw-dev:arm64 libimgui-dev:arm64 libglfw3-dev:arm64 libstb-dev:arm64 libgl-dev:arm64 libgl1-mesa-dri:arm64)
scripts/install_packages.sh aarch64_check.sh "${packages[@]}"

build=build-aarch64
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
echo "aarch64_check.sh: cross-building the injector, simcuda, the samples, vramscope and its viewer into $build"
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVRAMSCOPE_BUILD_TESTS=OFF -DVRAMSCOPE_BUILD_VIEWER=ON "${launcher[@]}" > /dev/null
cmake --build "$build" -j "$(nproc)" --target vramscope_inject samples_all vramscope vramscope-view > "$build/build.log" 2>&1 ||
  { tail -30 "$build/build.log"; echo "aarch64_check.sh: the cross build failed" >&2; exit 1; }

lib=$PWD/$build/lib/vramscope
work=$PWD/$build/check
rm -rf "$work"
mkdir -p "$work/arm" "$work/x86"
failures=0
xvfb=(xvfb-run -a -s "-screen 0 1280x1024x24")  # a display for the viewer
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }

# An aarch64 program under qemu, as `vramscope run --simulate` would start
# it when $1 is a trace path (the same variables), or plainly when it is empty.
# qemu runs the program in its own process: the job's pid is this shell's.
# timeout runs it in a process group of its own; when it times out, whatever
# is left of the group goes too (qemu-user can hang a forked child, which
# would hold the caller's output pipe open for ever).
on_arm() {
  local trace=$1 job status=0
  shift
  if [[ -z $trace ]]; then
    env LD_LIBRARY_PATH="$lib/simcuda" timeout 120 qemu-aarch64 "$@" &
  else
    timeout 120 bash -c 'export VRAMSCOPE_MAIN_PID=$$; exec "$@"' _ \
      env LD_PRELOAD="$lib/libvramscope_inject.so" LD_LIBRARY_PATH="$lib/simcuda" VRAMSCOPE_OUTPUT="$trace" \
      VRAMSCOPE_STACKS=native NVTX_INJECTION64_PATH="$lib/libvramscope_inject.so" qemu-aarch64 "$@" &
  fi
  job=$!
  wait "$job" || status=$?
  [[ $status -ne 124 ]] || kill -KILL -- "-$job" 2> /dev/null || true
  return "$status"
}

# Every sample the GPU suite runs, each given 120 s. A worker that execs
# would start an aarch64 program, which the kernel here runs only through
# qemu's binfmt handler: fork_workers runs without them.
for sample in $(grep -v '^#' samples/native_samples.txt); do
  args=()
  [[ $sample == fork_workers ]] && args=(--exec-every 1000)
  # Threads that interleave differently on every run: the totals alone are the same.
  compare=()
  [[ $sample == threads || $sample == fork_workers ]] && compare=(--totals)
  status=0
  plain=$(on_arm "" "$build/samples/$sample" "${args[@]}" 2> "$work/arm/$sample.plain.err") || status=$?
  printf '%s' "$plain" > "$work/arm/$sample.plain.out"  # for point 4
  echo "$status" > "$work/arm/$sample.plain.status"
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
# 4. `vramscope run` itself on aarch64: the aarch64 vramscope starts the job,
# whose workers fork and exec, and streams it live to the x86-64 viewer. The
# kernel starts an aarch64 program only through qemu's binfmt handler: where
# there is none, one is registered for these checks (as root) and removed
# after. (qemu-aarch64 is an x86-64 program: its own loader says on stderr
# that it cannot preload the aarch64 injector, which the job's loader does.)
binfmt=/proc/sys/fs/binfmt_misc
if ! "$build/bin/vramscope" --help > /dev/null 2>&1 && [[ -w $binfmt/register && ! -e $binfmt/qemu-aarch64 ]] &&
  [[ -f /usr/lib/binfmt.d/qemu-aarch64.conf ]] && cat /usr/lib/binfmt.d/qemu-aarch64.conf > "$binfmt/register"; then
  trap 'echo -1 > "$binfmt/qemu-aarch64"' EXIT
  echo "aarch64_check.sh: registered qemu's binfmt handler for aarch64 programs (removed at the end)"
fi
# The number of traces a job's processes other than the first wrote beside TRACE.
other_traces() { find "$(dirname "$1")" -name "$(basename "$1" .vstrace).*.vstrace" | wc -l; }
if ! "$build/bin/vramscope" --help > /dev/null 2>&1; then
  echo "SKIP  4, 5. the kernel here cannot start aarch64 programs, and no binfmt handler could be registered:" \
    "vramscope run, exec, the live stream and the viewer are not checked on aarch64"
else
  mkdir -p "$work/run" "$work/run-x86"
  for sample in train_mlp leak oom kinds fork fork_workers; do
    compare=()
    x86=$work/x86  # check 3 recorded these there, by the same command, and check 1 ran them plainly
    if [[ $sample == fork_workers ]]; then
      # Checks 1 and 3 ran it with --exec-every 1000; here its workers exec.
      compare=(--totals)
      x86=$work/run-x86
      status=0
      plain=$(on_arm "" "$build/samples/$sample" 2> /dev/null) || status=$?
      if [[ $status -eq 124 ]]; then  # the baseline, without vramscope, hung under qemu-user: once more
        echo "note  4. $sample: its plain run timed out under qemu-user; running it again"
        status=0
        plain=$(on_arm "" "$build/samples/$sample" 2> /dev/null) || status=$?
      fi
      build/bin/vramscope run -q --simulate -o "$x86/$sample.vstrace" -- "build/samples/$sample" > /dev/null 2>&1 ||
        true
      build/bin/vramscope report "$x86/$sample.vstrace" --json "$x86/$sample.json" > /dev/null 2>&1 || true
    else
      plain=$(cat "$work/arm/$sample.plain.out" 2> /dev/null) || true
      status=$(cat "$work/arm/$sample.plain.status" 2> /dev/null) || status=missing
    fi
    profiled_status=0
    profiled=$(timeout 120 "$build/bin/vramscope" run -q --simulate -o "$work/run/$sample.vstrace" -- \
      "$build/samples/$sample" 2> "$work/run/$sample.err") || profiled_status=$?
    build/bin/vramscope report "$work/run/$sample.vstrace" --json "$work/run/$sample.json" > /dev/null 2>&1 || true
    arm_others=$(other_traces "$work/run/$sample.vstrace")
    x86_others=$(other_traces "$x86/$sample.vstrace")
    if [[ $plain != "$profiled" || $status != "$profiled_status" ]]; then
      fail "4. $sample: under vramscope run on aarch64, output or status differ (plain $status, profiled $profiled_status)"
    elif [[ $arm_others != "$x86_others" ]]; then
      fail "4. $sample: its other processes wrote $arm_others traces on aarch64, $x86_others on x86-64"
    elif ! python3 scripts/report_figures.py "${compare[@]}" "$x86/$sample.json" "$work/run/$sample.json" \
      > "$work/run/$sample.figures.txt" 2>&1; then
      fail "4. $sample: vramscope run's trace on aarch64 has other figures than x86-64's ($work/run/$sample.figures.txt)"
    else
      pass "4. $sample: under vramscope run on aarch64, the same output and status ($status), the traces of" \
        "$arm_others more processes, and the x86-64 figures"
    fi
  done

  # The live stream: the x86-64 viewer attaches to the aarch64 job while it runs.
  live_dir=$work/live
  rm -rf "$live_dir"
  job=(train_mlp --steps 20 --pause-ms 400)
  VRAMSCOPE_LIVE_DIR=$live_dir timeout 120 "$build/bin/vramscope" run -q --live --simulate=112MiB \
    -o "$work/run/live.vstrace" -- "$build/samples/${job[0]}" "${job[@]:1}" > /dev/null 2> "$work/run/live.err" &
  job_pid=$!
  for _ in $(seq 200); do
    compgen -G "$live_dir/*.sock" > /dev/null && break
    sleep 0.1
  done
  sleep 0.7  # a step or two in
  drew=$(VRAMSCOPE_LIVE_DIR=$live_dir "${xvfb[@]}" build/bin/vramscope view --attach \
    --screenshot "$work/run/live.png" --size 800x400 2> "$work/run/live.view.err") || true
  live_status=0
  wait "$job_pid" || live_status=$?
  build/bin/vramscope run -q --simulate=112MiB -o "$work/run-x86/live.vstrace" -- "build/samples/${job[0]}" \
    "${job[@]:1}" > /dev/null 2>&1 || true
  build/bin/vramscope report "$work/run/live.vstrace" --json "$work/run/live.json" > /dev/null 2>&1 || true
  build/bin/vramscope report "$work/run-x86/live.vstrace" --json "$work/run-x86/live.json" > /dev/null 2>&1 || true
  if [[ ! $drew =~ ^drew\ [1-9][0-9]*\ events\ from\ .*\;\ the\ job\ was\ running$ ]]; then
    fail "4. live: the x86-64 viewer did not draw the aarch64 job as it ran: '$drew' ($work/run/live.view.err)"
  elif [[ $live_status != 0 ]]; then
    fail "4. live: the job under vramscope run --live ended with status $live_status"
  elif ! python3 scripts/report_figures.py "$work/run-x86/live.json" "$work/run/live.json" \
    > "$work/run/live.figures.txt" 2>&1; then
    fail "4. live: the live trace on aarch64 has other figures than x86-64's ($work/run/live.figures.txt)"
  else
    drawn=${drew#drew }
    pass "4. live: the x86-64 viewer drew ${drawn%% *} events of the aarch64 job as it ran; its trace has the x86-64 figures"
  fi

  # 5. The viewer: each view of two traces recorded on aarch64, rendered by
  # the aarch64 viewer (started by the aarch64 vramscope, both under qemu,
  # with Mesa's software renderer for arm64) is the x86-64 viewer's picture,
  # byte for byte.
  for sample in train_mlp oom; do
    differ=()
    for view in timeline memorymap fragmentation allocations calltree diagnosis; do
      for side in arm x86; do
        vramscope=build/bin/vramscope
        [[ $side == arm ]] && vramscope=$build/bin/vramscope
        timeout 120 "${xvfb[@]}" "$vramscope" view "$work/run/$sample.vstrace" \
          --view "$view" --screenshot "$work/run/$sample.$view.$side.png" --size 800x400 \
          > "$work/run/$sample.$view.$side.log" 2>&1 || true
      done
      [[ -s $work/run/$sample.$view.arm.png ]] &&
        cmp -s "$work/run/$sample.$view.arm.png" "$work/run/$sample.$view.x86.png" || differ+=("$view")
    done
    if ((${#differ[@]})); then
      fail "5. $sample: the aarch64 viewer's pictures differ from x86-64's, or are missing: ${differ[*]}" \
        "($work/run/$sample.VIEW.arm.png)"
    else
      pass "5. $sample: the aarch64 viewer draws its six views as the x86-64 viewer does, byte for byte"
    fi
  done
fi
if ((failures)); then
  echo "aarch64_check.sh: $failures checks failed"
  exit 1
fi
echo "aarch64_check.sh: every check passed"
