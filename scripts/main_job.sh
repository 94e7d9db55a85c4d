#!/usr/bin/env bash
# The main job on the built-in default (no downloads): train DIPOLE on the built-in contextual bandit,
# then evaluate the one checkpoint at several guidance weights ω, with and without rejection sampling.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TARGET=dipole scripts/setup.sh   # the CLI and every plugin; the tests are not needed here
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-runs/main_bandit_dipole}
"$BUILD_DIR/bin/dipole" train configs/bandit_dipole.toml --out "$OUT"
"$BUILD_DIR/bin/dipole" eval "$OUT" --omega 0,0.5,1,2 --num-candidates 1,32
