#!/usr/bin/env bash
# OGBench cube-single-play benchmark (issue 6): DIPOLE, FQL and flow BC on every task 1..5, 2 seeds,
# trained on locally generated play data (dipole_ogbench_generate: the plan oracles, official file
# format) and evaluated in the C++ environment (success over 50 episodes at the final step), then one
# table in the paper's format (success %, mean ± std over seeds). The paper's cube-single figures:
# DIPOLE 97 ± 2, FQL 96 ± 1 (at 1M updates, 4×512 networks, official data).
#
# The runs are the sweep file configs/sweeps/ogbench_benchmark.toml (methods, tasks, seeds and the
# reduced scale — 2×256 networks, 10k updates — are edited there; docs/experiments.md); this wrapper
# generates EPISODES episodes (default 200), runs the sweep (JOBS at once) and writes the report.
#
#   scripts/ogbench_benchmark.sh
#   JOBS=2 EPISODES=1000 scripts/ogbench_benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DATA=runs/ogbench_benchmark/data   # the sweep file's dataset.directory
EPISODES=${EPISODES:-200}
JOBS=${JOBS:-1}
sweep=configs/sweeps/ogbench_benchmark.toml
dipole="$BUILD_DIR/bin/dipole"
[ -x "$dipole" ] || scripts/setup.sh
. scripts/blas_env.sh   # OpenBLAS threads; kernels after a self-check (docs/reliability.md)

if [ ! -f "$DATA/cube-single-play-v0.npz" ]; then
  "$BUILD_DIR/bin/dipole_ogbench_generate" --dataset cube-single-play-v0 --directory "$DATA" \
    --episodes "$EPISODES" --val-episodes $(( EPISODES / 10 > 0 ? EPISODES / 10 : 1 )) --seed 0
fi
"$dipole" sweep run "$sweep" --executor local --jobs "$JOBS"
"$dipole" sweep report "$sweep" --out runs/ogbench_benchmark/report
