// Reductions / softmax / norms lab: effective GB/s (bytes each op must read and write once) of each kernel on each
// device, beside a strided-free copy of the same input on that device in the same run — the bandwidth a
// memory-bound kernel can hope for. Each result is first checked against the CPU backend.
//
//   bench_reduce [--device D]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "benchmarks/bench_util.h"
#include "runtime/ops/norm.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/softmax.h"

namespace glint::bench {
namespace {

struct Case {
  std::string name;
  Shape shape;
  DType dtype;
  std::function<Tensor(const Tensor&)> op;
  double out_elems_per_in;  // output size relative to the input (0: a reduction's output is negligible)
};

Tensor host_input(const Shape& shape, DType dtype) {
  std::vector<float> v(size_t(numel_of(shape)));
  uint64_t s = 12345;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = float(s >> 40) / float(1 << 24) * 2.f - 1.f;
  }
  return Tensor::from_vector(v, shape, DType::f32, Device::cpu()).to(dtype);
}

// max |got - want| / max(1, max |want|).
double max_err(const Tensor& got, const Tensor& want) {
  std::vector<float> g = got.to_f32(), w = want.to_f32();
  double err = 0, scale = 1;
  for (size_t i = 0; i < w.size(); ++i) {
    err = std::max(err, double(std::fabs(g[i] - w[i])));
    scale = std::max(scale, double(std::fabs(w[i])));
  }
  return err / scale;
}

void run(Device dev, const Case& c) {
  const Tensor host = host_input(c.shape, c.dtype), x = host.to(dev);
  const double err = max_err(c.op(x), c.op(host));
  const double in_bytes = double(host.nbytes()), bytes = in_bytes * (1 + c.out_elems_per_in);
  const double t = time_median([&] { c.op(x), sync(dev); }, 7, 2);
  const double t_copy = time_median([&] { x.clone(), sync(dev); }, 7, 2);
  const double gbs = bytes / t * 1e-9, copy_gbs = 2 * in_bytes / t_copy * 1e-9;
  std::printf("%-10s %-34s %9.2f %9.1f %9.1f %7.2f %10.1e\n", dev.str().c_str(), c.name.c_str(), t * 1e3, gbs, copy_gbs,
              gbs / copy_gbs, err);
  std::fflush(stdout);
}

}  // namespace
}  // namespace glint::bench

int main(int argc, char** argv) {
  using namespace glint;
  using namespace glint::bench;
  const Shape m = {2048, 2048};
  const Tensor w_f32 = host_input({2048}, DType::f32), w_bf16 = w_f32.to(DType::bf16);
  const Tensor gw = host_input({128}, DType::f32);
  std::vector<Case> cases = {
      {"sum(-1) f32 2048x2048", m, DType::f32, [](const Tensor& x) { return sum(x, -1); }, 0},
      {"sum(0) f32 2048x2048", m, DType::f32, [](const Tensor& x) { return sum(x, 0); }, 0},
      {"sum(-1) f32 4x1M (split rows)", {4, 1 << 20}, DType::f32, [](const Tensor& x) { return sum(x, -1); }, 0},
      {"sum_all f32 4M", {1 << 22}, DType::f32, [](const Tensor& x) { return sum_all(x); }, 0},
      {"argmax(-1) bf16 2048x2048", m, DType::bf16, [](const Tensor& x) { return argmax(x, -1); }, 0},
      {"var(-1) f32 2048x2048", m, DType::f32, [](const Tensor& x) { return var(x, -1); }, 0},
      {"softmax(-1) f32 2048x2048", m, DType::f32, [](const Tensor& x) { return softmax(x, -1); }, 1},
      {"softmax(-1) bf16 2048x2048", m, DType::bf16, [](const Tensor& x) { return softmax(x, -1); }, 1},
      {"softmax(0) f32 2048x2048", m, DType::f32, [](const Tensor& x) { return softmax(x, 0); }, 1},
      {"rms_norm bf16 2048x2048", m, DType::bf16,
       [&](const Tensor& x) { return rms_norm(x, w_bf16.to(x.device()), 1e-6f); }, 1},
      {"layer_norm f32 2048x2048", m, DType::f32,
       [&](const Tensor& x) { return layer_norm(x, w_f32.to(x.device()), w_f32.to(x.device()), 1e-5f); }, 1},
      {"group_norm+silu f32 2x128x64x64 g32",
       {2, 128, 64, 64},
       DType::f32,
       [&](const Tensor& x) { return group_norm(x, 32, gw.to(x.device()), gw.to(x.device()), 1e-5f, true); },
       1},
  };
  std::printf("%s\n%-10s %-34s %9s %9s %9s %7s %10s\n", machine_line().c_str(), "device", "case", "ms", "GB/s",
              "copy GB/s", "ratio", "max err");
  for (Device dev : bench_devices(argc, argv))
    for (const Case& c : cases) run(dev, c);
}
