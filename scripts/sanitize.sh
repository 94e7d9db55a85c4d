#!/usr/bin/env bash
# The sanitizer job of .ci/run (docs/reliability.md, "Sanitizers"): AddressSanitizer +
# UndefinedBehaviorSanitizer build (-DDIPOLE_SANITIZE=ON, its own build directory, ccache) of
# libdipole_core, the plugins the chosen suites load, and these suites, then CTest on them.
# Only what the suites need is built: -DDIPOLE_TEST_SUITES selects the suites and
# -DDIPOLE_TESTS_NEED_CLI=OFF drops their dependency on the CLI and every plugin.
# Env: SAN_DIR (build-asan), SUITES (below), JOBS (nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
SAN_DIR=${SAN_DIR:-build-asan}
SUITES=${SUITES:-config npz registry trainer exorl ogbench fuzz_regressions}
JOBS=${JOBS:-$(nproc)}
# Plugins loaded by those suites (pipelines of tests/trainer, tests/exorl, tests/ogbench, tests/registry).
PLUGINS=${PLUGINS:-dipole_bandit dipole_flow_bc dipole_flow_mlp dipole_samplers dipole_weightings dipole_npz_transitions}
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
# Suppressions, third-party code only (docs/reliability.md):
# - detect_leaks=0: LibTorch and OpenBLAS keep thread pools and allocator caches alive until exit,
#   which LeakSanitizer reports as leaks of memory still owned by their global state.
# - alloc_dealloc_mismatch=0: LibTorch's CPU allocator frees with free() what c10 allocated with
#   posix_memalign through a different wrapper, reported as a false mismatch.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:alloc_dealloc_mismatch=0:abort_on_error=1:detect_odr_violation=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/scripts/ubsan.supp}
status=0
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ctest --test-dir "$SAN_DIR" --output-on-failure -j "$JOBS" || status=$?
end=$(date +%s)
echo "[sanitize] suites: $SUITES; build $(( (built - start) / 60 )) min $(( (built - start) % 60 )) s, tests $(( (end - built) / 60 )) min $(( (end - built) % 60 )) s"
exit $status
