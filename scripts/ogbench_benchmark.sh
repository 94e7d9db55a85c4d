#!/usr/bin/env bash
# OGBench cube-single-play benchmark (issue 6): DIPOLE, FQL and flow BC trained on locally generated
# play data (dipole_ogbench_generate: the plan oracles of ogbench_manipulation.md §6, official file
# format), on every task 1..5, several seeds, evaluated in the C++ environment (success over 50
# episodes at the final step, algorithms.md §7.1), then one table in the paper's format (success %,
# mean ± std over seeds) with `dipole report`. The paper's cube-single figures: DIPOLE 97 ± 2,
# FQL 96 ± 1 (at 1M updates, 4×512 networks, official data).
#
# Reduced scale by default (what it changes against configs/ogbench_*.toml): 2×256 networks,
# STEPS updates instead of 1,000,000, EPISODES generated episodes instead of 1,000.
#
#   scripts/ogbench_benchmark.sh
#   TASKS="1 2" SEEDS="0 1 2" STEPS=20000 EPISODES=1000 scripts/ogbench_benchmark.sh
#
# Environment: OUT (runs/ogbench_benchmark), DATA (generated files; default $OUT/data), EPISODES (200),
# TASKS (1 2 3 4 5), SEEDS (0 1), ALGORITHMS (flow_bc fql dipole), STEPS (10000), BUILD_DIR (build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-runs/ogbench_benchmark}
DATA=${DATA:-$OUT/data}
EPISODES=${EPISODES:-200}
TASKS=${TASKS:-"1 2 3 4 5"}
SEEDS=${SEEDS:-"0 1"}
ALGORITHMS=${ALGORITHMS:-"flow_bc fql dipole"}
STEPS=${STEPS:-10000}
dipole="$BUILD_DIR/bin/dipole"
[ -x "$dipole" ] || scripts/setup.sh
. scripts/blas_env.sh   # OpenBLAS threads; kernels after a self-check (docs/reliability.md)

if [ ! -f "$DATA/cube-single-play-v0.npz" ]; then
  "$BUILD_DIR/bin/dipole_ogbench_generate" --dataset cube-single-play-v0 --directory "$DATA" \
    --episodes "$EPISODES" --val-episodes $(( EPISODES / 10 > 0 ? EPISODES / 10 : 1 )) --seed 0
fi

scale=(--set trainer.steps="$STEPS" --set trainer.log_interval=500 --set trainer.eval_interval=0
       --set trainer.checkpoint_interval=$((STEPS / 4)) --set dataset.directory="$DATA"
       --set denoiser.hidden_dims=[256,256])
for task in $TASKS; do
  for algorithm in $ALGORITHMS; do
    case "$algorithm" in  # the networks each pipeline has besides [denoiser]
      dipole) extra=(--set critic.hidden_dims=[256,256]) ;;
      fql) extra=(--set critic.hidden_dims=[256,256] --set one_step_policy.hidden_dims=[256,256]) ;;
      *) extra=() ;;
    esac
    for seed in $SEEDS; do
      run="$OUT/runs/task${task}/${algorithm}_seed${seed}"
      if [ -f "$run/eval.csv" ] && [ "$(tail -n 1 "$run/eval.csv" | cut -d, -f1)" = "$STEPS" ]; then
        echo "[benchmark] $run is finished"
        continue
      fi
      echo "[benchmark] training $algorithm on cube-single task $task, seed $seed"
      "$dipole" train "configs/ogbench_${algorithm}.toml" --out "$run" "${scale[@]}" ${extra[@]+"${extra[@]}"} \
        --set trainer.seed="$seed" \
        --set dataset.dataset="cube-single-play-singletask-task${task}-v0" \
        --set environment.env="cube-single-singletask-task${task}-v0"
    done
  done
done
"$dipole" report "$OUT/runs" --out "$OUT/report" --rows dataset.dataset --metric success_rate --scale 100 \
  --source final
