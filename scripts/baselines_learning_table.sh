#!/usr/bin/env bash
# Reduced-scale learning table of every method (issue 12): ExORL walker stand on locally collected
# random-action data (`dipole collect`, as scripts/exorl_learning_benchmark.sh) and OGBench cube-single
# task 2 on locally generated play data (dipole_ogbench_generate, as scripts/ogbench_benchmark.sh), several
# seeds per method, then one table per benchmark (mean ± std over seeds) with `dipole report`.
#
# Scale (what it changes against the paper-scale pipelines configs/{exorl,ogbench}_<method>.toml):
# 2×256 networks, batch 256, STEPS updates instead of 1,000,000, EXORL_EPISODES collected walker episodes
# (1000 steps each) and OGBENCH_EPISODES generated cube-single episodes, EVAL_EPISODES evaluation
# episodes at the final step. The defaults took 50 minutes on 2 cores shared with two builds; the figures
# measure whether each method learns something at this tiny budget, not the paper's numbers.
#
#   scripts/baselines_learning_table.sh
#   SEEDS="0 1 2 3" STEPS=20000 scripts/baselines_learning_table.sh
#
# Environment: OUT (runs/baselines_table), SEEDS (0 1 2), STEPS (2000), EXORL_EPISODES (100),
# OGBENCH_EPISODES (200), EVAL_EPISODES (5), EXORL_METHODS, OGBENCH_METHODS (every method with a base
# pipeline for that benchmark), BUILD_DIR (build). Finished runs are skipped when rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/blas_env.sh   # OpenBLAS threads and kernels (docs/performance.md)
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-runs/baselines_table}
SEEDS=${SEEDS:-"0 1 2"}
STEPS=${STEPS:-2000}
EXORL_EPISODES=${EXORL_EPISODES:-100}
OGBENCH_EPISODES=${OGBENCH_EPISODES:-200}
EVAL_EPISODES=${EVAL_EPISODES:-5}
methods_of() {  # every configs/<benchmark>_<method>.toml whose plugin is built
  for f in configs/"$1"_*.toml; do
    m=$(basename "$f" .toml); m=${m#"$1"_}
    case $m in base | *collect*) ;; *) echo "$m" ;; esac   # base pipelines and data collection are not methods
  done
}
EXORL_METHODS=${EXORL_METHODS:-$(methods_of exorl | tr '\n' ' ')}
OGBENCH_METHODS=${OGBENCH_METHODS:-$(methods_of ogbench | tr '\n' ' ')}
dipole="$BUILD_DIR/bin/dipole"
[ -x "$dipole" ] || scripts/setup.sh

# The sections of a pipeline that hold networks, shrunk to 2×256 (the keys each method has).
networks() {
  local file=$1 out=()
  for section in critic denoiser one_step_policy actor; do
    if "$dipole" config "$file" --raw 2>/dev/null | grep -q "^\[$section\]"; then
      # ddpm_mlp (IDQL's LN-ResNet) has its own width keys; only flow_mlp-style networks shrink
      if ! "$dipole" config "$file" --raw | sed -n "/^\[$section\]/,/^\[/p" | grep -q 'type = "ddpm_mlp"'; then
        out+=(--set "$section.hidden_dims=[256,256]")
      fi
    fi
  done
  echo "${out[@]}"
}

train() {  # train <benchmark> <method> <run> <extra args...>
  local benchmark=$1 method=$2 run=$3; shift 3
  if [ -f "$run/eval.csv" ] && [ "$(tail -n 1 "$run/eval.csv" | cut -d, -f1)" = "$STEPS" ]; then
    echo "[table] $run is finished"; return
  fi
  echo "[table] $benchmark $method -> $run"
  # shellcheck disable=SC2046
  nice -n 10 "$dipole" train "configs/${benchmark}_${method}.toml" --out "$run" \
    --set trainer.steps="$STEPS" --set trainer.batch_size=256 --set trainer.log_interval=500 \
    --set trainer.eval_interval=0 --set trainer.checkpoint_interval="$STEPS" \
    --set eval.episodes="$EVAL_EPISODES" $(networks "configs/${benchmark}_${method}.toml") "$@"
}

# ---- ExORL walker stand ----------------------------------------------------------------------------
if [ -n "${EXORL_METHODS// /}" ] && [ ! -d "$OUT/exorl_data/walker/random" ]; then
  "$dipole" collect configs/collect_walker_random.toml --episodes "$EXORL_EPISODES" \
    --set recorder.root="$OUT/exorl_data" --set collect.seed=12345
fi
for method in $EXORL_METHODS; do
  for seed in $SEEDS; do
    train exorl "$method" "$OUT/exorl/${method}_seed${seed}" --set trainer.seed="$seed" \
      --set dataset.root="$OUT/exorl_data" --set dataset.algorithm=random \
      --set dataset.task=stand --set environment.task=stand
  done
done

# ---- OGBench cube-single task 2 --------------------------------------------------------------------
if [ -n "${OGBENCH_METHODS// /}" ] && [ ! -f "$OUT/ogbench_data/cube-single-play-v0.npz" ]; then
  "$BUILD_DIR/bin/dipole_ogbench_generate" --dataset cube-single-play-v0 --directory "$OUT/ogbench_data" \
    --episodes "$OGBENCH_EPISODES" --val-episodes $(( OGBENCH_EPISODES / 10 > 0 ? OGBENCH_EPISODES / 10 : 1 )) \
    --seed 0
fi
for method in $OGBENCH_METHODS; do
  for seed in $SEEDS; do
    train ogbench "$method" "$OUT/ogbench/${method}_seed${seed}" --set trainer.seed="$seed" \
      --set dataset.directory="$OUT/ogbench_data" \
      --set dataset.dataset=cube-single-play-singletask-task2-v0 --set environment.env=cube-single-singletask-task2-v0
  done
done

if [ -d "$OUT/exorl" ]; then "$dipole" report "$OUT/exorl" --out "$OUT/report_exorl" --source final; fi
if [ -d "$OUT/ogbench" ]; then
  "$dipole" report "$OUT/ogbench" --out "$OUT/report_ogbench" --metric success_rate --scale 100 --source final
fi
