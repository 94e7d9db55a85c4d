#!/usr/bin/env bash
# Clean build time of the whole project (issue 5, item 6; target <= 5 minutes on 2 cores).
# Exports the committed tree (git archive HEAD: uncommitted changes are not part of it) into a fresh
# temporary directory, then times a configure and a build of every target (core, plugins, CLI, tests)
# with Ninja, Release, ccache disabled and JOBS (default: nproc) jobs, and prints the seconds.
# It holds /tmp/dipole-build.lock while it builds (other builds wait instead of sharing the cores);
# NO_LOCK=1 skips that. The temporary directory is removed at the end (KEEP=1 keeps it).
# Usage: scripts/build_time.sh
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
tmp=$(mktemp -d /tmp/dipole-build-time.XXXXXX)
cleanup() { if [[ -z "${KEEP:-}" ]]; then rm -rf "$tmp"; else echo "[build_time] kept $tmp"; fi; }
trap cleanup EXIT
git archive --format=tar HEAD | tar -x -C "$tmp"
commit=$(git rev-parse --short HEAD)

measure() {
  export CCACHE_DISABLE=1
  echo "[build_time] commit $commit, $JOBS jobs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  local t0 t1 t2
  t0=$(date +%s.%N)
  cmake -S "$tmp" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log"
  t1=$(date +%s.%N)
  # CPU seconds of the build (user + system of all compiler processes): comparable across loads.
  local TIMEFORMAT='%U %S'
  { time cmake --build "$tmp/build" -j "$JOBS" >"$tmp/build.log" 2>&1; } 2>"$tmp/cpu.txt"
  t2=$(date +%s.%N)
  echo "[build_time] build CPU time: $(awk '{ printf "%.0f s (user %.0f, system %.0f)", $1 + $2, $1, $2 }' "$tmp/cpu.txt")"
  echo "[build_time] build steps: $(grep -c '^\[' "$tmp/build.log" || true)"
  echo "[build_time] load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "[build_time] targets built: $(grep -c 'Linking' "$tmp/build.log" || true) linked"
  awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    printf "[build_time] configure %.1f s, build %.1f s, total %.1f s (target <= 300 s)\n", b - a, c - b, c - a }'
}

if [[ -n "${NO_LOCK:-}" ]]; then
  measure
else
  exec 9>/tmp/dipole-build.lock
  flock 9
  measure
fi
