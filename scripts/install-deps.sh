#!/usr/bin/env bash
# Installs the Debian packages Thermograd needs, when missing: OpenBLAS and LAPACKE (every matrix
# product and factorisation), zlib (gzip'd IDX files), Open MPI (library, headers and mpirun: multi-process
# training, docs/multi-process.md), pkg-config (include paths), and the Fashion-MNIST data set.
# Runs apt-get as root, or through sudo when available.
set -euo pipefail
packages=(pkg-config libopenblas-dev liblapacke-dev zlib1g-dev libopenmpi-dev openmpi-bin dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "error: not root and no sudo; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
