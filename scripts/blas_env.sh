# Sourced by the job scripts: OpenBLAS settings measured in docs/performance.md.
# - One BLAS thread: the reduced-scale 2×256 networks train 2.5× faster on one OpenBLAS thread than on
#   two (122 vs 49 updates/s, `dipole bench train-step --hidden 256,256`), and a second BLAS thread
#   competes with the environment and evaluation work for 2 cores.
# - AVX-512 kernels: Debian's OpenBLAS 0.3.21 falls back to its AVX2 ("Haswell") kernels on AVX-512
#   CPUs it does not know (e.g. AMD Zen 4); its SKYLAKEX kernels make the products 1.8× faster there.
#   Selected only when the CPU has every AVX-512 subset those kernels use.
# Either can be overridden by setting the variable before calling the script.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  avx512=1
  for f in avx512f avx512cd avx512bw avx512dq avx512vl; do
    case " $flags " in *" $f "*) ;; *) avx512=0 ;; esac
  done
  [ "$avx512" = 1 ] && export OPENBLAS_CORETYPE=SKYLAKEX
  unset flags avx512 f
fi
