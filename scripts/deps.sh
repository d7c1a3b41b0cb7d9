#!/bin/sh
# Install what mcrage needs on Debian 12 (run as root; skips what is already there).
#   ./scripts/deps.sh            build dependencies
#   ./scripts/deps.sh --python   also the Python package's: Debian's python3 with numpy, pandas,
#                                scikit-learn and imbalanced-learn
#   ./scripts/deps.sh --tests    also what the test suite uses: the above, pytest, Chromium
#                                (renders the HTML report headless) and Open MPI (make MPI=1,
#                                tests/cli/test_mpi.sh)
#   ./scripts/deps.sh --mpi      also Open MPI, for the MPI build (make MPI=1)
set -e
PKGS="build-essential libopenblas-dev libopenblas-openmp-dev libxgboost-dev zlib1g-dev libpng-dev libdnnl-dev"
PY="python3 python3-numpy python3-pandas python3-sklearn python3-imblearn"
MPI="openmpi-bin libopenmpi-dev"
[ "${1:-}" = "--python" ] && PKGS="$PKGS $PY"
[ "${1:-}" = "--mpi" ] && PKGS="$PKGS $MPI"
[ "${1:-}" = "--tests" ] && PKGS="$PKGS $PY python3-pytest chromium $MPI"
[ "${WITH_FUZZ:-0}" = 1 ] && PKGS="$PKGS clang libclang-rt-14-dev libomp-14-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "mcrage: installing:$missing" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
