# Sourced by the job scripts after the build: OpenBLAS settings measured in docs/performance.md.
# - One BLAS thread: the reduced-scale 2×256 networks train 2.5× faster on one OpenBLAS thread than on
#   two (122 vs 49 updates/s, `dipole bench train-step --hidden 256,256`), and a second BLAS thread
#   competes with the environment and evaluation work for 2 cores.
# - AVX-512 kernels: Debian's OpenBLAS 0.3.21 falls back to its AVX2 ("Haswell") kernels on AVX-512
#   CPUs it does not know (e.g. AMD Zen 4); its SKYLAKEX kernels make the products 1.8× faster there.
#   Some OpenBLAS builds compute wrong results with non-default kernels on some CPUs, so they are
#   selected only when the CPU has every AVX-512 subset those kernels use AND a numerical self-check
#   passes on this machine (`dipole bench blas-check` with those kernels: float32/float64 products
#   against a long-double reference, docs/reliability.md). Any mismatch, or no built `dipole` to run
#   the check with, keeps the default kernels.
# Either can be overridden by setting the variable before calling the script. For tests,
# DIPOLE_BLAS_CHECK replaces the check command and DIPOLE_CPU_FLAGS the flags of /proc/cpuinfo.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  blas_flags=${DIPOLE_CPU_FLAGS:-$( [ -r /proc/cpuinfo ] && grep -m1 '^flags' /proc/cpuinfo || true)}
  blas_avx512=1
  for blas_f in avx512f avx512cd avx512bw avx512dq avx512vl; do
    case " $blas_flags " in *" $blas_f "*) ;; *) blas_avx512=0 ;; esac
  done
  if [ "$blas_avx512" = 1 ]; then
    blas_check=${DIPOLE_BLAS_CHECK:-"${BUILD_DIR:-build}/bin/dipole bench blas-check"}
    if [ -x "${blas_check%% *}" ] && blas_out=$(OPENBLAS_CORETYPE=SKYLAKEX $blas_check 2>&1); then
      export OPENBLAS_CORETYPE=SKYLAKEX
      echo "[blas_env] AVX-512 kernels selected (OPENBLAS_CORETYPE=SKYLAKEX): the self-check passed" >&2
    else
      echo "[blas_env] default OpenBLAS kernels: the AVX-512 self-check failed or could not run" >&2
      [ -n "${blas_out:-}" ] && printf '%s\n' "$blas_out" | tail -n 3 >&2
    fi
  fi
  unset blas_flags blas_avx512 blas_f blas_check blas_out
fi
