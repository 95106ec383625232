// conv2d lab: GFLOP/s of glint::conv2d on each device beside the classic im2col + cblas_sgemm written here (the whole
// im2col matrix of an image materialised, then one sgemm per image), timed in alternation within the same run so that
// a busy machine slows both alike, after checking glint's result against it. Shapes are Stable Diffusion's UNet
// convolutions at 64x64 latents (320 channels at 64x64, 640 at 32x32; 3x3 padding 1, and 1x1), and the 3x3 ones of
// bench_unet's fifth-width UNet (64 channels at 64x64, 128 at 32x32, 256 at 16x16), batch 1 and 8.
//
//   bench_conv2d [--device D] [--dtype f32|f16|bf16] [--quick: batch 1 only]
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
#include "runtime/ops/conv.h"
#include "runtime/vulkan/device.h"

namespace glint::bench {
namespace {

struct ConvCase {
  int64_t n, c, hw, o, k;  // input (n, c, hw, hw), weight (o, c, k, k), padding k / 2, stride 1
};

// Uniform values in [-1, 1) exactly representable in dtype, as an f32 host tensor.
Tensor test_values(const Shape& shape, uint64_t seed, DType dtype) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(size_t(numel_of(shape)));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape, DType::f32, Device::cpu()).to(dtype).to(DType::f32);
}

// The reference: y[n] (o, hw*hw) = w (o, c*k*k) @ im2col(x[n]) (c*k*k, hw*hw), the im2col matrix written whole.
void im2col_sgemm(const ConvCase& s, const float* x, const float* w, float* y, std::vector<float>& col) {
  const int64_t pad = s.k / 2, pix = s.hw * s.hw, rows = s.c * s.k * s.k;
  col.resize(size_t(rows * pix));
  for (int64_t n = 0; n < s.n; ++n) {
    const float* xn = x + n * s.c * pix;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t c = r / (s.k * s.k), ki = r / s.k % s.k, kj = r % s.k;
      float* dst = col.data() + r * pix;
      for (int64_t i = 0; i < s.hw; ++i)
        for (int64_t j = 0; j < s.hw; ++j) {
          const int64_t ih = i + ki - pad, iw = j + kj - pad;
          dst[i * s.hw + j] = ih >= 0 && ih < s.hw && iw >= 0 && iw < s.hw ? xn[(c * s.hw + ih) * s.hw + iw] : 0.f;
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.o), int(pix), int(rows), 1.f, w, int(rows), col.data(),
                int(pix), 0.f, y + n * s.o * pix, int(pix));
  }
}

void run_case(Device dev, const ConvCase& s, DType dtype) {
  const double flops = 2.0 * double(s.n * s.o * s.hw * s.hw) * double(s.c * s.k * s.k);
  // Values exact in dtype, as f32 on the host for the reference and in dtype on the device for glint.
  const Tensor x_host = test_values({s.n, s.c, s.hw, s.hw}, 1, dtype),
               w_host = test_values({s.o, s.c, s.k, s.k}, 2, dtype);
  std::vector<float> y_ref(size_t(s.n * s.o * s.hw * s.hw)), col;
  auto raw = [&] { im2col_sgemm(s, x_host.data<float>(), w_host.data<float>(), y_ref.data(), col); };
  const Tensor x = x_host.to(dtype).to(dev), w = w_host.to(dtype).to(dev);
  Conv2dParams p;
  p.padding = {s.k / 2, s.k / 2};
  auto ours = [&] {
    Tensor y = conv2d(x, w, Tensor(), p);
    sync(dev);
  };
  raw();
  const double err = max_rel_err(conv2d(x, w, Tensor(), p).to_f32(), y_ref);
  const int reps = std::clamp(int(2e10 / flops), 3, 20);
  raw(), ours();
  std::vector<double> t_raw, t_ours, ratios;
  for (int i = 0; i < reps; ++i) {
    t_raw.push_back(seconds(raw));
    t_ours.push_back(seconds(ours));
    ratios.push_back(t_raw.back() / t_ours.back());
  }
  const std::string name = "N" + std::to_string(s.n) + " C" + std::to_string(s.c) + " " + std::to_string(s.hw) +
                           "^2 O" + std::to_string(s.o) + " " + std::to_string(s.k) + "x" + std::to_string(s.k);
  std::printf("%-10s %-26s %10.1f %14.1f %8.3f %12.2e\n", dev.str().c_str(), name.c_str(),
              flops / median(t_ours) * 1e-9, flops / median(t_raw) * 1e-9, median(ratios), err);
  std::fflush(stdout);
}

}  // namespace
}  // namespace glint::bench

int main(int argc, char** argv) {
  using namespace glint;
  using namespace glint::bench;
  const bool quick = has_flag(argc, argv, "--quick"), all = has_flag(argc, argv, "--all");
  const DType dtype = parse_dtype(option(argc, argv, "--dtype", "f32"));
  std::vector<ConvCase> cases;
  for (int64_t n : {1, 8})
    if (!(quick && n > 1))
      for (const ConvCase& c : {ConvCase{n, 320, 64, 320, 3}, ConvCase{n, 320, 64, 320, 1},
                                ConvCase{n, 640, 32, 640, 3}, ConvCase{n, 640, 32, 640, 1},
                                // bench_unet's reduced SD UNet (a fifth of the width): 64 at 64x64 ... 256 at 16x16
                                ConvCase{n, 64, 64, 64, 3}, ConvCase{n, 128, 32, 128, 3}, ConvCase{n, 256, 16, 256, 3}})
        cases.push_back(c);

  std::printf("%s, glint in %s\n%-10s %-26s %10s %14s %8s %12s\n", machine_line().c_str(),
              std::string(dtype_name(dtype)).c_str(), "device", "conv", "GFLOP/s", "im2col+sgemm", "ratio",
              "max rel err");
  for (Device dev : bench_devices(argc, argv)) {
    // CPU-type Vulkan devices (lavapipe) emulate the GPU on the CPU: only batch 1 there unless --all.
    const bool capped = !dev.is_cpu() && vk::device(dev.index).info().is_cpu() && !all;
    for (const ConvCase& c : cases) {
      if (capped && c.n > 1) continue;
      run_case(dev, c, dtype);
    }
  }
  return 0;
}
