// `glint demo`: the built-in default job until a model ships with the repo: a matmul on the chosen device,
// checked against the CPU backend, with its GFLOP/s.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "runtime/core/error.h"
#include "runtime/core/tensor.h"
#include "runtime/ops/matmul.h"
#include "runtime/vulkan/device.h"
#include "tools/cli/commands.h"

namespace glint::cli {
namespace {

struct DemoOptions {
  int64_t size = 512;
  std::string dtype = "f32";
  int reps = 5;
};

Tensor ramp(int64_t rows, int64_t cols, float scale) {
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < v.size(); ++i) v[i] = scale * float(int64_t(i * 7919 % 1013) - 506) / 506.f;
  return Tensor::from_vector(v, {rows, cols}, DType::f32, Device::cpu());
}

void run_demo(const DemoOptions& o) {
  Device dev = default_device();
  DType dt = parse_dtype(o.dtype);
  int64_t n = o.size;
  Tensor a = ramp(n, n, 1.f).to(dt), b = ramp(n, n, 0.5f).to(dt);
  Tensor want = matmul(a.to(DType::f32), b.to(DType::f32));
  Tensor da = a.to(dev), db = b.to(dev);
  auto sync = [&] {
    if (!dev.is_cpu()) vk::device(dev.index).synchronize();
  };
  Tensor got = matmul(da, db);  // warm-up: pipeline build, first-use costs
  sync();
  std::vector<double> secs;
  for (int r = 0; r < o.reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    got = matmul(da, db);
    sync();
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(secs.begin(), secs.end());
  std::vector<float> g = got.to_f32(), w = want.to_f32();
  double max_err = 0, max_ref = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    max_err = std::max(max_err, double(std::fabs(g[i] - w[i])));
    max_ref = std::max(max_ref, double(std::fabs(w[i])));
  }
  double t = secs[secs.size() / 2];
  std::string where = dev.is_cpu() ? "cpu" : dev.str() + " (" + vk::device(dev.index).info().name + ")";
  std::printf("matmul %s [%ld x %ld] @ [%ld x %ld] on %s\n", o.dtype.c_str(), n, n, n, n, where.c_str());
  std::printf("C[0, 0:4] = %.5f %.5f %.5f %.5f\n", g[0], g[1], g[2], g[3]);
  std::printf("max |C - C_cpu_f32| = %.3g (max |C| = %.3g)\n", max_err, max_ref);
  std::printf("median of %d: %.3f ms, %.1f GFLOP/s\n", o.reps, t * 1e3, 2.0 * n * n * n / t / 1e9);
  // Inputs are exact in their dtype and accumulate in f32, so the error is the output rounding plus f32 sums.
  double bound = dt == DType::f32 ? 1e-5 : dt == DType::f16 ? 1e-3 : 8e-3;
  if (!(max_err <= bound * max_ref))
    fail("demo", "result differs from the CPU by ", max_err, ", more than ", bound, " x max |C|");
}

}  // namespace

namespace {
void add_demo_command(CLI::App& app) {
  static DemoOptions o;
  auto* cmd = app.add_subcommand("demo", "Run a matmul on the chosen device, check it against the CPU, print GFLOP/s");
  cmd->add_option("--size", o.size, "matrix size N (N x N @ N x N)")->capture_default_str()->check(CLI::Range(1, 8192));
  cmd->add_option("--dtype", o.dtype, "f32, f16 or bf16")->capture_default_str();
  cmd->add_option("--reps", o.reps, "timed repetitions")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->callback([] { run_demo(o); });
}

const CommandRegistration reg(add_demo_command);
}  // namespace

}  // namespace glint::cli
