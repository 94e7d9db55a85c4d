#!/usr/bin/env bash
# Learning-quality benchmark on ExORL walker (issue 4): flow BC, CFGRL, FQL and DIPOLE on walker stand,
# walk and run, 3 seeds, trained on a locally collected random-action dataset (EPISODES episodes of
# 1,000 steps, default 1,000 = 1,000,000 transitions). The runs are the sweep file
# configs/sweeps/exorl_learning.toml (methods, tasks, seeds and the reduced scale are edited there;
# docs/experiments.md); this wrapper collects the data, runs the sweep (JOBS runs at once) and writes
# the report. Rerunning skips finished runs and resumes interrupted ones.
#
#   scripts/exorl_learning_benchmark.sh
#   JOBS=2 EPISODES=200 scripts/exorl_learning_benchmark.sh
#
# Cost on 2 cores: about 2-4 minutes per run at 20,000 updates, plus ~1 minute per run of evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
EPISODES=${EPISODES:-1000}
JOBS=${JOBS:-1}
sweep=configs/sweeps/exorl_learning.toml
dipole="$BUILD_DIR/bin/dipole"
[ -x "$dipole" ] || BUILD_TARGET=dipole scripts/setup.sh
. scripts/blas_env.sh   # OpenBLAS threads; kernels after a self-check (docs/reliability.md)

"$dipole" collect configs/collect_walker_random.toml --episodes "$EPISODES" \
  --set recorder.root=runs/exorl_learning/data --set collect.seed=12345
"$dipole" sweep run "$sweep" --executor local --jobs "$JOBS"
"$dipole" sweep report "$sweep" --out runs/exorl_learning/report
