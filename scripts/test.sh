#!/usr/bin/env bash
# Sets up, builds and runs every test: unit and integration tests on the
# normal build, again under AddressSanitizer and UndefinedBehaviorSanitizer,
# a check that an installed tree works on its own, a rehearsal of the GPU
# suite from its bundle on simcuda, and the injector's threads under
# ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== build"
scripts/setup.sh build
echo "== tests"
(cd build && ctest --output-on-failure -j "$jobs")

echo "== installed tree"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build --prefix "$prefix" >/dev/null
"$prefix/bin/vramscope" run -q --simulate -o "$prefix/t.vstrace" -- "$prefix/lib/vramscope/samples/leak" >/dev/null
"$prefix/bin/vramscope" report "$prefix/t.vstrace" --json "$prefix/r.json" >/dev/null
grep -q '"bytes": 10485760' "$prefix/r.json"
echo "install: 1 passed, 0 failed"

echo "== the GPU suite from a bundle (scripts/gpu_bundle.sh), rehearsed on simcuda"
scripts/gpu_bundle.sh --rehearse

echo "== the injector's threads under ThreadSanitizer (short form; scripts/tsan.sh --long for 32 threads)"
scripts/tsan.sh build

echo "== tests under ASan and UBSan"
scripts/setup.sh build-asan -DVRAMSCOPE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
(cd build-asan && ctest --output-on-failure -j "$jobs")

echo "== fuzz targets: every seed of their corpora and every input kept in fuzz/grown (scripts/fuzz.sh --seconds N fuzzes for longer)"
scripts/fuzz.sh --replay
