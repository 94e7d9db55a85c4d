#!/usr/bin/env bash
# Crash tests of `dipole train` (docs/reliability.md, "Crash tests"), on a small bandit pipeline that
# writes a checkpoint after every update:
#   1. kill -9 at random moments (KILLS, default 12), resuming each time: the final checkpoint and the
#      logs must be bit-identical to an uninterrupted run's, and no temp file may be left behind;
#      1b. the same for two seeds trained together (trainer.seeds, GROUP_KILLS kills, default 6);
#   2. disk full: a small tmpfs (or, where mounting is not allowed, a file-size limit via ulimit -f):
#      the resumed run must fail with an error naming the file, the last good checkpoint intact;
#   3. read-only output directory (a read-only bind mount, or an unprivileged user): same.
# Needs a built CLI ($BUILD_DIR/bin/dipole). Prints one line per check and exits 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
KILLS=${KILLS:-12}
SEED=${SEED:-$RANDOM}
dipole=$(realpath "$BUILD_DIR/bin/dipole")
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d /tmp/dipole_crash.XXXXXX)
chmod 755 "$work"
mounts=()
cleanup() {
  for m in "${mounts[@]:-}"; do [ -n "$m" ] && umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
report() { echo "[crash] $*"; }
fail() { echo "[crash] FAILED: $*"; failures=$((failures + 1)); }

cat > "$work/tiny.toml" <<'TOML'
[trainer]
steps = 600
batch_size = 32
seed = 3
log_interval = 5
eval_interval = 200
checkpoint_interval = 1

[dataset]
type = "bandit"
size = 2000

[environment]
type = "bandit"

[eval]
episodes = 8

[algorithm]
type = "flow_bc"

[denoiser]
type = "flow_mlp"
hidden_dims = [64, 64]

[sampler]
type = "euler"
steps = 4
TOML
strip_time() { sed 's/, "time\/[^,}]*//g' "$1"; }

# ---- 1. kill -9 --------------------------------------------------------------------------------
seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
start=$(date +%s%N)
"$dipole" train "$work/tiny.toml" --quiet --out "$work/startup" --stop-after 0 > /dev/null
startup=$(seconds_since "$start")
start=$(date +%s%N)
"$dipole" train "$work/tiny.toml" --quiet --out "$work/reference" > /dev/null
duration=$(seconds_since "$start")
report "uninterrupted run: $duration s, of which $startup s start-up (loading LibTorch and the plugins)"
RANDOM=$SEED
kills=0 during_write=0 runs=0
steps_seen=()
while true; do
  runs=$((runs + 1))
  "$dipole" train "$work/tiny.toml" --out "$work/killed" > "$work/run.log" 2>&1 &
  pid=$!
  if [ "$kills" -lt "$KILLS" ]; then
    # Once training runs (its first progress line), a random moment within 1/(2 KILLS) of the
    # training time: each kill lands at a random update or checkpoint write.
    for _ in $(seq 4800); do
      grep -q '\[train\] step' "$work/run.log" 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    delay=$(awk -v s="$startup" -v d="$duration" -v k="$KILLS" -v r="$RANDOM" \
      'BEGIN { t = d - s; if (t < 1) t = 1; printf "%.3f", t / (2 * k) * r / 32768 }')
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
  fi
  set +e
  { wait "$pid"; } 2>/dev/null  # (no "Killed" job message)
  rc=$?
  set -e
  if [ "$rc" -eq 137 ]; then
    kills=$((kills + 1))
    # The last progress line before the kill (a line every 5 steps), and whether this process was
    # writing a checkpoint (its <file>.tmp.<pid> exists).
    steps_seen+=("$(grep -o 'step [0-9]*/' "$work/run.log" | tail -1 | tr -dc 0-9)")
    ls "$work/killed/checkpoints" 2>/dev/null | grep -q "\.tmp\.$pid" && during_write=$((during_write + 1))
  elif [ "$rc" -eq 0 ]; then
    break
  else
    fail "run $runs exited with $rc: $(tail -2 "$work/run.log")"
    break
  fi
  [ "$runs" -gt $((KILLS + 20)) ] && { fail "no end after $runs runs"; break; }
done
report "kill -9: $kills kills in $runs runs (seed $SEED), $during_write of them during a checkpoint write (its temp file left behind); last logged step before each kill: ${steps_seen[*]:-none}"
[ "$kills" -ge 10 ] || fail "only $kills kills (the run finished too early)"
if cmp -s "$work/reference/checkpoints/latest.npz" "$work/killed/checkpoints/latest.npz"; then
  report "kill -9: final checkpoint bit-identical to the uninterrupted run's"
else
  fail "kill -9: final checkpoints differ"
fi
for f in metrics.jsonl eval.jsonl eval.csv; do
  if [ "$f" = metrics.jsonl ]; then a=$(strip_time "$work/reference/$f"); b=$(strip_time "$work/killed/$f");
  else a=$(cat "$work/reference/$f"); b=$(cat "$work/killed/$f"); fi
  [ "$a" = "$b" ] && report "kill -9: $f identical" || fail "kill -9: $f differs"
done
leftover=$(find "$work/killed" -name '*.tmp.*' | wc -l)
[ "$leftover" -eq 0 ] && report "kill -9: no temp files left" || fail "kill -9: $leftover temp files left"

# ---- 1b. kill -9 of seeds trained together (trainer.seeds, docs/seeds.md) ------------------------
# Two seeds on two threads write their checkpoints at the same moments: after random kills, each
# seed's directory must equal that of the uninterrupted group.
GROUP_KILLS=${GROUP_KILLS:-6}
group=(--set 'trainer.seeds=[3, 8]' --set trainer.threads=2 --set trainer.steps=300)
"$dipole" train "$work/tiny.toml" "${group[@]}" --quiet --out "$work/group_reference" > /dev/null
gkills=0 gruns=0
while true; do
  gruns=$((gruns + 1))
  "$dipole" train "$work/tiny.toml" "${group[@]}" --out "$work/group_killed" > "$work/group.log" 2>&1 &
  pid=$!
  if [ "$gkills" -lt "$GROUP_KILLS" ]; then
    for _ in $(seq 4800); do
      grep -q 'seeds\] step' "$work/group.log" 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.15 * r / 32768 }')"
    kill -9 "$pid" 2>/dev/null || true
  fi
  set +e
  { wait "$pid"; } 2>/dev/null
  rc=$?
  set -e
  if [ "$rc" -eq 137 ]; then
    gkills=$((gkills + 1))
  elif [ "$rc" -eq 0 ]; then
    break
  else
    fail "group run $gruns exited with $rc: $(tail -2 "$work/group.log")"
    break
  fi
  [ "$gruns" -gt $((GROUP_KILLS + 20)) ] && { fail "group: no end after $gruns runs"; break; }
done
report "kill -9 of two seeds trained together: $gkills kills in $gruns runs"
[ "$gkills" -ge 3 ] || fail "group: only $gkills kills (the run finished too early)"
for seed in seed3 seed8; do
  if cmp -s "$work/group_reference/$seed/checkpoints/latest.npz" "$work/group_killed/$seed/checkpoints/latest.npz" &&
    [ "$(strip_time "$work/group_reference/$seed/metrics.jsonl")" = "$(strip_time "$work/group_killed/$seed/metrics.jsonl")" ] &&
    cmp -s "$work/group_reference/$seed/eval.csv" "$work/group_killed/$seed/eval.csv"; then
    report "kill -9 group: $seed checkpoint bit-identical, metrics and evaluations identical"
  else
    fail "kill -9 group: $seed differs from the uninterrupted group"
  fi
done
leftover=$(find "$work/group_killed" -name '*.tmp.*' | wc -l)
[ "$leftover" -eq 0 ] && report "kill -9 group: no temp files left" || fail "kill -9 group: $leftover temp files left"

# ---- 2./3. a resume that cannot write ----------------------------------------------------------
# expect_write_error NAME DIR LOG: the resumed run failed cleanly and the checkpoint is unchanged.
expect_write_error() {
  local name=$1 dir=$2 rc=$3 log=$4
  if [ "$rc" -eq 1 ] && grep -q "^error: .*$dir" "$log"; then
    report "$name: exit 1, $(grep -m1 '^error:' "$log" | cut -c1-160)"
  else
    fail "$name: exit $rc, expected 1 and an error naming a file in $dir: $(tail -3 "$log")"
  fi
  if cmp -s "$work/good.npz" "$dir/checkpoints/latest.npz"; then
    report "$name: last good checkpoint intact (byte-identical, step 40)"
  else
    fail "$name: the checkpoint changed or is missing"
  fi
}
first_part() {  # a run directory stopped at step 40, its checkpoint saved as good.npz
  "$dipole" train "$work/tiny.toml" --quiet --out "$1" --stop-after 40 > /dev/null
  cp "$1/checkpoints/latest.npz" "$work/good.npz"
}

# Disk full.
full="$work/full"
mkdir -p "$full"
if mount -t tmpfs -o size=1m tmpfs "$full" 2>/dev/null; then
  mounts+=("$full")
  first_part "$full/run"
  # Leave room for the logs but less than a checkpoint needs.
  dd if=/dev/zero of="$full/filler" bs=1k 2>/dev/null || true
  truncate -s "-$(( $(stat -c %s "$work/good.npz") / 2 ))" "$full/filler"
  set +e
  "$dipole" train "$work/tiny.toml" --quiet --out "$full/run" > "$work/full.log" 2>&1
  rc=$?
  set -e
  expect_write_error "disk full (1 MB tmpfs)" "$full/run" "$rc" "$work/full.log"
else
  first_part "$full/run"
  size_kb=$(( $(stat -c %s "$work/good.npz") / 2048 ))  # files larger than half a checkpoint fail (EFBIG)
  set +e
  (trap '' XFSZ; ulimit -f "$size_kb"; exec "$dipole" train "$work/tiny.toml" --quiet --out "$full/run") \
    > "$work/full.log" 2>&1
  rc=$?
  set -e
  expect_write_error "disk full (ulimit -f: mount not allowed here)" "$full/run" "$rc" "$work/full.log"
fi

# Read-only output directory.
ro="$work/readonly"
first_part "$ro"
if mount --bind "$ro" "$ro" 2>/dev/null && mounts+=("$ro") && mount -o remount,ro,bind "$ro" 2>/dev/null; then
  how="read-only bind mount"
  set +e
  "$dipole" train "$work/tiny.toml" --quiet --out "$ro" > "$work/ro.log" 2>&1
  rc=$?
  set -e
else
  how="owned by root, run as nobody"
  set +e
  setpriv --reuid=65534 --regid=65534 --clear-groups "$dipole" train "$work/tiny.toml" --quiet --out "$ro" > "$work/ro.log" 2>&1
  rc=$?
  set -e
fi
expect_write_error "read-only directory ($how)" "$ro" "$rc" "$work/ro.log"

if [ "$failures" -eq 0 ]; then report "all crash tests passed"; else report "$failures FAILED"; fi
[ "$failures" -eq 0 ]
