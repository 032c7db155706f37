#!/usr/bin/env bash
# Packs what the GPU suite (tests/gpu/run.sh) needs from this machine's build
# into one folder, for a GPU machine that has no Debian packages to build
# with and cannot fetch any: vramscope (stripped), the injector with its
# Python hooks and libunwind, the samples, and the three libraries vramscope
# needs that such a machine may lack (libdw, libelf, libdeflate). Prints the
# one command to run there, from the checkout's root, with the folder beside it.
# --rehearse packs it beside a copy of what the suite reads of the checkout
# (tests/gpu, samples, scripts) instead and runs it there on simcuda, with a
# stand-in nvidia-smi: every sample must pass check a, with exit status 0 (the
# checks that need PyTorch, compute-sanitizer or a driver fail, as they must).
# usage: scripts/gpu_bundle.sh [--rehearse] [BUNDLE_DIR]   (default: .gpu-bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
rehearse=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --rehearse) rehearse=1; shift ;;
    -*) echo "gpu_bundle.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
bundle=${1:-.gpu-bundle}
if ((rehearse)); then
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/tree" "$stage/bin"
  # What the suite reads from the checkout beside the bundle.
  tar -cf - tests/gpu samples scripts | tar -xf - -C "$stage/tree"
  bundle=$stage/tree/.gpu-bundle
fi
if [[ ! -f build/CMakeCache.txt ]]; then
  echo "gpu_bundle.sh: no build in build/: run scripts/setup.sh first" >&2
  exit 1
fi
cmake --build build -j "$(nproc)" --target vramscope vramscope_inject samples_all > /dev/null

rm -rf "$bundle"
mkdir -p "$bundle/build/bin" "$bundle/build/samples" "$bundle/libs"
strip -o "$bundle/build/bin/vramscope" build/bin/vramscope
cp -a build/lib "$bundle/build/"
find build/samples -maxdepth 1 -type f -perm -u+x -exec cp -a {} "$bundle/build/samples/" \;
# The libraries vramscope links that a machine without Debian's packages may
# lack; the injector itself needs none of them (libunwind is already beside it).
for name in libdw.so.1 libelf.so.1 libdeflate.so.0; do
  path=$(ldd build/bin/vramscope | awk -v n="$name" '$1 == n {print $3}')
  [[ -n $path ]] || { echo "gpu_bundle.sh: vramscope does not link $name" >&2; exit 1; }
  cp -L "$path" "$bundle/libs/$name"
done
cat > "$bundle/run.sh" << 'RUN'
#!/usr/bin/env bash
# Runs the GPU suite on the build packed beside this file (scripts/gpu_bundle.sh).
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
mkdir -p build
cp -a "$here/build/." build/
export LD_LIBRARY_PATH=$here/libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! build/bin/vramscope --version > /dev/null; then
  echo "gpu bundle: vramscope does not start here" >&2
  exit 1
fi
VRAMSCOPE_PREBUILT=1 exec tests/gpu/run.sh "$@"
RUN
chmod +x "$bundle/run.sh"
echo "gpu_bundle.sh: $bundle: $(du -sh "$bundle" | cut -f1) ($(find "$bundle" -type f | wc -l) files)"
if ((!rehearse)); then
  echo "gpu_bundle.sh: on the GPU machine, in this checkout's root: $bundle/run.sh  (logs in \$OUT or ./gpu-suite)"
  exit 0
fi
printf '#!/bin/sh\necho "GPU 0: simcuda, a stand-in for the rehearsal"\n' > "$stage/bin/nvidia-smi"
chmod +x "$stage/bin/nvidia-smi"
PATH=$stage/bin:$PATH LD_LIBRARY_PATH=$bundle/build/lib/vramscope/simcuda OUT=$stage/out "$bundle/run.sh" \
  > "$stage/run.log" 2>&1 || true
samples=$(find build/samples -maxdepth 1 -type f -perm -u+x | wc -l)
passed=$(grep -c '^PASS  a\..* exit status (0) ' "$stage/out/summary.txt" 2> /dev/null || true)
if ((samples == 0)) || [[ $passed != "$samples" ]]; then
  cat "$stage/run.log"
  echo "gpu_bundle.sh: rehearsal: $passed of $samples samples passed check a" >&2
  exit 1
fi
echo "gpu_bundle.sh: rehearsal on simcuda: all $samples samples passed check a from the bundle"
