#!/usr/bin/env bash
# Installs the Debian packages vramscope needs (a no-op when present), then
# configures and builds. Usage: scripts/setup.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ pkg-config nlohmann-json3-dev doctest-dev zlib1g-dev libdeflate-dev libunwind-dev libdw-dev heaptrack python3-jsonschema
  libimgui-dev libglfw3-dev libstb-dev xvfb xauth)
scripts/install_packages.sh setup "${packages[@]}"
if [[ ! -d /usr/local/cuda/include ]]; then
  echo "setup: the CUDA toolkit headers are missing (expected under /usr/local/cuda)" >&2
  exit 1
fi

build_dir=${1:-build}
shift || true
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
