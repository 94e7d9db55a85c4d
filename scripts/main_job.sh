#!/usr/bin/env bash
# The main job on the built-in default (no downloads): ExORL walker stand at a reduced scale.
#   1. collect a small random-action walker dataset in ExORL's on-disk format (dipole collect),
#   2. train DIPOLE on it with rewards relabelled for `stand` (configs/main_exorl_walker.toml),
#   3. evaluate the one checkpoint at several guidance weights ω, with and without best-of-32
#      rejection sampling, in the MuJoCo walker (10 episodes each, raw returns 0–1000),
#   4. write the results table (Markdown, CSV) and the learning-curve and return-vs-ω plots (PNG).
# Everything lands in $OUT (default runs/main_exorl); rerunning resumes or skips finished steps.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TARGET=dipole scripts/setup.sh   # the CLI and every plugin; the tests are not needed here
. scripts/blas_env.sh   # OpenBLAS threads; kernels after a self-check (docs/reliability.md)
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-runs/main_exorl}
dipole="$BUILD_DIR/bin/dipole"
start=$(date +%s)
"$dipole" collect configs/collect_walker_random.toml --episodes 200 --set recorder.root="$OUT/data"
"$dipole" train configs/main_exorl_walker.toml --out "$OUT/dipole" --set dataset.root="$OUT/data"
"$dipole" eval "$OUT/dipole" --omega 0,1,2 --num-candidates 1,32
"$dipole" report "$OUT/dipole" --out "$OUT/report"
echo "[main job] finished in $(( $(date +%s) - start )) s after the build; results in $OUT/report and $OUT/dipole"
