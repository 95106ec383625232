// NF4 lab: weight bytes per parameter, and the decode-step matrix-vector product y = x @ W^T with a 4-bit W
// (glint::linear_4bit) beside the same product with an f16 W (glint::linear), on each device, timed in alternation
// within one run. Each variant is first checked against dequantise-then-multiply on that device. GB/s counts the
// weight bytes read once (packed data plus absmax for NF4, 2 bytes per weight for f16); the ratio is NF4's time
// over f16's, so below 1 means the 4-bit product is faster. A few-row GEMM (M = 32) is timed the same way.
//
//   bench_nf4 [--device cpu|vulkan|vulkan:N] [--quick: 2048 x 2048 only]
// On a GPU: `./build/benchmarks/bench_nf4 --device vulkan` prints, per shape, NF4 and f16 GB/s on that device.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "benchmarks/bench_util.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/quant.h"
#include "runtime/vulkan/device.h"

namespace glint::bench {
namespace {

Tensor random_tensor(const Shape& shape, uint64_t seed, DType dtype, Device device) {
  std::vector<float> v(size_t(numel_of(shape)));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& x : v) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x = float(double(s >> 11) / double(1ull << 53) * 2.0 - 1.0) * 0.05f;
  }
  return Tensor::from_vector(v, shape, DType::f32, Device::cpu()).to(dtype).to(device);
}

// The device's name (the Vulkan physical device, so a table can tell a GPU from lavapipe).
std::string device_name(Device dev) { return dev.is_cpu() ? "CPU" : vk::device(dev.index).info().name; }

void run(Device dev, int64_t n, int64_t k) {
  const Tensor w32 = random_tensor({n, k}, 1, DType::f32, Device::cpu());
  const QuantizedTensor q = quantize_4bit(w32, Quant4Type::nf4, 64, true).to(dev);
  const Tensor w16 = dequantize_4bit(q, DType::f16);  // the same weights in f16: the two products agree
  for (int64_t m : {int64_t(1), int64_t(32)}) {
    const Tensor x = random_tensor({m, k}, 2, DType::f16, dev);
    const Tensor want = linear(x, w16);
    const double err = max_rel_err(linear_4bit(x, q).to_f32(), want.to_f32());
    const bool ok = err < 1e-2;  // f16 outputs of two f32 accumulations in different orders
    Tensor y;
    const double t4 = time_median(
        [&] {
          y = linear_4bit(x, q);
          sync(dev);
        },
        9, 2);
    const double t16 = time_median(
        [&] {
          y = linear(x, w16);
          sync(dev);
        },
        9, 2);
    const double nf4_bytes = double(q.nbytes()), f16_bytes = double(n * k * 2);
    if (m == 1)
      std::printf(
          "%-10s matvec %5lldx%-5lld  nf4 %8.3f ms %7.1f GB/s | f16 %8.3f ms %7.1f GB/s | time ratio %.2f | err %.1e "
          "%s\n",
          dev.str().c_str(), (long long)n, (long long)k, t4 * 1e3, nf4_bytes / t4 * 1e-9, t16 * 1e3,
          f16_bytes / t16 * 1e-9, t4 / t16, err, ok ? "ok" : "MISMATCH");
    else
      std::printf(
          "%-10s gemm M=%-3lld %5lldx%-5lld nf4 %8.3f ms %7.1f GFLOP/s | f16 %8.3f ms %7.1f GFLOP/s | time ratio %.2f "
          "| err %.1e %s\n",
          dev.str().c_str(), (long long)m, (long long)n, (long long)k, t4 * 1e3, 2.0 * m * n * k / t4 * 1e-9, t16 * 1e3,
          2.0 * m * n * k / t16 * 1e-9, t4 / t16, err, ok ? "ok" : "MISMATCH");
  }
}

}  // namespace
}  // namespace glint::bench

int main(int argc, char** argv) {
  using namespace glint;
  std::printf("%s\n", bench::machine_line().c_str());
  for (bool dq : {false, true}) {
    const QuantizedTensor q =
        quantize_4bit(bench::random_tensor({4096, 4096}, 3, DType::f32, Device::cpu()), Quant4Type::nf4, 64, dq);
    std::printf("NF4 blocksize 64%s: %.4f bytes per parameter\n", dq ? ", double quantisation" : "",
                double(q.nbytes()) / double(4096 * 4096));
  }
  const bool quick = bench::has_flag(argc, argv, "--quick");
  for (Device dev : bench::bench_devices(argc, argv)) {
    std::printf("%s: %s\n", dev.str().c_str(), bench::device_name(dev).c_str());
    bench::run(dev, 2048, 2048);
    if (!quick) {
      bench::run(dev, 4096, 4096);
      bench::run(dev, 11008, 4096);
    }
  }
  return 0;
}
