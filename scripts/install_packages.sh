#!/usr/bin/env bash
# Installs those of the Debian packages named that are not installed yet (a
# no-op when all are), saying so on behalf of WHO. A name with an
# architecture (zlib1g-dev:arm64) adds that architecture to dpkg first.
# usage: scripts/install_packages.sh WHO PACKAGE...
set -euo pipefail
who=${1:?usage: scripts/install_packages.sh WHO PACKAGE...}
shift
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "$who: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
for p in "${missing[@]}"; do
  [[ $p == *:* ]] || continue
  dpkg --print-foreign-architectures | grep -qx "${p##*:}" || $SUDO dpkg --add-architecture "${p##*:}"
done
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" > /dev/null
