#!/usr/bin/env bash
# The GPU suite (docs/frameworks.md#the-gpu-suite): on a machine with an NVIDIA
# GPU, builds vramscope (unless VRAMSCOPE_PREBUILT=1 and build/ is there) and
# checks, in at most 8 minutes:
#   a. every sample prints the same on the real GPU with and without the injector;
#   b. a PyTorch job (Adam, a planted leak, a forced out-of-memory) under
#      `vramscope run`: our peaks equal torch.cuda.max_memory_allocated() and
#      max_memory_reserved(), the leak is on the planted line, and our
#      out-of-memory figures are PyTorch's own message's;
#   c. the leak sample's leaks at exit equal compute-sanitizer --leak-check full's;
#   d. a program built by nvcc with the static CUDA runtime, through the CUPTI
#      backend (vramscope run --backend cupti), whose callbacks and activity
#      records agree;
#   e. a JAX job in per-buffer mode, if JAX is installed;
#   f. samples/train_torch.py prints the same with and without vramscope, and
#      `vramscope replay` of its trace gives PyTorch's own max_memory_allocated
#      and max_memory_reserved, with the default settings and (through the
#      torch-expandable model) with expandable_segments:True;
#   g. the same with backend:cudaMallocAsync, replayed through the cuda-async
#      model (docs/replay.md): its peaks against PyTorch's, which under that
#      backend are the driver pool's own ReservedMemHigh and UsedMemHigh;
# and measures the overhead on a PyTorch training step (samples/train_torch.py
# --time, with and without vramscope, 3 rounds interleaved): at most 5 %.
# Logs and reports go to one folder ($OUT, else ./gpu-suite); the summary is
# summary.txt there. Exits 1 on any mismatch, 2 when there is no GPU.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
out=${OUT:-gpu-suite}
mkdir -p "$out"
summary=$out/summary.txt
: > "$summary"
failures=0
say() { printf '%s\n' "$*" | tee -a "$summary"; }
pass() { say "PASS  $*"; }
fail() { say "FAIL  $*"; failures=$((failures + 1)); }
deadline=$((SECONDS + 480))
left() { local l=$((deadline - SECONDS)); ((l > 5)) && echo $l || echo 5; }

if ! nvidia-smi -L > "$out/nvidia-smi.txt" 2>&1; then
  say "no NVIDIA GPU here (nvidia-smi -L failed): the GPU suite needs one"
  exit 2
fi
say "GPU: $(head -1 "$out/nvidia-smi.txt")"
if [[ ${VRAMSCOPE_PREBUILT:-0} != 1 || ! -x build/bin/vramscope ]]; then
  scripts/setup.sh build > "$out/build.log" 2>&1 || { tail -20 "$out/build.log"; say "build failed"; exit 1; }
fi
vs=build/bin/vramscope
traces=$(mktemp -d /tmp/gpu-suite.XXXXXX)

# --- a. samples, with and without the injector
for sample in $(grep -v '^#' samples/native_samples.txt); do
  if [[ ! -x build/samples/$sample ]]; then
    fail "a. $sample: build/samples/$sample is missing"
    continue
  fi
  plain=$(timeout "$(left)" "build/samples/$sample" 2> "$out/$sample.plain.err")
  plain_status=$?
  profiled=$(timeout "$(left)" $vs run -q -o "$traces/$sample.vstrace" -- "build/samples/$sample" \
    2> "$out/$sample.profiled.err")
  profiled_status=$?
  if ((plain_status == 126 || plain_status == 127)); then
    fail "a. $sample: did not start (status $plain_status: $(tail -1 "$out/$sample.plain.err"))"
  elif [[ $plain == "$profiled" && $plain_status == "$profiled_status" ]]; then
    pass "a. $sample: the same output and exit status ($plain_status) with and without the injector"
  else
    fail "a. $sample: output or status differ (plain $plain_status, profiled $profiled_status)"
    diff <(printf '%s\n' "$plain") <(printf '%s\n' "$profiled") > "$out/$sample.diff"
  fi
done

# --- b. PyTorch: peaks, the planted leak, the out-of-memory
have_torch=0
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2> /dev/null && have_torch=1
if ((have_torch)); then
  trace=$out/torch_leak_oom.vstrace
  timeout "$(left)" $vs run -o "$trace" -- python3 samples/torch_leak_oom.py \
    > "$out/torch_leak_oom.out" 2> "$out/torch_leak_oom.err"
  say "   torch job exit status $?"
  $vs report "$trace" --json "$out/torch_leak_oom.json" > "$out/torch_leak_oom.report.txt" 2>&1
  python3 tests/gpu/check_torch_job.py "$out/torch_leak_oom.out" "$out/torch_leak_oom.err" \
    "$out/torch_leak_oom.json" | tee -a "$summary"
else
  fail "b, f, g and the step overhead: no python3 with CUDA-enabled torch, so none of them ran"
fi

# --- f. train_torch.py: the same output under vramscope, and the replay's
# peaks against PyTorch's own counters, with each allocator setting
if ((have_torch)); then
  for setting in default expandable async; do
    conf=; model=torch
    [[ $setting == expandable ]] && conf=expandable_segments:True && model=torch-expandable
    [[ $setting == async ]] && conf=backend:cudaMallocAsync && model=cuda-async
    plain=$(PYTORCH_CUDA_ALLOC_CONF=$conf timeout "$(left)" python3 samples/train_torch.py --steps 10 2> /dev/null)
    profiled=$(PYTORCH_CUDA_ALLOC_CONF=$conf timeout "$(left)" $vs run -q -o "$traces/train_$setting.vstrace" -- \
      python3 samples/train_torch.py --steps 10 2> "$out/train_$setting.err")
    if [[ -n $plain && $plain == "$profiled" ]]; then
      pass "f. train_torch.py ($setting): the same output with and without vramscope"
    else
      fail "f. train_torch.py ($setting): output differs"
      diff <(printf '%s\n' "$plain") <(printf '%s\n' "$profiled") > "$out/train_$setting.diff"
    fi
    $vs replay "$traces/train_$setting.vstrace" --allocator $model --json "$out/replay_$setting.json" \
      > "$out/replay_$setting.txt" 2>&1
    printf '%s\n' "$profiled" > "$out/train_$setting.out"
    python3 - "$out/replay_$setting.json" "$setting" "$out/train_$setting.out" <<'CHECK' | tee -a "$summary"
import json, re, sys
check = "g" if sys.argv[2] == "async" else "f"
try:
    replay = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    print(f"FAIL  {check}. replay ({sys.argv[2]}): no result ({e})")
    sys.exit(0)
m = re.search(r"torch max_memory_allocated (\d+) max_memory_reserved (\d+)", open(sys.argv[3]).read())
if not m:
    print(f"FAIL  {check}. replay ({sys.argv[2]}): the job printed no PyTorch figures")
    sys.exit(0)
allocated, reserved = int(m.group(1)), int(m.group(2))
ours = (replay["peak_allocated_bytes"], replay["peak_reserved"]["bytes"])
verdict = "PASS" if ours == (allocated, reserved) else "FAIL"
print(f"{verdict}  {check}. replay ({sys.argv[2]}): allocated {ours[0]}, reserved {ours[1]}; "
      f"PyTorch's max_memory_allocated {allocated}, max_memory_reserved {reserved}; "
      f"differences {ours[0] - allocated:+d} and {ours[1] - reserved:+d} bytes")
CHECK
  done
  failures=$((failures + $(grep -c '^FAIL  [fg]\. replay' "$summary")))
fi

# --- the hook's overhead on a PyTorch training step: step times with and
# without vramscope, interleaved in this run (goal: at most 5 % in the default mode)
if ((have_torch)); then
  for round in 1 2 3; do
    plain=$(timeout "$(left)" python3 samples/train_torch.py --steps 60 --time 2> /dev/null | sed -n 's/^median step \([0-9.]*\) ms$/\1/p')
    profiled=$(timeout "$(left)" $vs run -q -o "$traces/step.vstrace" -- python3 samples/train_torch.py --steps 60 --time \
      2> /dev/null | sed -n 's/^median step \([0-9.]*\) ms$/\1/p')
    say "   round $round: median step ${plain:-?} ms plain, ${profiled:-?} ms under vramscope"
    echo "$plain $profiled" >> "$out/step-times.txt"
  done
  ratio=$(python3 -c '
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if len(line.split()) == 2]
print(f"{statistics.median(float(p) for _, p in rows) / statistics.median(float(q) for q, _ in rows):.3f}" if rows else "")' \
    "$out/step-times.txt")
  if [[ -n $ratio ]] && python3 -c "import sys; sys.exit(0 if float('$ratio') <= 1.05 else 1)"; then
    pass "overhead on a training step: ${ratio} x (at most 1.05)"
  else
    fail "overhead on a training step: ${ratio:-not measured} x (goal at most 1.05)"
  fi
fi

# --- c. leaks at exit against compute-sanitizer
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [[ -x $sanitizer ]]; then
  timeout "$(left)" "$sanitizer" --leak-check full build/samples/leak > "$out/leak.sanitizer.txt" 2>&1
  theirs=$(grep -o 'Leaked [0-9]* bytes' "$out/leak.sanitizer.txt" | awk '{s += $2} END {print s + 0}')
  ours=$($vs report "$traces/leak.vstrace" --json - | python3 -c 'import json,sys; print(json.load(sys.stdin)["leaks"]["bytes"])')
  if [[ $theirs == "$ours" && $ours != 0 ]]; then
    pass "c. leaks at exit: $ours bytes, as compute-sanitizer says"
  else
    fail "c. leaks at exit: ours $ours bytes, compute-sanitizer's $theirs"
  fi
else
  fail "c. compute-sanitizer not found"
fi

# --- d. the CUPTI backend on a program linked with the static CUDA runtime
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [[ -x $nvcc ]] && timeout "$(left)" "$nvcc" -cudart static -o "$traces/static_alloc" tests/gpu/static_alloc.cu \
  > "$out/static_alloc.build.log" 2>&1; then
  timeout "$(left)" $vs run -o "$out/static_alloc.vstrace" --backend cupti -- "$traces/static_alloc" \
    > "$out/static_alloc.out" 2> "$out/static_alloc.err"
  summary_line=$($vs report "$out/static_alloc.vstrace" --json - | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["counts"]["allocations"], r["counts"]["frees"], r["leaks"]["bytes"])')
  if grep -q "no CUPTI backend" "$out/static_alloc.err"; then
    fail "d. CUPTI did not attach: $(grep 'no CUPTI backend' "$out/static_alloc.err")"
  elif grep -q "activity records count" "$out/static_alloc.err"; then
    fail "d. CUPTI's ledger: $(grep 'activity records count' "$out/static_alloc.err")"
  elif [[ $summary_line == "3 2 8388608" ]]; then
    pass "d. static runtime through CUPTI: 3 allocations, 2 frees, 8 MiB live at exit"
  else
    fail "d. static runtime through CUPTI: allocations, frees, leaked bytes = $summary_line (want 3 2 8388608)"
  fi
else
  fail "d. nvcc could not build tests/gpu/static_alloc.cu (see static_alloc.build.log)"
fi

# --- e. JAX in per-buffer mode
if python3 -c 'import jax' 2> /dev/null; then
  timeout "$(left)" $vs run --per-buffer -o "$out/jax.vstrace" -- python3 -c \
    'import jax.numpy as jnp; x = jnp.ones((1024, 1024)); print(float((x @ x).sum()))' \
    > "$out/jax.out" 2> "$out/jax.err"
  allocations=$($vs report "$out/jax.vstrace" --json - | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["allocations"])')
  if [[ ${allocations:-0} -gt 0 ]]; then pass "e. JAX per-buffer: $allocations driver allocations"; else fail "e. JAX per-buffer: no allocation recorded"; fi
else
  say "SKIP  e. JAX is not installed"
fi

failures=$(grep -c '^FAIL' "$summary")
say "$failures check(s) failed; logs in $out"
rm -rf "$traces"
((failures == 0))
