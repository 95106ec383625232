// matmul lab: GFLOP/s of glint::matmul on each device beside raw cblas_sgemm on the same shape, timed in
// alternation within the same run (so a busy machine slows both alike; the ratio is glint's speed over cblas's),
// after checking each result against cblas. Shapes: square n^3, and an LLM layer x (M, 4096) @ W^T with W (4096, 4096) in weight layout (a transposed
// view, as nn.Linear passes it). With --dtype f16 / bf16 glint multiplies 16-bit operands and cblas the same values
// in f32, so the error shown is glint's accumulation and output rounding alone.
//
// With --train, the products of one training step of models/default (1024 tokens, hidden 192, MLP 512, vocabulary
// 2048: forward x W^T, input gradient dY W, weight gradient dY^T X) and a UNet conv2d's W @ im2col instead.
//
//   bench_matmul [--device D] [--dtype f32|f16|bf16] [--quick: no 4096 square] [--train]
//                [--all: no size cap on CPU-type Vulkan devices]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "benchmarks/bench_util.h"
#include "runtime/ops/matmul.h"
#include "runtime/vulkan/device.h"

namespace glint::bench {
namespace {

struct Shape3 {
  std::string name;
  int64_t m, n, k;
  bool weight_layout;  // b is W^T for W (N, K) row-major
  bool trans_a = false;  // a is X^T for X (K, M) row-major, as a weight gradient dW = dY^T X reads dY
};

// Uniform values in [-1, 1) exactly representable in dtype, as an f32 host tensor.
Tensor random_matrix(int64_t rows, int64_t cols, uint64_t seed, DType dtype) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(size_t(rows * cols));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(v, {rows, cols}, DType::f32, Device::cpu()).to(dtype).to(DType::f32);
}

void run_shape(Device dev, const Shape3& s, DType dtype) {
  const int64_t m = s.m, n = s.n, k = s.k;
  const double flops = 2.0 * double(m) * double(n) * double(k);
  // Operands on the host for cblas; the same values on the device for glint.
  const Tensor a_host = s.trans_a ? random_matrix(k, m, 1, dtype) : random_matrix(m, k, 1, dtype),
               b_host = s.weight_layout ? random_matrix(n, k, 2, dtype) : random_matrix(k, n, 2, dtype);
  std::vector<float> c_ref(size_t(m * n));
  const float *pa = a_host.data<float>(), *pb = b_host.data<float>();
  const auto tb = s.weight_layout ? CblasTrans : CblasNoTrans;
  const int64_t ldb = s.weight_layout ? k : n;
  const auto ta = s.trans_a ? CblasTrans : CblasNoTrans;
  const int64_t lda = s.trans_a ? m : k;
  auto raw = [&] { cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.f, pa, lda, pb, ldb, 0.f, c_ref.data(), n); };
  const Tensor x = a_host.to(dtype).to(dev), w = b_host.to(dtype).to(dev);
  const Tensor a = s.trans_a ? x.transpose(0, 1) : x;
  const Tensor b = s.weight_layout ? w.transpose(0, 1) : w;
  auto ours = [&] {
    Tensor c = matmul(a, b);
    sync(dev);
  };

  raw();
  const double err = max_rel_err(matmul(a, b).to_f32(), c_ref);
  // Alternate the two so that load from other processes lands on both; the ratio is the median of the ratios of
  // neighbouring runs, which cancels load that changes slowly. About two seconds of work each.
  const int reps = std::clamp(int(4e10 / flops), 5, 50);
  raw(), ours();
  std::vector<double> t_raw, t_ours, ratios;
  for (int i = 0; i < reps; ++i) {
    t_raw.push_back(seconds(raw));
    t_ours.push_back(seconds(ours));
    ratios.push_back(t_raw.back() / t_ours.back());
  }
  const double g_ours = flops / median(t_ours) * 1e-9, g_raw = flops / median(t_raw) * 1e-9;
  std::printf("%-10s %-26s %10.1f %12.1f %8.3f %12.2e\n", dev.str().c_str(), s.name.c_str(), g_ours, g_raw,
              median(ratios), err);
  std::fflush(stdout);
}

}  // namespace
}  // namespace glint::bench

int main(int argc, char** argv) {
  using namespace glint;
  using namespace glint::bench;
  const bool quick = has_flag(argc, argv, "--quick"), all = has_flag(argc, argv, "--all");
  const DType dtype = parse_dtype(option(argc, argv, "--dtype", "f32"));
  std::vector<Shape3> shapes;
  if (has_flag(argc, argv, "--train")) {
    shapes = {{"x(1024,192)@W^T,N=512", 1024, 512, 192, true},   {"x(1024,512)@W^T,N=192", 1024, 192, 512, true},
              {"x(1024,192)@E^T,N=2048", 1024, 2048, 192, true}, {"dY(1024,512)@W(512,192)", 1024, 192, 512, false},
              {"dY^T(512,1024)@X,N=192", 512, 192, 1024, false, true},
              {"dY^T(64,1024)@X,N=192", 64, 192, 1024, false, true},
              {"conv W(128,1152)@col,1024", 128, 1024, 1152, false}};
  } else {
    for (int64_t n : {512, 1024, 2048, 4096})
      if (!(quick && n == 4096)) {
        const std::string d = std::to_string(n);
        shapes.push_back({d + "^3", n, n, n, false});
      }
    for (int64_t m : {1, 8, 16, 512}) shapes.push_back({"x(" + std::to_string(m) + ",4096)@W^T", m, 4096, 4096, true});
  }

  std::printf("%s, glint in %s\n%-10s %-26s %10s %12s %8s %12s\n", machine_line().c_str(),
              std::string(dtype_name(dtype)).c_str(), "device", "shape", "GFLOP/s", "cblas GF/s", "ratio",
              "max rel err");
  for (Device dev : bench_devices(argc, argv)) {
    // CPU-type Vulkan devices (lavapipe) emulate the GPU on the CPU: large shapes take minutes there.
    const bool capped = !dev.is_cpu() && vk::device(dev.index).info().is_cpu() && !all;
    for (const Shape3& s : shapes) {
      if (capped && s.m * s.n * s.k > int64_t(1024) * 1024 * 1024) {
        std::printf("%-10s %-26s skipped on a CPU-type Vulkan device (--all runs it)\n", dev.str().c_str(),
                    s.name.c_str());
        continue;
      }
      run_shape(dev, s, dtype);
    }
  }
  return 0;
}
