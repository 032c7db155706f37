#!/usr/bin/env bash
# Quick start: sets up and builds vramscope, runs the sample training job
# train_mlp under the profiler (on the real GPU, or on simcuda where there is
# none) and prints its report. Extra arguments go to train_mlp.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
trace=build/train_mlp.vstrace
build/bin/vramscope run -o "$trace" -- build/samples/train_mlp "$@"
echo
build/bin/vramscope report "$trace"
