#!/usr/bin/env bash
# The worked ablation of docs/experiments.md in one command: DIPOLE β ∈ {0, 1, 3, 10} × ω ∈ {0, 1, 2, 4}
# × 3 seeds on walker stand at a reduced scale (configs/sweeps/walker_beta_ablation.toml). Collects
# 100 random-action episodes, runs the 12 runs (JOBS at once, default 2; rerun to continue after an
# interruption), then writes runs/sweeps/walker_beta_ablation/report/ (report.md, report.csv, plots).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
dipole="$BUILD_DIR/bin/dipole"
[ -x "$dipole" ] || BUILD_TARGET=dipole scripts/setup.sh
sweep=configs/sweeps/walker_beta_ablation.toml
"$dipole" collect configs/collect_walker_random.toml --episodes 100 \
  --set recorder.root=runs/walker_beta_ablation/data --set collect.seed=12345
"$dipole" sweep run "$sweep" --executor local --jobs "${JOBS:-2}"
"$dipole" sweep report "$sweep"
