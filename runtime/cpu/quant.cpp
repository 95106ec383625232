// CPU 4-bit kernels. The weight is never dequantised whole:
//  - dequantize_4bit: per block, code[index] * absmax rounded to the output dtype (bitsandbytes' arithmetic).
//  - linear_4bit with few rows (decode): a fused matrix-vector product; each output row walks its packed bytes
//    once through a 256-entry table of nibble pairs, sums code values times x per absmax block and scales the
//    block's sum once.
//  - linear_4bit with more rows: panels of weight rows dequantised into a small f32 buffer, multiplied by
//    cpu::sgemm (x @ panel^T) into the output columns they cover. Unlike matmul's f16 conversion, the dequantisation
//    is worth an OpenMP loop between the sgemm calls: on one thread it took longer than the product (measured
//    at M = 32, 4096 x 4096: 300 ms on one thread, 120 ms over rows).
//  - linear_4bit_grad_input (QLoRA's backward through a frozen layer): the same panels, accumulated as
//    g[:, panel] @ panel into the f32 input gradient.
#include "runtime/ops/quant.h"


#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "runtime/cpu/elem.h"
#include "runtime/cpu/gemm.h"

namespace glint::cpu {
namespace {

constexpr int64_t kFusedRows = 4;  // rows of x up to which the fused matrix-vector path beats dequantise + sgemm

// The weight as host pointers, with its f32 block scales ready (double quantisation undone once per call: the
// scales are 1/blocksize of the weight, so this is small).
struct Weight4 {
  const uint8_t* packed;
  std::vector<float> scale;
  std::array<float, 16> code;
  int64_t blocksize;
};

Weight4 host_weight(const QuantizedTensor& q) {
  Weight4 w{ptr<uint8_t>(q.packed), absmax_f32(q.state).to_f32(), {}, q.state.blocksize};
  const std::vector<float> code = q.state.code.to_f32();
  std::copy(code.begin(), code.end(), w.code.begin());
  if (q.state.quant_type == Quant4Type::fp4) w.code[8] = -0.f;  // bitsandbytes decodes FP4 0b1000 as -0
  return w;
}

// Dequantises flat elements [i0, i1) into dst as f32.
void dequant_range(const Weight4& w, int64_t i0, int64_t i1, float* dst) {
  for (int64_t i = i0; i < i1;) {
    const int64_t end = std::min(i1, (i / w.blocksize + 1) * w.blocksize);
    const float s = w.scale[size_t(i / w.blocksize)];
    for (; i < end; ++i) {
      const uint8_t byte = w.packed[i >> 1];
      *dst++ = w.code[(i & 1) ? byte & 15 : byte >> 4] * s;
    }
  }
}

void dequantize_cpu(const QuantizedTensor& q, const Tensor& out) {
  const Weight4 w = host_weight(q);
  const int64_t n = out.numel(), blocks = q.state.blocks();
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      T* o = ptr<T>(out);
#pragma omp parallel
      {
        std::vector<float> buf(size_t(w.blocksize));
#pragma omp for schedule(static)
        for (int64_t b = 0; b < blocks; ++b) {
          const int64_t i0 = b * w.blocksize, i1 = std::min(n, i0 + w.blocksize);
          dequant_range(w, i0, i1, buf.data());
          for (int64_t i = i0; i < i1; ++i) o[i] = from_float<T>(buf[size_t(i - i0)]);
        }
      }
    }
  });
}

// x rows as f32 (the input itself when it is f32 already).
template <class T>
const float* x_f32(const T* x, int64_t count, std::vector<float>& buf) {
  if constexpr (std::is_same_v<T, float>) {
    return x;
  } else {
    buf.resize(size_t(count));
    for (int64_t i = 0; i < count; ++i) buf[size_t(i)] = to_float(x[i]);
    return buf.data();
  }
}

// y (m <= kFusedRows rows) = x @ W^T + bias, one output column per iteration, reading each packed byte once.
template <class T>
void fused_matvec(const float* x, const Weight4& w, const T* bias, T* y, int64_t m, int64_t n, int64_t k) {
  std::array<std::array<float, 2>, 256> pair;  // a byte's two code values, high nibble first
  for (int b = 0; b < 256; ++b) pair[size_t(b)] = {w.code[size_t(b >> 4)], w.code[size_t(b & 15)]};
#pragma omp parallel for schedule(static)
  for (int64_t col = 0; col < n; ++col) {
    float acc[kFusedRows] = {};
    for (int64_t k0 = 0; k0 < k;) {  // one absmax block (or the part of it in this row) at a time
      const int64_t i0 = col * k + k0, blk = i0 / w.blocksize;
      const int64_t k1 = std::min(k, (blk + 1) * w.blocksize - col * k);
      float part[kFusedRows] = {};
      int64_t kk = k0;
      if (i0 & 1) {  // the row starts in a byte's low nibble
        const float v = w.code[size_t(w.packed[i0 >> 1] & 15)];
        for (int64_t r = 0; r < m; ++r) part[r] += v * x[r * k + kk];
        ++kk;
      }
      for (; kk + 1 < k1; kk += 2) {
        const std::array<float, 2>& v = pair[w.packed[(col * k + kk) >> 1]];
        for (int64_t r = 0; r < m; ++r) part[r] += v[0] * x[r * k + kk] + v[1] * x[r * k + kk + 1];
      }
      if (kk < k1) {  // a last high nibble
        const float v = w.code[size_t(w.packed[(col * k + kk) >> 1] >> 4)];
        for (int64_t r = 0; r < m; ++r) part[r] += v * x[r * k + kk];
      }
      const float s = w.scale[size_t(blk)];
      for (int64_t r = 0; r < m; ++r) acc[r] += part[r] * s;
      k0 = k1;
    }
    for (int64_t r = 0; r < m; ++r) y[r * n + col] = from_float<T>(acc[r] + (bias ? to_float(bias[col]) : 0.f));
  }
}

// Calls fn(n0, rows, panel) for consecutive panels of W's rows [n0, n0 + rows), each dequantised into one reused f32
// buffer of about 4 MiB (rows x k), so no full-size dequantised weight exists.
template <class Fn>
void for_each_panel(const Weight4& w, int64_t n, int64_t k, Fn fn) {
  const int64_t panel = std::clamp<int64_t>((1 << 20) / k, 16, n);
  std::unique_ptr<float[]> wp(new float[size_t(panel * k)]);
  for (int64_t n0 = 0; n0 < n; n0 += panel) {
    const int64_t rows = std::min(panel, n - n0);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) dequant_range(w, (n0 + r) * k, (n0 + r + 1) * k, wp.get() + r * k);
    fn(n0, rows, static_cast<const float*>(wp.get()));
  }
}

// y = x @ W^T + bias through panels of dequantised weight rows and sgemm; the f32 result is rounded once.
template <class T>
void panel_gemm(const float* x, const Weight4& w, const T* bias, T* y, int64_t m, int64_t n, int64_t k) {
  std::vector<float> yf;
  float* out;
  if constexpr (std::is_same_v<T, float>) {
    out = y;
  } else {
    yf.resize(size_t(m * n));
    out = yf.data();
  }
  for_each_panel(w, n, k, [&](int64_t n0, int64_t rows, const float* wp) {
    if (bias)
      for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < rows; ++j) out[r * n + n0 + j] = to_float(bias[n0 + j]);
    sgemm(false, true, m, rows, k, 1.f, x, k, wp, k, bias ? 1.f : 0.f, out + n0, n);
  });
  if constexpr (!std::is_same_v<T, float>)
    for (int64_t i = 0; i < m * n; ++i) y[i] = from_float<T>(yf[size_t(i)]);
}

void linear_4bit_cpu(const Tensor& x, const QuantizedTensor& q, const Tensor& bias, const Tensor& y) {
  const Weight4 w = host_weight(q);
  const int64_t m = x.dim(0), k = x.dim(1), n = y.dim(1);
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      std::vector<float> xbuf;
      const float* xf = x_f32(ptr<T>(x), m * k, xbuf);
      const T* pb = bias.defined() ? ptr<T>(bias) : nullptr;
      if (m <= kFusedRows)
        fused_matvec(xf, w, pb, ptr<T>(y), m, n, k);
      else
        panel_gemm(xf, w, pb, ptr<T>(y), m, n, k);
    }
  });
}

// gx = g @ W: panels of weight rows dequantised as panel_gemm does, each adding g's matching columns times the panel.
void linear_4bit_grad_input_cpu(const Tensor& g, const QuantizedTensor& q, const Tensor& gx) {
  const Weight4 w = host_weight(q);
  const int64_t m = g.dim(0), n = g.dim(1), k = gx.dim(1);
  visit_dtype(g.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      std::vector<float> gbuf, obuf;
      const float* gf = x_f32(ptr<T>(g), m * n, gbuf);
      float* out;
      if constexpr (std::is_same_v<T, float>) {
        out = ptr<float>(gx);
      } else {
        obuf.resize(size_t(m * k));
        out = obuf.data();
      }
      for_each_panel(w, n, k, [&](int64_t n0, int64_t rows, const float* wp) {
        sgemm(false, false, m, k, rows, 1.f, gf + n0, n, wp, k, n0 == 0 ? 0.f : 1.f, out, k);
      });
      if constexpr (!std::is_same_v<T, float>)
        for (int64_t i = 0; i < m * k; ++i) ptr<T>(gx)[i] = from_float<T>(obuf[size_t(i)]);
    }
  });
}

const OpRegistration reg_dequant(dequantize_4bit_kernel, DeviceKind::cpu, dequantize_cpu);
const OpRegistration reg_linear(linear_4bit_kernel, DeviceKind::cpu, linear_4bit_cpu);
const OpRegistration reg_grad_input(linear_4bit_grad_input_kernel, DeviceKind::cpu, linear_4bit_grad_input_cpu);

}  // namespace
}  // namespace glint::cpu
