// Elementwise bandwidth lab: add and mul (two f32 streams in, one out) and silu (one in, one out) on every backend
// for 1M..64M elements, in GB/s beside std::memcpy on this host in the same run. Each op is first checked against
// the CPU backend; the ratio column is op GB/s / memcpy GB/s (1.0 = as fast as copying the same bytes on the host;
// a GPU's own memory can exceed it). Times include allocating the output, as every call does.
//   bench_elementwise [--device cpu|vulkan:N] [--max-elements N]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "benchmarks/bench_util.h"
#include "runtime/ops/elementwise.h"

namespace glint {
namespace {

struct Op {
  const char* name;
  int streams;  // f32 arrays read or written per element
  std::function<Tensor(const Tensor&, const Tensor&)> run;
};

double memcpy_gbps(int64_t n) {
  std::vector<float> src(static_cast<size_t>(n), 1.f), dst(static_cast<size_t>(n));
  const double t = bench::time_median([&] { std::memcpy(dst.data(), src.data(), size_t(n) * sizeof(float)); });
  return 2.0 * double(n) * sizeof(float) / t / 1e9;
}

// Largest |got - want| / (1 + |want|); the kernels agree to a few f32 ulp.
double max_rel_diff(const Tensor& got, const Tensor& want) {
  const std::vector<float> g = got.to_f32(), w = want.to_f32();
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::fabs(double(g[i]) - w[i]) / (1 + std::fabs(w[i])));
  return worst;
}

int64_t max_elements(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--max-elements") == 0) return std::atoll(argv[i + 1]);
  return int64_t(1) << 26;
}

int run(int argc, char** argv) {
  const std::vector<Op> ops = {
      {"add", 3, [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"mul", 3, [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"silu", 2, [](const Tensor& a, const Tensor&) { return silu(a); }},
  };
  const std::vector<Device> devices = bench::bench_devices(argc, argv);
  std::printf("# %s\n", bench::machine_line().c_str());
  std::printf("%-10s %-5s %10s %10s %10s %14s %8s\n", "device", "op", "elements", "ms", "GB/s", "memcpy GB/s", "ratio");
  bool ok = true;
  for (int64_t n = int64_t(1) << 20; n <= max_elements(argc, argv); n *= 4) {
    const double copy = memcpy_gbps(n);
    std::vector<float> values(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) values[i] = float((i * 7919) % 2001) / 250.f - 4.f;  // spread over [-4, 4]
    const Tensor a_cpu = Tensor::from_vector(values, {n}, DType::f32, Device::cpu()), b_cpu = a_cpu * 1.5 - 2.0;
    for (Device dev : devices) {
      const Tensor a = a_cpu.to(dev), b = b_cpu.to(dev);
      for (const Op& op : ops) {
        const double diff = max_rel_diff(op.run(a, b), op.run(a_cpu, b_cpu));
        if (diff > 1e-6) {
          std::printf("%-10s %-5s %10lld MISMATCH vs cpu: %g\n", dev.str().c_str(), op.name, (long long)n, diff);
          ok = false;
          continue;
        }
        const double t = bench::time_median([&] {
          Tensor out = op.run(a, b);
          bench::sync(dev);
        });
        const double gbps = op.streams * double(n) * sizeof(float) / t / 1e9;
        std::printf("%-10s %-5s %10lld %10.3f %10.2f %14.2f %8.2f\n", dev.str().c_str(), op.name, (long long)n, t * 1e3,
                    gbps, copy, gbps / copy);
      }
    }
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace glint

int main(int argc, char** argv) { return glint::run(argc, argv); }
