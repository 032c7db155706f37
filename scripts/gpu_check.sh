#!/usr/bin/env bash
# The GPU check: on a machine with a real NVIDIA GPU, builds vramscope (unless
# VRAMSCOPE_PREBUILT=1 and build/ is already there) and runs the integration
# suite against the real driver (not simcuda), the sample trainer and a PyTorch
# job under the profiler, and the injector's overhead on real cudaMalloc/cudaFree.
# Logs go to $OUT (default: ./gpu-check), in at most 8 files.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check}
mkdir -p "$out"
summary=$out/summary.txt
: > "$summary"
section() { printf '\n==== %s\n' "$*" >> "$summary"; }
section nvidia-smi
{ nvidia-smi || true; } >> "$summary" 2>&1
if [[ ${VRAMSCOPE_PREBUILT:-0} != 1 || ! -x build/bin/vramscope ]]; then
  scripts/setup.sh build > "$out/build.log" 2>&1 || { tail -20 "$out/build.log"; exit 1; }
fi
vs=build/bin/vramscope

section integration suite against the real driver
VRAMSCOPE_TEST_REAL_GPU=1 timeout 300 build/bin/vramscope_integration_tests > "$out/integration.log" 2>&1
status=$?
tail -5 "$out/integration.log" >> "$summary"

traces=$(mktemp -d /tmp/gpu-check-traces.XXXXXX)  # only what tests/data might keep comes back
section train_mlp
timeout 120 $vs run -o "$traces/train_mlp.vstrace" -- build/samples/train_mlp >> "$summary" 2>&1
$vs report "$traces/train_mlp.vstrace" --json "$out/train_mlp.json" >> "$summary" 2>&1

section "injector overhead on the real driver (ns per cudaMalloc+cudaFree of 1 MiB, 3 rounds)"
for round in 1 2 3; do
  plain=$(timeout 60 build/bin/alloc_loop_timed 20000 2>&1 | tail -1)
  none=$(timeout 60 $vs run -q --stacks none -o /tmp/o-none.vstrace -- build/bin/alloc_loop_timed 20000 2>&1 | tail -1)
  native=$(timeout 60 $vs run -q --stacks native -o /tmp/o-native.vstrace -- build/bin/alloc_loop_timed 20000 2>&1 | tail -1)
  echo "round $round: plain [$plain] stacks-none [$none] stacks-native [$native]" >> "$summary"
done

if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  for mode in default expandable; do
    section "PyTorch job ($mode allocator settings)"
    conf=; [[ $mode == expandable ]] && conf=expandable_segments:True
    trace=$traces/torch-$mode.vstrace
    [[ $mode == expandable ]] && trace=$out/torch-$mode.vstrace
    PYTORCH_CUDA_ALLOC_CONF=$conf timeout 180 $vs run -o "$trace" -- \
      python3 samples/train_torch.py --steps 10 >> "$summary" 2>&1
    echo "exit status $?" >> "$summary"
    $vs report "$trace" --json "$out/torch-$mode.json" >> "$summary" 2>&1
  done
  section "PyTorch job in two ranks under torchrun, one trace per process"
  mkdir -p "$traces/ranks"
  timeout 240 $vs run -o "$traces/ranks" -- python3 -m torch.distributed.run --standalone --nproc_per_node=2 \
    samples/train_torch.py --steps 5 >> "$summary" 2>&1
  echo "exit status $?" >> "$summary"
  ls -la "$traces/ranks" >> "$summary" 2>&1
  $vs report "$traces/ranks" --json "$out/torch-ranks.json" >> "$summary" 2>&1
else
  section "PyTorch job skipped: no python3 with CUDA-enabled torch"
fi
tail -3 "$out/integration.log"
exit $status
