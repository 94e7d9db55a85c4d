#include <gtest/gtest.h>
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <chrono>
#include <cstdio>
TEST(Bench, Ops) {
  at::set_num_threads(1);
  for (int64_t w : {64, 128, 256}) {
    for (int64_t B : {256, 1024}) {
      auto x = at::randn({2, B, w}); auto W = at::randn({2, w, w}); auto b = at::randn({2, 1, w});
      auto x2 = at::randn({B, w}); auto W2 = at::randn({w, w});
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < 200; ++i) auto y = at::baddbmm(b, x, W);
      double bmm = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 200;
      t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < 400; ++i) auto y = at::mm(x2, W2);
      double mm = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 400;
      t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < 200; ++i) auto y = at::gelu(x, "tanh");
      double ge = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 200;
      double flops = 2.0 * 2 * B * w * w;
      printf("w %ld B %ld: baddbmm %.3f ms (%.1f GFLOP/s), mm(x2 calls) %.3f ms (%.1f GFLOP/s), gelu %.3f ms\n", w, B, bmm*1e3, flops/bmm/1e9, 2*mm*1e3, flops/(2*mm)/1e9, ge*1e3);
    }
  }
}
