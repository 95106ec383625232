// Attention lab: the fused scaled_dot_product_attention on each backend beside the untiled composite on the CPU, for
// prefill (T = 512, 2048, causal), a UNet's long non-causal self- and cross-attention and KV-cache decode (Tq = 1,
// Tk = 4096). Each fused result is first checked against the composite, then timed. GFLOP/s counts
// 4 * B * Hq * Tq * Tk * D (q k^T and p v), halved for causal prefill.
//   bench_attention [--device cpu|vulkan:N] [--dtype f32|f16|bf16]
// On a machine shared with other jobs, OMP_NUM_THREADS=1 gives steady per-core CPU numbers.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "benchmarks/bench_util.h"
#include "runtime/ops/attention.h"

using namespace glint;

namespace {

struct Shape4 {
  const char* name;
  int64_t b, hq, hkv, tq, tk, d;
  bool causal;
};

const Shape4 kShapes[] = {
    {"prefill T=512 causal", 1, 8, 8, 512, 512, 64, true},
    {"prefill T=512", 1, 8, 8, 512, 512, 64, false},
    {"prefill T=2048 causal", 1, 8, 8, 2048, 2048, 64, true},
    // The UNet lab's (bench_unet) largest attention: self-attention over 64x64 latent pixels and cross-attention
    // to 77 context tokens, one 64-dim head.
    {"unet self T=4096", 1, 1, 1, 4096, 4096, 64, false},
    {"unet cross T=4096 Tk=77", 1, 1, 1, 4096, 77, 64, false},
    {"decode Tk=4096 H=8", 1, 8, 8, 1, 4096, 64, false},
    {"decode Tk=4096 GQA 32/8 D=128", 1, 32, 8, 1, 4096, 128, false},
};

Tensor random(const Shape& s, DType dt, uint64_t seed) {
  std::vector<float> v(size_t(numel_of(s)));
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& f : v) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    f = float(x >> 40) / float(1 << 24) * 2.f - 1.f;
  }
  return Tensor::from_vector(v, s, DType::f32, Device::cpu()).to(dt);
}

// Largest |got - want| relative to the largest |want|.
double max_rel_error(const Tensor& got, const Tensor& want) {
  std::vector<float> g = got.to_f32(), w = want.to_f32();
  double err = 0, scale = 1e-30;
  for (size_t i = 0; i < g.size(); ++i)
    err = std::max(err, std::fabs(double(g[i]) - w[i])), scale = std::max(scale, std::fabs(double(w[i])));
  return err / scale;
}

}  // namespace

int main(int argc, char** argv) {
  DType dt = DType::f32;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--dtype") == 0) dt = parse_dtype(argv[i + 1]);
  const double bound = dt == DType::f32 ? 1e-4 : dt == DType::f16 ? 4e-3 : 3e-2;  // relative to the output's range
  std::printf("%s\nOpenMP threads %d, dtype %s\n\n", bench::machine_line().c_str(), omp_get_max_threads(),
              std::string(dtype_name(dt)).c_str());
  std::printf("%-32s %-22s %10s %10s %9s %10s\n", "shape", "backend", "ms", "GFLOP/s", "vs comp.", "max err");
  int failures = 0;
  for (const Shape4& s : kShapes) {
    const Tensor q = random({s.b, s.hq, s.tq, s.d}, dt, 1), k = random({s.b, s.hkv, s.tk, s.d}, dt, 2);
    const Tensor v = random({s.b, s.hkv, s.tk, s.d}, dt, 3);
    const AttentionOptions opts{.causal = s.causal};
    const double flop = 4.0 * s.b * s.hq * s.tq * s.tk * s.d * (s.causal && s.tq > 1 ? 0.5 : 1.0);
    Tensor want;
    const double t_comp = bench::time_median([&] { want = attention_composite(q, k, v, opts); }, 1, 0);
    std::printf("%-32s %-22s %10.2f %10.2f %9s %10s\n", s.name, "composite (cpu)", t_comp * 1e3, flop / t_comp * 1e-9,
                "1.00x", "-");
    for (Device dev : bench::bench_devices(argc, argv)) {
      const Tensor qd = q.to(dev), kd = k.to(dev), vd = v.to(dev);
      Tensor got = scaled_dot_product_attention(qd, kd, vd, opts);
      const double err = max_rel_error(got, want);
      const bool ok = err <= bound;
      failures += !ok;
      const double t = bench::time_median(
          [&] {
            got = scaled_dot_product_attention(qd, kd, vd, opts);
            bench::sync(dev);
          },
          11);
      std::printf("%-32s %-22s %10.3f %10.2f %8.1fx %10.1e%s\n", s.name, ("fused " + dev.str()).c_str(), t * 1e3,
                  flop / t * 1e-9, t_comp / t, err, ok ? "" : "  MISMATCH");
    }
  }
  return failures ? 1 : 0;
}
