#!/usr/bin/env bash
# The sanitizer job of .ci/run (docs/reliability.md, "Sanitizers"): AddressSanitizer +
# UndefinedBehaviorSanitizer build (-DDIPOLE_SANITIZE=ON, its own build directory, ccache) of
# libdipole_core, the plugins the chosen suites load, and these suites, then CTest on them.
# Only what the suites need is built: -DDIPOLE_TEST_SUITES selects the suites and
# -DDIPOLE_TESTS_NEED_CLI=OFF drops their dependency on the CLI and every plugin (tests that run the
# CLI skip themselves). Clean with ASan's defaults: no suppression. Minutes: docs/reliability.md.
# Env: SAN_DIR (build-asan), SUITES (below), JOBS (nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
SAN_DIR=${SAN_DIR:-build-asan}
SUITES=${SUITES:-config npz registry trainer exorl ogbench fuzz_regressions}
JOBS=${JOBS:-$(nproc)}
# Plugins loaded by those suites (pipelines of tests/trainer, tests/exorl, tests/ogbench, tests/registry);
# tests/trainer/test_seeds.cpp trains every algorithm's bandit pipeline with seeds on two threads.
PLUGINS=${PLUGINS:-dipole_bandit dipole_flow_bc dipole_flow_mlp dipole_samplers dipole_weightings dipole_npz_transitions
  dipole_dipole dipole_cfgrl dipole_fql dipole_iql dipole_ifql dipole_idql dipole_rebrac dipole_iql_critic
  dipole_td_critic dipole_finetune_bandit}
start=$(date +%s)
# Precompiled headers are cacheable only with this sloppiness (the ASan objects differ from the normal ones).
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
mkdir -p "$SAN_DIR"
cmake -S . -B "$SAN_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DDIPOLE_SANITIZE=ON -DDIPOLE_TEST_SUITES="${SUITES// /;}" -DDIPOLE_TESTS_NEED_CLI=OFF > "$SAN_DIR/configure.log" 2>&1 ||
  { cat "$SAN_DIR/configure.log"; exit 1; }
targets="$PLUGINS"
for s in $SUITES; do targets="$targets dipole_test_$s"; done
cmake --build "$SAN_DIR" -j"$JOBS" --target $targets
built=$(date +%s)
# No suppression: with ASan's defaults (leak detection, alloc/dealloc mismatch and ODR checks on)
# the suites run clean (docs/reliability.md, "Sanitizers"). abort_on_error / halt_on_error make any
# report fail its test; LibTorch and OpenBLAS run single-threaded as in scripts/test.sh.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ctest --test-dir "$SAN_DIR" --output-on-failure -j "$JOBS" || status=$?
end=$(date +%s)
echo "[sanitize] suites: $SUITES; build $(( (built - start) / 60 )) min $(( (built - start) % 60 )) s, tests $(( (end - built) / 60 )) min $(( (end - built) % 60 )) s"
exit $status
