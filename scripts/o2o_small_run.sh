#!/usr/bin/env bash
# A reduced-scale offline-to-online run on generated OGBench data (docs/online.md, "Measured run on
# OGBench data"; figures in docs/performance.md, "Online phase"). One command:
#
#   scripts/o2o_small_run.sh
#   SEEDS="0 1 2" OFFLINE=20000 ONLINE=10000 scripts/o2o_small_run.sh
#
# It generates EPISODES play episodes of CATEGORY with the plan oracles (dipole_ogbench_generate, one
# thread; skipped when the file exists), then per seed trains the method's offline-to-online preset
# configs/presets/METHOD/scene-play_o2o.toml on TASK at reduced scale (HIDDEN networks, OFFLINE + ONLINE
# updates, buffer BUFFER rows, EVAL_EPISODES evaluation episodes after the offline phase and at the
# end), one seed after another with one intra-op thread, under `nice -n 10`. Last, one line per seed:
# success and return after the offline phase → after the online phase, and the online phase's mean
# env steps/s and updates/s (the `time/` columns of metrics.jsonl, docs/online.md "Logs").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
METHOD=${METHOD:-fql}
CATEGORY=${CATEGORY:-scene}
TASK=${TASK:-1}
EPISODES=${EPISODES:-50}
SEEDS=${SEEDS:-"0 1"}
OFFLINE=${OFFLINE:-10000}
ONLINE=${ONLINE:-5000}
BUFFER=${BUFFER:-200000}
EVAL_EPISODES=${EVAL_EPISODES:-10}
HIDDEN=${HIDDEN:-256,256}
OUT=${OUT:-runs/o2o_small}
DATA=$OUT/data
dipole="$BUILD_DIR/bin/dipole"
[ -x "$dipole" ] || scripts/setup.sh
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

preset=configs/presets/$METHOD/$CATEGORY-play_o2o.toml
[ -f "$preset" ] || { echo "o2o_small_run: no preset $preset" >&2; exit 2; }
if [ ! -f "$DATA/$CATEGORY-play-v0.npz" ]; then
  start=$(date +%s)
  nice -n 10 "$BUILD_DIR/bin/dipole_ogbench_generate" --dataset "$CATEGORY-play-v0" --directory "$DATA" \
    --episodes "$EPISODES" --val-episodes 1 --seed 0 --threads 1
  echo "[o2o_small_run] generated $EPISODES episodes in $(( $(date +%s) - start )) s"
fi

# The networks the method builds (hidden sizes): every section that has them.
sets=(--set "trainer.steps=$OFFLINE" --set "online.steps=$ONLINE" --set "online.buffer_size=$BUFFER"
      --set "trainer.eval_interval=0" --set "online.eval_interval=0" --set "trainer.log_interval=500"
      --set "trainer.checkpoint_interval=0" --set "trainer.threads=1"
      --set "eval.episodes=$EVAL_EPISODES" --set "eval.parallel=$EVAL_EPISODES"
      --set "dataset.directory=\"$DATA\""
      --set "dataset.dataset=\"$CATEGORY-play-singletask-task$TASK-v0\""
      --set "environment.env=\"$CATEGORY-singletask-task$TASK-v0\"")
for section in critic denoiser one_step_policy actor; do
  if "$dipole" config --raw "$preset" | grep -q "^\[$section\]"; then
    sets+=(--set "$section.hidden_dims=[$HIDDEN]")
  fi
done

for seed in $SEEDS; do
  run=$OUT/$METHOD/$CATEGORY-task$TASK/seed$seed
  start=$(date +%s)
  nice -n 10 "$dipole" train "$preset" --out "$run" --quiet "${sets[@]}" --set "trainer.seed=$seed"
  echo "[o2o_small_run] seed $seed: $(( $(date +%s) - start )) s wall"
done

echo "method task seed: success (return) offline -> online | online phase: env steps/s, updates/s (means)"
for seed in $SEEDS; do
  run=$OUT/$METHOD/$CATEGORY-task$TASK/seed$seed
  pair=$(jq -rs '[.[] | select(.phase=="offline")] | last | "\(."eval/success_rate") (\(."eval/return_mean"|round))"' "$run/eval.jsonl")
  after=$(jq -rs '[.[] | select(.phase=="online")] | last | "\(."eval/success_rate") (\(."eval/return_mean"|round))"' "$run/eval.jsonl")
  rates=$(jq -rs '[.[] | select(.phase=="online" and ."time/env_steps_per_second" != null)] |
                  "\((map(."time/env_steps_per_second") | add / length * 10 | round / 10)), \((map(."time/updates_per_second") | add / length * 10 | round / 10))"' "$run/metrics.jsonl")
  echo "$METHOD $CATEGORY-task$TASK $seed: $pair -> $after | $rates"
done
