#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets of fuzz/ with clang-14, AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each for SECONDS (default 60), one after the other:
#   npy    one .npy file through the header parser           (core/src/npy.cpp)
#   npz    an .npz archive through libzip and the npy reader  (core/src/npz.cpp)
#   toml   a pipeline + an `extends` base + --set overrides   (core/src/config.cpp)
#   exorl  an ExORL episode file name + file                  (plugins/benchmarks/exorl/exorl_format.cpp)
#   ogbench  an OGBench dataset name line + .npz file          (plugins/benchmarks/ogbench/ogbench_format.cpp)
# Seed corpora: configs/*.toml (with their extends bases) and binary files written by fuzz/make_seeds
# from Dipole's own writers. Findings (crashes, hangs over 10 s, allocations over 2 GB, RSS over
# 3 GB) are written to $FUZZ_DIR/artifacts/ and make the script exit 1; each reproducer found so far is
# kept in fuzz/regressions/<target>/ and replayed by the fuzz_regressions test suite.
# A summary line per target (executions, coverage, peak RSS, findings) goes to $FUZZ_DIR/summary.txt.
# Env: FUZZ_DIR (build-fuzz), TARGETS ("npy npz toml exorl ogbench"; TARGETS=ogbench runs one target),
# NICE (0: run it as `nice -n 10 scripts/fuzz.sh 600`).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
TARGETS=${TARGETS:-npy npz toml exorl ogbench}
NICE=${NICE:-0}

# Setup of this script only (not needed by the main build): clang-14 and its libFuzzer runtime.
if ! command -v clang++-14 >/dev/null || ! dpkg -s libfuzzer-14-dev >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends clang-14 libfuzzer-14-dev
fi
CXX="clang++-14"
command -v ccache >/dev/null && CXX="ccache clang++-14"
mkdir -p "$FUZZ_DIR/obj" "$FUZZ_DIR/artifacts" "$FUZZ_DIR/corpus"
FLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -D_GLIBCXX_USE_CXX11_ABI=1 -DFMT_SHARED -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1
  -Iinterfaces -Icore/include -Iplugins/benchmarks/exorl -Iplugins/benchmarks/ogbench -Ifuzz
  -isystem /usr/include/torch/csrc/api/include -w)
LIBS=(-lzip -ltomlplusplus -lfmt -lc10 -ltorch_cpu -lpthread)

# compile SOURCE [extra flags]: an object in $FUZZ_DIR/obj, rebuilt when the source is newer.
compile() {
  local src=$1 obj="$FUZZ_DIR/obj/$(echo "$1" | tr / _).o"
  shift
  if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find core/include interfaces fuzz plugins/benchmarks/exorl plugins/benchmarks/ogbench -newer "$obj" -name '*.hpp' | head -1)" ]; then
    echo "[fuzz] compiling $src" >&2
    nice -n "$NICE" $CXX "${FLAGS[@]}" "$@" -c "$src" -o "$obj"
  fi
  echo "$obj"
}
LIB_OBJECTS=()
for src in core/src/npy.cpp core/src/npz.cpp core/src/config.cpp core/src/params.cpp core/src/errors.cpp \
  plugins/benchmarks/exorl/exorl_format.cpp plugins/benchmarks/ogbench/ogbench_format.cpp plugins/benchmarks/ogbench/ogbench_tasks.cpp; do
  LIB_OBJECTS+=("$(compile "$src" -fsanitize=fuzzer-no-link)")
done
for target in $TARGETS; do
  obj=$(compile "fuzz/fuzz_$target.cpp" -fsanitize=fuzzer-no-link)
  nice -n "$NICE" $CXX "${FLAGS[@]}" -fsanitize=fuzzer "$obj" "${LIB_OBJECTS[@]}" "${LIBS[@]}" -o "$FUZZ_DIR/fuzz_$target"
done
seeds_obj=$(compile fuzz/make_seeds.cpp -fsanitize=fuzzer-no-link)
nice -n "$NICE" $CXX "${FLAGS[@]}" "$seeds_obj" "${LIB_OBJECTS[@]}" "${LIBS[@]}" -o "$FUZZ_DIR/make_seeds"

# Seed corpora (regenerated each run; what the fuzzer adds stays in $FUZZ_DIR/corpus/<target>).
seeds="$FUZZ_DIR/seeds"
rm -rf "$seeds"
"$FUZZ_DIR/make_seeds" "$seeds"
mkdir -p "$seeds/toml"
for f in configs/*.toml configs/*/*/*.toml; do
  [ -e "$f" ] || continue
  name=$(echo "$f" | tr / _)
  base=$(sed -n 's/^extends *= *"\(.*\)".*/\1/p' "$f" | head -1)
  if [ -n "$base" ] && [ -e "$(dirname "$f")/$base" ]; then
    { sed 's/^extends *=.*/extends = "base.toml"/' "$f"; printf '\n#---\n'; cat "$(dirname "$f")/$base"
      printf '\n#---\ntrainer.steps=5\n'; } > "$seeds/toml/$name"
  else
    cp "$f" "$seeds/toml/$name"
  fi
done

status=0
: > "$FUZZ_DIR/summary.txt"
for target in $TARGETS; do
  corpus="$FUZZ_DIR/corpus/$target"
  mkdir -p "$corpus"
  log="$FUZZ_DIR/fuzz_$target.log"
  # Findings: crash-, leak-, oom- and timeout- artifacts (slow-unit- ones, units over 10 s that still
  # finished, are reported but not failures: on a loaded machine any unit can be slow once).
  # grep -c exits 1 when it counts 0: `|| true` keeps `set -o pipefail` from ending the script.
  findings() { ls "$FUZZ_DIR/artifacts" | grep -cE "^$target-(crash|leak|oom|timeout)-" || true; }
  before=$(findings)
  echo "[fuzz] $target for $SECONDS_PER_TARGET s" >&2
  set +e
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
    nice -n "$NICE" "$FUZZ_DIR/fuzz_$target" "$corpus" "$seeds/$target" "fuzz/regressions/$target" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=3072 -malloc_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$FUZZ_DIR/artifacts/$target-" > "$log" 2>&1
  rc=$?
  set -e
  after=$(findings)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$({ grep -o 'cov: [0-9]*' "$log" || true; } | tail -1 | cut -d' ' -f2)
  ft=$({ grep -o 'ft: [0-9]*' "$log" || true; } | tail -1 | cut -d' ' -f2)
  crashes=$(ls "$FUZZ_DIR/artifacts" | grep -cE "^$target-(crash|leak|oom)-" || true)
  hangs=$(ls "$FUZZ_DIR/artifacts" | grep -c "^$target-timeout-" || true)
  slow=$(ls "$FUZZ_DIR/artifacts" | grep -c "^$target-slow-unit-" || true)
  line="$target: ${SECONDS_PER_TARGET}s, ${execs:-?} executions, coverage ${cov:-?} edges / ${ft:-?} features, peak RSS ${rss:-?} MB, corpus $(ls "$corpus" | wc -l) files, new findings $((after - before)) (artifacts/: crashes ${crashes}, hangs ${hangs}, slow units ${slow}), exit $rc"
  echo "$line" | tee -a "$FUZZ_DIR/summary.txt"
  if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
    status=1
    grep -m5 -E "ERROR|SUMMARY|runtime error|deadly signal|Test unit written" "$log" >&2 || true
  fi
done
exit $status
