// AdamW step lab: the fused adamw_step on every backend for 1M..16M parameters, in GB/s of the bytes one step must
// move (param, exp_avg, exp_avg_sq read and written, the gradient read), beside two references in the same run:
//   naive   one plain single-threaded C++ loop over the same formula (the CPU only);
//   unfused the update as separate elementwise ops, one pass per torch operation (as torch's foreach=False does),
//           on the same device.
// Each fused result is checked against the naive loop first. ratio = fused GB/s / reference GB/s.
//   bench_optim [--device cpu|vulkan:N] [--max-elements N]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "benchmarks/bench_util.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/optim.h"

namespace glint {
namespace {

const AdamWStep kHyper{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .step = 10};

struct Adam {
  std::vector<float> p, g, m, v;
};

// The textbook loop: what one would write without thinking about vectorisation or threads.
void naive_step(Adam& a) {
  const double bc1 = 1 - std::pow(kHyper.beta1, double(kHyper.step));
  const double bc2 = 1 - std::pow(kHyper.beta2, double(kHyper.step));
  for (size_t i = 0; i < a.p.size(); ++i) {
    const float g = a.g[i];
    a.p[i] *= float(1 - kHyper.lr * kHyper.weight_decay);
    a.m[i] += float(1 - kHyper.beta1) * (g - a.m[i]);
    a.v[i] = a.v[i] * float(kHyper.beta2) + float(1 - kHyper.beta2) * g * g;
    const float denom = std::sqrt(a.v[i]) / float(std::sqrt(bc2)) + float(kHyper.eps);
    a.p[i] += float(-kHyper.lr / bc1) * a.m[i] / denom;
  }
}

// One elementwise op per torch operation of the single-tensor AdamW, each a full pass with a temporary.
void unfused_step(Tensor p, const Tensor& g, Tensor m, Tensor v) {
  const double bc1 = 1 - std::pow(kHyper.beta1, double(kHyper.step));
  const double bc2 = 1 - std::pow(kHyper.beta2, double(kHyper.step));
  p.copy_from(mul(p, 1 - kHyper.lr * kHyper.weight_decay));
  m.copy_from(add(m, mul(sub(g, m), 1 - kHyper.beta1)));
  v.copy_from(add(mul(v, kHyper.beta2), mul(mul(g, 1 - kHyper.beta2), g)));
  const Tensor denom = add(div(sqrt(v), std::sqrt(bc2)), kHyper.eps);
  p.copy_from(add(p, div(mul(m, -kHyper.lr / bc1), denom)));
}

int64_t max_elements(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--max-elements") == 0) return std::atoll(argv[i + 1]);
  return int64_t(1) << 24;
}

double max_rel_diff(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / (1e-6 + std::fabs(want[i])));
  return worst;
}

int run(int argc, char** argv) {
  const std::vector<Device> devices = bench::bench_devices(argc, argv);
  std::printf("# %s\n", bench::machine_line().c_str());
  std::printf("%-10s %-5s %10s %9s %9s %11s %7s %13s %7s\n", "device", "grad", "params", "fused ms", "GB/s",
              "naive GB/s", "ratio", "unfused GB/s", "ratio");
  bool ok = true;
  for (int64_t n = int64_t(1) << 20; n <= max_elements(argc, argv); n *= 4) {
    Adam host{std::vector<float>(size_t(n)), std::vector<float>(size_t(n)), std::vector<float>(size_t(n), 0.01f),
              std::vector<float>(size_t(n), 1e-4f)};
    for (int64_t i = 0; i < n; ++i) {
      host.p[i] = float((i * 7919) % 2001) / 1000.f - 1.f;
      host.g[i] = float((i * 104729) % 1999) / 10000.f - 0.1f;
    }
    const Shape shape{n};
    const Tensor p0 = Tensor::from_vector(host.p, shape, DType::f32, Device::cpu());
    const Tensor g0 = Tensor::from_vector(host.g, shape, DType::f32, Device::cpu());
    const Tensor m0 = Tensor::from_vector(host.m, shape, DType::f32, Device::cpu());
    const Tensor v0 = Tensor::from_vector(host.v, shape, DType::f32, Device::cpu());
    Adam ref = host;
    naive_step(ref);
    Adam work = host;
    const double naive_t = bench::time_median([&] { naive_step(work); });
    for (Device dev : devices)
      for (DType gt : {DType::f32, DType::bf16}) {
        const Tensor p = p0.clone().to(dev), m = m0.clone().to(dev), v = v0.clone().to(dev);
        const Tensor g = g0.to(gt).to(dev);
        adamw_step(p, g, m, v, kHyper);
        const double diff = gt == DType::f32 ? max_rel_diff(p.to_f32(), ref.p) : 0;
        if (diff > 1e-5) {
          std::printf("%-10s %-5s %10lld MISMATCH vs naive loop: %g\n", dev.str().c_str(),
                      std::string(dtype_name(gt)).c_str(), (long long)n, diff);
          ok = false;
          continue;
        }
        const double bytes = double(n) * (6 * sizeof(float) + dtype_size(gt));
        const double fused_t = bench::time_median([&] {
          adamw_step(p, g, m, v, kHyper);
          bench::sync(dev);
        });
        const double unfused_t = bench::time_median([&] {
          unfused_step(p, g.to(DType::f32), m, v);
          bench::sync(dev);
        });
        const double fused = bytes / fused_t / 1e9, naive = bytes / naive_t / 1e9, unfused = bytes / unfused_t / 1e9;
        const bool cpu = dev.kind == DeviceKind::cpu;
        std::printf("%-10s %-5s %10lld %9.3f %9.2f %11.2f %7.2f %13.2f %7.2f\n", dev.str().c_str(),
                    std::string(dtype_name(gt)).c_str(), (long long)n, fused_t * 1e3, fused, naive,
                    cpu ? fused / naive : NAN, unfused, fused / unfused);
      }
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace glint

int main(int argc, char** argv) { return glint::run(argc, argv); }
