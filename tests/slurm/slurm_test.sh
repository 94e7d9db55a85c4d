#!/usr/bin/env bash
# A real one-node Slurm cluster for `dipole sweep --executor slurm` (docs/experiments.md):
#   1. installs slurm-wlm and munge if missing (Debian, as root), starts munged, slurmctld and slurmd with
#      their configuration, keys, sockets, state and logs in a temporary directory;
#   2. submits a small sweep (2 methods × 2 seeds on the bandit) as one job array, waits for it through
#      `dipole sweep status`, and checks the report;
#   3. requeue: `scontrol requeue` a running array task → it stops with a checkpoint, Slurm starts it again,
#      it resumes from that checkpoint, and its final checkpoint equals an uninterrupted run's byte for byte.
# The daemons are stopped by pid on any exit. Usage: tests/slurm/slurm_test.sh path/to/dipole
# Exit 77 (skipped) when not root and Slurm is not installed.
set -euo pipefail
DIPOLE=$(realpath "${1:?usage: slurm_test.sh path/to/dipole}")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
log() { echo "[slurm-test $(date +%T)] $*"; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: slurm-wlm/munge are missing and this is not root"; exit 77; fi
  log "installing slurm-wlm and munge"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends \
    slurm-wlm munge >/dev/null || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends slurm-wlm munge >/dev/null; }
fi
if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: a one-node cluster needs root (slurmd)"; exit 77; fi

WORK=$(mktemp -d /tmp/dipole_slurm.XXXXXX)
chmod 700 "$WORK"
mkdir -p "$WORK"/{state,spool,log,munge}
chmod 700 "$WORK/munge"
cleanup() {
  local code=$?
  for f in "$WORK/slurmd.pid" "$WORK/slurmctld.pid" "$WORK/munge/munged.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
  for f in "$WORK/slurmd.pid" "$WORK/slurmctld.pid" "$WORK/munge/munged.pid"; do
    [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  if [ "$code" -ne 0 ]; then
    echo "---- slurmctld log"; tail -n 30 "$WORK/log/ctld.log" 2>/dev/null || true
    echo "---- slurmd log"; tail -n 30 "$WORK/log/d.log" 2>/dev/null || true
    for f in "$WORK"/sweep*/out/slurm/*.out "$WORK"/sweep*/out/*/*/seed*/sweep.log; do
      [ -f "$f" ] && { echo "---- $f"; tail -n 15 "$f"; }
    done
  fi
  # Job processes started by slurmd are children of slurmstepd, stopped with it; the directory goes last.
  rm -rf "$WORK"
  exit "$code"
}
trap cleanup EXIT

# munge with a private key and socket (no system files touched).
dd if=/dev/urandom bs=1 count=1024 of="$WORK/munge/munge.key" status=none
chmod 400 "$WORK/munge/munge.key"
munged --force --key-file="$WORK/munge/munge.key" --socket="$WORK/munge/munge.sock" \
  --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/munged.seed"
munge -n --socket="$WORK/munge/munge.sock" | unmunge --socket="$WORK/munge/munge.sock" | grep -q "STATUS:.*Success"

HOST=$(hostname -s)
MEM=$(( $(free -m | awk '/^Mem:/ {print $2}') / 2 ))
cat > "$WORK/slurm.conf" <<CONF
ClusterName=dipoletest
SlurmctldHost=$HOST
SlurmctldPort=26817
SlurmdPort=26818
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/ctld.log
SlurmdLogFile=$WORK/log/d.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
KillWait=20
MinJobAge=300
NodeName=$HOST CPUs=$(nproc --all) RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$WORK/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for i in $(seq 1 60); do
  state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
  [ "$state" = "idle" ] && break
  sleep 0.5
done
[ "$state" = "idle" ] || { log "the node did not come up (state '$state')"; exit 1; }
log "one-node cluster up: $(sinfo -h -o '%P %D %T %c')"

# ---- 1. a 2 × 2 sweep as one job array ------------------------------------------------------------------
small="\"trainer.batch_size=32\", \"trainer.log_interval=20\", \"trainer.checkpoint_interval=20\", \"dataset.size=2000\", \"denoiser.hidden_dims=[32, 32]\", \"eval.episodes=50\", \"eval.parallel=50\""
mkdir -p "$WORK/sweep1"
cat > "$WORK/sweep1/s.toml" <<TOML
name = "slurm_small"
out = "$WORK/sweep1/out"
seeds = [0, 1]
[methods.flow_bc]
pipeline = "$SRC/configs/bandit_flow_bc.toml"
set = ["trainer.steps=100", $small]
[methods.dipole]
pipeline = "$SRC/configs/bandit_dipole.toml"
set = ["trainer.steps=100", $small, "critic.hidden_dims=[32, 32]", "sampler.num_candidates=4", "sampler.inner.steps=4", "eval.omegas=[1.0]"]
[eval]
omegas = [0, 1]
episodes = 50
[executor.slurm]
cpus_per_task = 1
time = "00:10:00"
partition = "debug"
throttle = 2
sbatch = ["--comment=dipole-slurm-test"]
TOML
cd "$WORK/sweep1"
"$DIPOLE" sweep run s.toml --executor slurm | tee submit.txt
grep -q "submitted job array" submit.txt
grep -q '^#SBATCH --array=0-3%2$' out/slurm/job.sh
grep -q '^#SBATCH --comment=dipole-slurm-test$' out/slurm/job.sh
for i in $(seq 1 240); do
  "$DIPOLE" sweep status s.toml > status.txt || true
  grep -q "done 4," status.txt && break
  grep -q "failed [1-9]" status.txt && break
  sleep 0.5
done
cat status.txt
grep -q "done 4, running 0, pending 0, failed 0" status.txt
"$DIPOLE" sweep report s.toml > report.txt
cat out/report/report.md
grep -q "flow_bc" out/report/report.md
grep -q "dipole" out/report/report.md
grep -q "from 8 runs\|from 4 runs" out/report/report.md
log "sweep of 4 runs done through Slurm; report written"

# ---- 2. requeue a running array task -----------------------------------------------------------------
mkdir -p "$WORK/sweep2"
cat > "$WORK/sweep2/s.toml" <<TOML
name = "slurm_requeue"
out = "OUT"
seeds = [3]
[methods.flow_bc]
pipeline = "$SRC/configs/bandit_flow_bc.toml"
set = ["trainer.steps=4000", $small, "trainer.checkpoint_interval=50"]
TOML
cd "$WORK/sweep2"
sed "s|OUT|$WORK/sweep2/reference|" s.toml > reference.toml
sed -i "s|OUT|$WORK/sweep2/out|" s.toml
"$DIPOLE" sweep run reference.toml --executor local --jobs 1 > reference.txt
run=out/default/flow_bc/seed3
"$DIPOLE" sweep run s.toml --executor slurm | tee submit.txt
job=$(grep -o "submitted job array [0-9]*" submit.txt | awk '{print $4}')
requeued=0
for i in $(seq 1 600); do
  if [ -f "$run/checkpoints/latest.npz" ] && [ ! -f "$run/sweep.done" ] && grep -q "resuming\|train\]" "$run/sweep.log" 2>/dev/null; then
    scontrol requeue "${job}_0"
    requeued=1
    log "requeued ${job}_0 while training"
    break
  fi
  sleep 0.05
done
[ "$requeued" = 1 ] || { log "the task finished before it could be requeued"; exit 1; }
for i in $(seq 1 40); do  # a requeued job waits for its begin time: make it eligible now
  scontrol update JobId="${job}_0" StartTime=now >/dev/null 2>&1 || true
  "$DIPOLE" sweep status s.toml > status.txt || true
  grep -q "done 1," status.txt && break
  sleep 1
done
for i in $(seq 1 240); do
  "$DIPOLE" sweep status s.toml > status.txt || true
  grep -q "done 1," status.txt && break
  sleep 0.5
done
cat status.txt
grep -q "done 1, running 0, pending 0, failed 0" status.txt
grep -c "^====" "$run/sweep.log" | grep -qv '^1$'       # started at least twice
grep -q "stopped at step" "$run/sweep.log"                 # the SIGTERM checkpoint
grep -q "resuming" "$run/sweep.log"
cmp "$run/checkpoints/latest.npz" reference/default/flow_bc/seed3/checkpoints/latest.npz
log "requeued task resumed from step $(grep -o 'resuming .* at step [0-9]*' "$run/sweep.log" | head -n 1 | awk '{print $NF}'); final checkpoint equals the uninterrupted run's"
log "PASSED"
