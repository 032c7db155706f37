#!/usr/bin/env bash
# The long forms of the reliability checks (docs/reliability.md): 32 threads
# of 1 M events each, SIGKILL at 50 points. `.ci/run` runs their short forms
# with the rest of the integration suite. Usage: scripts/reliability.sh [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[[ -x $build/bin/vramscope_integration_tests ]] || { echo "reliability.sh: build first (scripts/setup.sh $build)" >&2; exit 1; }
VRAMSCOPE_LONG_TESTS=1 "$build/bin/vramscope_integration_tests" \
  -tc="32 threads allocating*,SIGKILL at 50 points*,a disk that fills up*,a job that closes every*,workers forked*"
