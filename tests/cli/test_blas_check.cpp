// The BLAS self-check (`dipole bench blas-check`) and scripts/blas_env.sh's use of it: non-default
// OpenBLAS kernels only after the check passed. The check runs here with this machine's own settings
// only: scripts/blas_env.sh is exercised with stand-in check commands (true / false), so no product is
// ever computed with other kernels than the pinned ones.
#include <gtest/gtest.h>

#include <string>

#include "support/run_command.hpp"

namespace {

using dipole::test::dipole_cli;
using dipole::test::run_command;

TEST(BlasCheck, PassesWithThisMachinesKernelsAndCatchesAWrongProduct) {
  auto r = dipole_cli("bench blas-check");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("0 mismatches"), std::string::npos) << r.output;
  // A product off by 1e-3 in one entry, as a wrong kernel would give, fails the check.
  r = dipole_cli("bench blas-check --perturb 1e-3");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("MISMATCH: float32 mm"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("MISMATCH: float64 baddbmm"), std::string::npos) << r.output;
}

std::string coretype_after_blas_env(const std::string& check, const std::string& flags) {
  const std::string script = std::string(DIPOLE_SOURCE_DIR) + "/scripts/blas_env.sh";
  return run_command("env -u OPENBLAS_CORETYPE DIPOLE_BLAS_CHECK='" + check + "' DIPOLE_CPU_FLAGS='" + flags +
                     "' bash -c '. " + script + "; echo core=${OPENBLAS_CORETYPE:-default}'")
      .output;
}

TEST(BlasCheck, BlasEnvSelectsAvx512KernelsOnlyAfterThePassingCheck) {
  const std::string avx512 = "flags : fpu sse avx2 avx512f avx512cd avx512bw avx512dq avx512vl";
  EXPECT_NE(coretype_after_blas_env("/bin/true", avx512).find("core=SKYLAKEX"), std::string::npos);
  const std::string failed = coretype_after_blas_env("/bin/false", avx512);
  EXPECT_NE(failed.find("core=default"), std::string::npos) << failed;
  EXPECT_NE(failed.find("self-check failed"), std::string::npos) << failed;
  EXPECT_NE(coretype_after_blas_env("/nonexistent/dipole bench blas-check", avx512).find("core=default"),
            std::string::npos);
  EXPECT_NE(coretype_after_blas_env("/bin/true", "flags : fpu sse avx2 avx512f").find("core=default"),
            std::string::npos);
}

}  // namespace
