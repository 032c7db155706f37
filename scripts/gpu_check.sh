#!/usr/bin/env bash
# The GPU check: on a machine with a real NVIDIA GPU, builds vramscope and runs
# the integration suite against the real driver (not simcuda), then the sample
# trainer under the profiler. Logs go to $OUT (default: ./gpu-check).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check}
mkdir -p "$out"
{ nvidia-smi || true; } > "$out/nvidia-smi.txt" 2>&1
scripts/setup.sh build > "$out/build.log" 2>&1 || { tail -20 "$out/build.log"; exit 1; }
VRAMSCOPE_TEST_REAL_GPU=1 build/bin/vramscope_integration_tests > "$out/integration.log" 2>&1
status=$?
build/bin/vramscope run -o "$out/train_mlp.vstrace" -- build/samples/train_mlp > "$out/train_mlp.log" 2>&1
build/bin/vramscope report "$out/train_mlp.vstrace" --json "$out/train_mlp.json" > "$out/train_mlp.txt" 2>&1
build/bin/vramscope_overhead_bench --iterations 200000 --repeat 3 > "$out/bench-simcuda.txt" 2>&1
tail -5 "$out/integration.log"
exit $status
