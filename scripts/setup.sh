#!/usr/bin/env bash
# Installs Dipole's Debian dependencies (when run as root or with sudo) and builds into build/.
# Usage: scripts/setup.sh   (BUILD_DIR, BUILD_TYPE, JOBS, BUILD_TARGET and CMAKE_ARGS may be set in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build ccache pkg-config libtorch-dev libmujoco-dev libboost-dev
          libboost-program-options-dev libboost-filesystem-dev libtomlplusplus-dev libfmt-dev libgtest-dev
          libzip-dev zlib1g-dev gnuplot libopenblas0-pthread
          slurm-wlm munge)   # slurm-wlm, munge: the one-node cluster of tests/slurm/slurm_test.sh
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}
JOBS=${JOBS:-$(nproc)}
# ccache skips every compile that uses the precompiled header unless told these are safe to ignore.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${CMAKE_ARGS:-}
start=$(date +%s)
cmake --build "$BUILD_DIR" -j "$JOBS" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
echo "[setup] build finished in $(( $(date +%s) - start )) s"
