#!/usr/bin/env bash
# Learning-quality benchmark on ExORL walker (issue 4): flow BC, CFGRL, FQL and DIPOLE trained on a
# locally collected random-action dataset (1,000 episodes = 1,000,000 transitions by default), several
# seeds per task, at the reduced scale of configs/main_exorl_walker.toml (2×256 networks, batch 256,
# 10 Euler steps), then one results table (mean ± std over seeds) with `dipole report`.
#
#   scripts/exorl_learning_benchmark.sh                     # defaults below
#   TASKS="stand walk run" SEEDS="0 1 2" STEPS=50000 scripts/exorl_learning_benchmark.sh
#
# Environment: OUT (runs/exorl_learning), EPISODES (1000), TASKS (stand walk run), SEEDS (0 1 2),
# ALGORITHMS (flow_bc cfgrl fql dipole), STEPS (20000 updates), BUILD_DIR (build).
# Each run resumes if interrupted; rerunning skips finished runs. Cost on 2 cores: about 2-4 minutes
# per run at 20,000 updates, plus ~1 minute per run of evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-runs/exorl_learning}
EPISODES=${EPISODES:-1000}
TASKS=${TASKS:-"stand walk run"}
SEEDS=${SEEDS:-"0 1 2"}
ALGORITHMS=${ALGORITHMS:-"flow_bc cfgrl fql dipole"}
STEPS=${STEPS:-20000}
dipole="$BUILD_DIR/bin/dipole"
[ -x "$dipole" ] || BUILD_TARGET=dipole scripts/setup.sh
. scripts/blas_env.sh   # OpenBLAS threads; kernels after a self-check (docs/reliability.md)

"$dipole" collect configs/collect_walker_random.toml --episodes "$EPISODES" \
  --set recorder.root="$OUT/data" --set collect.seed=12345

# The reduced scale of the main job, for every algorithm (keys each pipeline has).
scale=(--set trainer.steps="$STEPS" --set trainer.batch_size=256 --set trainer.log_interval=500
       --set trainer.eval_interval=$((STEPS / 2)) --set trainer.checkpoint_interval=$((STEPS / 4))
       --set dataset.root="$OUT/data" --set dataset.algorithm=random)
for task in $TASKS; do
  for algorithm in $ALGORITHMS; do
    extra=(--set denoiser.hidden_dims=[256,256])
    case "$algorithm" in
      dipole) extra+=(--set critic.hidden_dims=[256,256] --set sampler.inner.steps=10) ;;
      cfgrl) extra+=(--set critic.hidden_dims=[256,256] --set sampler.steps=10) ;;
      fql) extra+=(--set critic.hidden_dims=[256,256] --set one_step_policy.hidden_dims=[256,256]) ;;
      flow_bc) extra+=(--set sampler.steps=10) ;;
    esac
    for seed in $SEEDS; do
      run="$OUT/runs/${task}/${algorithm}_seed${seed}"
      if [ -f "$run/eval.csv" ] && [ "$(tail -n 1 "$run/eval.csv" | cut -d, -f1)" = "$STEPS" ]; then
        echo "[benchmark] $run is finished"
      else
        echo "[benchmark] training $algorithm on walker $task, seed $seed"
        "$dipole" train "configs/exorl_${algorithm}.toml" --out "$run" "${scale[@]}" "${extra[@]}" \
          --set trainer.seed="$seed" --set dataset.task="$task" --set environment.task="$task"
      fi
    done
  done
done
# Fixed settings (no max over ω, algorithms.md §7.3): the final evaluation of each run at its
# configured ω (DIPOLE: ω = 1 with best-of-32; CFGRL: ω = 1; FQL and flow BC have none).
"$dipole" report "$OUT/runs" --out "$OUT/report" --source final
