#include "runtime/ops/quant.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/reduce.h"

namespace glint {
namespace {

// bitsandbytes' get_4bit_type tables, bit for bit (printed with float.hex from bitsandbytes 0.50.2).
constexpr std::array<float, 16> kNf4 = {-0x1p+0f,        -0x1.647362p-1f, -0x1.0cd66p-1f,  -0x1.94654p-2f,
                                        -0x1.23449ap-2f, -0x1.7a6a7ep-3f, -0x1.74f0e2p-4f, 0.f,
                                        0x1.45f5fep-4f,  0x1.4995c6p-3f,  0x1.f809bap-3f,  0x1.5a0674p-2f,
                                        0x1.c3497p-2f,   0x1.200f56p-1f,  0x1.722766p-1f,  0x1p+0f};
constexpr std::array<float, 16> kFp4 = {
    0.f, 0x1.555556p-8f,  0x1.555556p-1f,  0x1p+0f,  0x1.555556p-2f,  0x1p-1f,  0x1.555556p-3f,  0x1p-2f,
    0.f, -0x1.555556p-8f, -0x1.555556p-1f, -0x1p+0f, -0x1.555556p-2f, -0x1p-1f, -0x1.555556p-3f, -0x1p-2f};
// The indices of a table in ascending order of value, as torch.argsort gives them (FP4's two zeros: 0, then 8).
constexpr std::array<uint8_t, 16> kNf4Order = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
constexpr std::array<uint8_t, 16> kFp4Order = {11, 10, 13, 12, 15, 14, 9, 0, 8, 1, 6, 7, 4, 5, 2, 3};

// torch.linspace(start, end, steps, dtype=float32) on the CPU: f32 step, the first half counted from start and
// the second from end, each point one fused multiply-add (torch's kernel is built with FMA; plain f32 arithmetic
// differs in the last bit for some points).
std::vector<float> linspace_f32(float start, float end, int64_t steps) {
  const float step = (end - start) / float(steps - 1);
  std::vector<float> v(static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; ++i)
    v[size_t(i)] = i < steps / 2 ? std::fma(step, float(i), start) : std::fma(-step, float(steps - i - 1), end);
  return v;
}

std::array<float, 256> make_dynamic_map() {
  // create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): for exponent i, the midpoints of 2^i + 1
  // points spread over [0.1, 1], scaled by 10^(i-6) (an f32 multiply, as torch does with a Python scalar), both
  // signs; then 0 and 1, sorted.
  std::vector<float> data;
  for (int i = 0; i < 7; ++i) {
    const std::vector<float> b = linspace_f32(0.1f, 1.f, (int64_t(1) << i) + 1);
    const float scale = float(std::pow(10.0, i - 6));
    std::vector<float> means;
    for (size_t j = 0; j + 1 < b.size(); ++j) means.push_back((b[j] + b[j + 1]) / 2.f);
    for (float m : means) data.push_back(scale * m);
    for (float m : means) data.push_back(-scale * m);
  }
  data.push_back(0.f);
  data.push_back(1.f);
  std::sort(data.begin(), data.end());
  std::array<float, 256> out{};
  std::copy(data.begin(), data.end(), out.begin());
  return out;
}

void check_blocksize(std::string_view op, int64_t blocksize) {
  GLINT_CHECK(blocksize >= 32 && blocksize <= 4096 && (blocksize & (blocksize - 1)) == 0, op, "invalid blocksize ",
              blocksize, " (bitsandbytes allows 32, 64, 128, ..., 4096)");
}

// Index of the nearest table value to each of `v`, as bitsandbytes' default quantize_4bit picks it:
// torch.bucketize against the midpoints of the sorted table, a value on a midpoint going to the lower entry.
uint8_t nearest_4bit(float v, const std::array<float, 15>& bounds, const std::array<uint8_t, 16>& order) {
  int q = 0;
  while (q < 15 && bounds[size_t(q)] < v) ++q;
  return order[size_t(q)];
}

// bitsandbytes 0.50.2's native CPU quantize_blockwise (8-bit, used for the nested absmax), as its binary
// computes it. The map is looked up through a table of 65536 bins over [-1, 1]: bin i stands for
// 2i / 65535 - 1 (f32) and holds the first entry whose midpoint with the next is not below that. A value is
// divided by its block's absmax as a multiply by the f32 reciprocal, clamped to [-1, 1], and sent to bin
// trunc(fma((v + 1) * 0.5, 65535, 0.5)) (the compiler contracts the last multiply-add). So within a bin's width
// (3e-5) a value can get an entry other than its nearest: near zero, where the map's entries are closer than
// that, most do. Older releases searched the map exactly; 0.50.2's bytes are these.
class LutQuantizer {
 public:
  explicit LutQuantizer(const float* code) {
    std::array<float, 255> mid;
    for (size_t i = 0; i < mid.size(); ++i) mid[i] = (code[i] + code[i + 1]) * 0.5f;
    size_t idx = 0;
    for (uint32_t i = 0; i < kBins; ++i) {
      const float v = float(i) * 2.f / float(kBins - 1) - 1.f;
      while (idx < mid.size() && mid[idx] < v) ++idx;
      lut_[i] = uint8_t(idx);
    }
  }

  // The byte of v / absmax, given inv = 1 / absmax.
  uint8_t operator()(float v, float inv) const {
    const float s = std::clamp(v * inv, -1.f, 1.f);
    return lut_[uint16_t(int32_t(std::fma((s + 1.f) * 0.5f, float(kBins - 1), 0.5f)))];
  }

 private:
  static constexpr uint32_t kBins = 65536;
  std::array<uint8_t, kBins> lut_;
};

// quantize_blockwise on the CPU: per block the absmax (a block of zeros keeps absmax 0 and all-zero bytes) and
// each value's byte through the table.
void quantize_blockwise_8bit(const std::vector<float>& a, int64_t blocksize, std::vector<uint8_t>& out,
                             std::vector<float>& absmax) {
  static const LutQuantizer quantizer(dynamic_map_8bit());
  const int64_t n = int64_t(a.size());
  out.assign(size_t(n), 0);
  absmax.clear();
  for (int64_t b0 = 0; b0 < n; b0 += blocksize) {
    const int64_t b1 = std::min(n, b0 + blocksize);
    float am = 0.f;
    for (int64_t i = b0; i < b1; ++i) am = std::max(am, std::fabs(a[size_t(i)]));
    absmax.push_back(am);
    if (am == 0.f) continue;
    const float inv = 1.f / am;
    for (int64_t i = b0; i < b1; ++i) out[size_t(i)] = quantizer(a[size_t(i)], inv);
  }
}

// torch's f32 sum on one thread (aten SumKernel's cascade_sum): rows of 8-lane vectors summed 4 at a time in a
// cascade of 4 levels whose step grows with the length, lanes then added in order after the leftover elements;
// under 8 elements the same cascade over single floats.
template <size_t W>
using Lanes = std::array<float, W>;

template <size_t W>
void add_lanes(Lanes<W>& a, const Lanes<W>& b) {
  for (size_t l = 0; l < W; ++l) a[l] += b[l];
}

template <size_t W, size_t R, class Row>
std::array<Lanes<W>, R> multi_row_sum(int64_t size, const Row& row) {
  constexpr int kLevels = 4;
  int64_t log2 = 0;
  while ((int64_t(1) << log2) < size) ++log2;
  const int64_t power = std::max<int64_t>(4, log2 / kLevels), step = int64_t(1) << power, mask = step - 1;
  std::array<std::array<Lanes<W>, R>, kLevels> acc{};
  int64_t i = 0;
  for (; i + step <= size; i += step) {
    for (int64_t j = 0; j < step; ++j)
      for (size_t k = 0; k < R; ++k) add_lanes(acc[0][k], row(i + j, k));
    for (int j = 1; j < kLevels; ++j) {
      for (size_t k = 0; k < R; ++k) add_lanes(acc[size_t(j)][k], acc[size_t(j - 1)][k]), acc[size_t(j - 1)][k] = {};
      if (((i + step) & (mask << (j * power))) != 0) break;
    }
  }
  for (; i < size; ++i)
    for (size_t k = 0; k < R; ++k) add_lanes(acc[0][k], row(i, k));
  for (int j = 1; j < kLevels; ++j)
    for (size_t k = 0; k < R; ++k) add_lanes(acc[0][k], acc[size_t(j)][k]);
  return acc[0];
}

float cascade_sum(const float* a, int64_t n) {
  constexpr size_t kLanes = 8, kIlp = 4;
  if (n < int64_t(kLanes)) {
    auto ps = multi_row_sum<1, kIlp>(n / 4, [&](int64_t i, size_t k) { return Lanes<1>{a[i * 4 + int64_t(k)]}; });
    for (int64_t r = n / 4 * 4; r < n; ++r) ps[0][0] += a[size_t(r)];
    for (size_t k = 1; k < kIlp; ++k) ps[0][0] += ps[k][0];
    return ps[0][0];
  }
  const int64_t vecs = n / int64_t(kLanes), rows = vecs / int64_t(kIlp);
  auto vec = [&](int64_t v) {
    Lanes<kLanes> x;
    std::copy_n(a + v * int64_t(kLanes), kLanes, x.begin());
    return x;
  };
  auto ps = multi_row_sum<kLanes, kIlp>(rows, [&](int64_t i, size_t k) { return vec(i * int64_t(kIlp) + int64_t(k)); });
  for (int64_t r = rows * int64_t(kIlp); r < vecs; ++r) add_lanes(ps[0], vec(r));
  for (size_t k = 1; k < kIlp; ++k) add_lanes(ps[0], ps[k]);
  float sum = 0.f;
  for (int64_t k = vecs * int64_t(kLanes); k < n; ++k) sum += a[size_t(k)];
  for (size_t l = 0; l < kLanes; ++l) sum += ps[0][l];
  return sum;
}

// torch.sum of an f32 vector on `threads` threads (TensorIterator's two-pass reduction): from 32768 elements on,
// the range is cut into min(threads, ceil(n / 32768)) equal chunks, each chunk's cascade sum lands in one slot of
// a `threads`-slot buffer (the rest stay 0), and the buffer is summed by the same cascade. So the mean bitsandbytes
// subtracts depends on the thread count of the torch that quantised.
float torch_sum(const std::vector<float>& a, int threads) {
  constexpr int64_t kGrain = 32768;
  const int64_t n = int64_t(a.size());
  if (n < kGrain || threads <= 1) return cascade_sum(a.data(), n);
  const int64_t used = std::min<int64_t>(threads, (n + kGrain - 1) / kGrain), chunk = (n + used - 1) / used;
  std::vector<float> partial(size_t(threads), 0.f);
  for (int64_t t = 0; t < used && t * chunk < n; ++t)
    partial[size_t(t)] = cascade_sum(a.data() + t * chunk, std::min(chunk, n - t * chunk));
  return cascade_sum(partial.data(), threads);
}

// Environment variable `name` as a positive thread count, or 0 when unset or not one.
int env_threads(const char* name) {
  const char* v = std::getenv(name);
  const int n = v ? std::atoi(v) : 0;
  return n > 0 ? n : 0;
}

// Physical cores (distinct package and core ids of the online CPUs, as torch's cpuinfo counts them), or the
// logical CPU count where the topology cannot be read.
int physical_cores() {
  std::set<std::pair<std::string, std::string>> cores;
  for (unsigned cpu = 0; cpu < 4096; ++cpu) {
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream core(dir + "core_id"), package(dir + "physical_package_id");
    std::string c, p;
    if (!(core >> c) || !(package >> p)) break;
    cores.insert({p, c});
  }
  const int logical = int(std::max(1u, std::thread::hardware_concurrency()));
  return cores.empty() ? logical : std::min(int(cores.size()), logical);
}

Tensor f32_tensor(const float* p, int64_t n, Device device) {
  return Tensor::from_vector(std::vector<float>(p, p + n), {n}, DType::f32, Device::cpu()).to(device);
}

}  // namespace

int torch_default_threads() {
  static const int threads = [] {
    const int n = env_threads("MKL_NUM_THREADS");
    if (n > 0) return n;
    const int omp = env_threads("OMP_NUM_THREADS");
    return omp > 0 ? omp : physical_cores();
  }();
  return threads;
}

void validate_4bit(const QuantizedTensor& q, std::string_view op) {
  const QuantState& s = q.state;
  check_blocksize(op, s.blocksize);
  GLINT_CHECK(q.packed.defined() && q.packed.dtype() == DType::u8, op, "packed data must be a u8 tensor");
  GLINT_CHECK(q.packed.numel() == (s.numel() + 1) / 2, op, "packed data has ", q.packed.numel(), " bytes, ",
              shape_str(s.shape), " needs ", (s.numel() + 1) / 2);
  GLINT_CHECK(is_floating(s.dtype), op, "original dtype must be f32, f16 or bf16, got ", dtype_name(s.dtype));
  GLINT_CHECK(s.code.defined() && s.code.dtype() == DType::f32 && s.code.numel() == 16, op,
              "the code table (quant_map) must be 16 f32 values");
  GLINT_CHECK(s.absmax.defined() && s.absmax.numel() == s.blocks(), op, "absmax has ",
              s.absmax.defined() ? s.absmax.numel() : 0, " values, ", shape_str(s.shape), " in blocks of ", s.blocksize,
              " needs ", s.blocks());
  if (s.nested()) {
    GLINT_CHECK(s.absmax.dtype() == DType::u8, op, "double-quantised absmax must be u8, got ",
                dtype_name(s.absmax.dtype()));
    GLINT_CHECK(s.nested_blocksize > 0, op, "invalid nested blocksize ", s.nested_blocksize);
    const int64_t nb = (s.blocks() + s.nested_blocksize - 1) / s.nested_blocksize;
    GLINT_CHECK(s.nested_absmax.dtype() == DType::f32 && s.nested_absmax.numel() == nb, op, "nested_absmax must be ",
                nb, " f32 values, got ", s.nested_absmax.numel(), " ", dtype_name(s.nested_absmax.dtype()));
    GLINT_CHECK(s.nested_code.defined() && s.nested_code.dtype() == DType::f32 && s.nested_code.numel() == 256, op,
                "nested_quant_map must be 256 f32 values");
  } else {
    GLINT_CHECK(s.absmax.dtype() == DType::f32, op, "absmax must be f32 without double quantisation, got ",
                dtype_name(s.absmax.dtype()));
  }
  for (const Tensor* t : {&s.code, &s.absmax, &s.nested_absmax, &s.nested_code})
    if (t->defined())
      GLINT_CHECK(t->device() == q.device(), op, "quantisation state on ", t->device().str(), ", packed data on ",
                  q.device().str());
}

std::string_view quant4_name(Quant4Type t) { return t == Quant4Type::nf4 ? "nf4" : "fp4"; }

Quant4Type parse_quant4(std::string_view name) {
  if (name == "nf4") return Quant4Type::nf4;
  if (name == "fp4") return Quant4Type::fp4;
  fail("quantize_4bit", "unknown 4-bit type '", name, "' (nf4 or fp4)");
}

const float* dynamic_map_8bit() {
  static const std::array<float, 256> map = make_dynamic_map();
  return map.data();
}

QuantizedTensor QuantizedTensor::to(Device device) const {
  if (device == this->device()) return *this;
  QuantizedTensor q{packed.to(device), state};
  for (Tensor* t : {&q.state.code, &q.state.absmax, &q.state.nested_absmax, &q.state.nested_code})
    if (t->defined()) *t = t->to(device);
  return q;
}

size_t QuantizedTensor::nbytes() const {
  size_t n = packed.nbytes() + state.absmax.nbytes() + state.code.nbytes();
  if (state.nested()) n += state.nested_absmax.nbytes() + state.nested_code.nbytes();
  return n;
}

QuantizedTensor quantize_4bit(const Tensor& w, Quant4Type type, int64_t blocksize, bool double_quant,
                              int torch_threads) {
  GLINT_CHECK(w.defined() && is_floating(w.dtype()), "quantize_4bit", "input must be f32, f16 or bf16",
              w.defined() ? std::string(", got ") + std::string(dtype_name(w.dtype())) : std::string());
  check_blocksize("quantize_4bit", blocksize);
  const int64_t n = w.numel();
  GLINT_CHECK(n > 0, "quantize_4bit", "cannot quantise an empty tensor ", shape_str(w.shape()));
  const std::vector<float> a = w.to_f32();  // every f16 / bf16 value is exact in f32, as torch's .float()
  const std::array<float, 16>& code = type == Quant4Type::nf4 ? kNf4 : kFp4;
  const std::array<uint8_t, 16>& order = type == Quant4Type::nf4 ? kNf4Order : kFp4Order;
  std::array<float, 15> bounds;
  for (size_t i = 0; i < 15; ++i) bounds[i] = (code[order[i]] + code[order[i + 1]]) / 2.f;

  // The default kernel scales full blocks by a reciprocal and the short last block by a division, and clamps
  // only the last block's stored absmax away from zero; both kept, for identical bytes.
  const int64_t blocks = (n + blocksize - 1) / blocksize, full = n / blocksize;
  std::vector<float> absmax(static_cast<size_t>(blocks));
  std::vector<uint8_t> idx(size_t(n + 1), nearest_4bit(0.f, bounds, order));  // odd n: padded with a zero
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t b0 = b * blocksize, b1 = std::min(n, b0 + blocksize);
    float am = 0.f;
    for (int64_t i = b0; i < b1; ++i) am = std::max(am, std::fabs(a[size_t(i)]));
    const float safe = std::max(am, 1e-38f), inv = 1.f / safe;
    absmax[size_t(b)] = b < full ? am : safe;
    for (int64_t i = b0; i < b1; ++i) {
      const float s = b < full ? a[size_t(i)] * inv : a[size_t(i)] / safe;
      idx[size_t(i)] = nearest_4bit(std::clamp(s, -1.f, 1.f), bounds, order);
    }
  }
  std::vector<uint8_t> packed(size_t((n + 1) / 2));
  for (size_t i = 0; i < packed.size(); ++i) packed[i] = uint8_t(idx[2 * i] << 4 | idx[2 * i + 1]);

  const Device dev = w.device();
  QuantizedTensor q;
  q.packed = Tensor::from_vector(packed, {int64_t(packed.size()), 1}, DType::u8, Device::cpu()).to(dev);
  QuantState& s = q.state;
  s.shape = w.shape(), s.dtype = w.dtype(), s.blocksize = blocksize, s.quant_type = type;
  s.code = f32_tensor(code.data(), 16, dev);
  if (!double_quant) {
    s.absmax = f32_tensor(absmax.data(), blocks, dev);
    return q;
  }
  // offset = absmax.mean(): torch's f32 sum divided by the count.
  s.offset = torch_sum(absmax, torch_threads > 0 ? torch_threads : torch_default_threads()) / float(blocks);
  std::vector<float> centred(absmax.size());
  for (size_t i = 0; i < absmax.size(); ++i) centred[i] = absmax[i] - s.offset;
  std::vector<uint8_t> qabs;
  std::vector<float> nested;
  quantize_blockwise_8bit(centred, s.nested_blocksize, qabs, nested);
  s.absmax = Tensor::from_vector(qabs, {blocks}, DType::u8, Device::cpu()).to(dev);
  s.nested_absmax = f32_tensor(nested.data(), int64_t(nested.size()), dev);
  s.nested_code = f32_tensor(dynamic_map_8bit(), 256, dev);
  return q;
}

Tensor absmax_f32(const QuantState& s) {
  if (!s.nested()) return s.absmax;
  const std::vector<uint8_t> qa = s.absmax.to(Device::cpu()).contiguous().to_vector<uint8_t>();
  const std::vector<float> na = s.nested_absmax.to_f32(), nc = s.nested_code.to_f32();
  std::vector<float> out(qa.size());
  for (size_t i = 0; i < qa.size(); ++i) {
    const float scaled = nc[qa[i]] * na[i / size_t(s.nested_blocksize)];  // rounded before the offset is added
    out[i] = scaled + s.offset;
  }
  return Tensor::from_vector(out, {int64_t(out.size())}, DType::f32, Device::cpu()).to(s.absmax.device());
}

Tensor dequantize_4bit(const QuantizedTensor& q, std::optional<DType> dtype) {
  validate_4bit(q, "dequantize_4bit");
  const DType dt = dtype.value_or(q.state.dtype);
  GLINT_CHECK(is_floating(dt), "dequantize_4bit", "output dtype must be f32, f16 or bf16, got ", dtype_name(dt));
  Tensor out = Tensor::empty(q.state.shape, dt, q.device());
  if (out.numel() > 0) dequantize_4bit_kernel(q.device(), q, out);
  return out;
}

namespace {

Tensor linear_4bit_forward(const Tensor& x, const QuantizedTensor& w, const Tensor& bias) {
  validate_4bit(w, "linear_4bit");
  GLINT_CHECK(x.defined() && is_floating(x.dtype()), "linear_4bit", "x must be f32, f16 or bf16");
  GLINT_CHECK(x.device() == w.device(), "linear_4bit", "x on ", x.device().str(), ", weight on ", w.device().str());
  GLINT_CHECK(w.shape().size() == 2, "linear_4bit", "weight must be 2-D (out, in), got ", shape_str(w.shape()));
  GLINT_CHECK(x.ndim() >= 1, "linear_4bit", "x must have at least 1 dimension, got a 0-d tensor");
  const int64_t out_f = w.shape()[0], in_f = w.shape()[1];
  GLINT_CHECK(x.dim(-1) == in_f, "linear_4bit", "x ", shape_str(x.shape()), " has ", x.dim(-1), " features but weight ",
              shape_str(w.shape()), " takes ", in_f);
  if (bias.defined()) {
    GLINT_CHECK(bias.dtype() == x.dtype() && bias.device() == x.device(), "linear_4bit",
                "bias must have x's dtype and device");
    GLINT_CHECK(bias.ndim() == 1 && bias.dim(0) == out_f, "linear_4bit", "bias ", shape_str(bias.shape()),
                " does not match weight ", shape_str(w.shape()), ": expected (", out_f, ")");
  }
  Shape result(x.shape().begin(), x.shape().end() - 1);
  result.push_back(out_f);
  const int64_t m = x.numel() / std::max<int64_t>(in_f, 1);
  if (numel_of(result) == 0) return Tensor::empty(result, x.dtype(), x.device());
  if (in_f == 0) return bias.defined() ? bias.expand(result).contiguous() : zeros(result, x.dtype(), x.device());
  Tensor y = Tensor::empty({m, out_f}, x.dtype(), x.device());
  linear_4bit_kernel(x.device(), x.contiguous().reshape({m, in_f}), w, bias.defined() ? bias.contiguous() : bias, y);
  return y.reshape(result);
}

}  // namespace

Tensor linear_4bit(const Tensor& x, const QuantizedTensor& w, const Tensor& bias) {
  if (!autograd::needs_grad({x, bias})) return linear_4bit_forward(x, w, bias);
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    out = linear_4bit_forward(x, w, bias);
  }
  const bool need_x = x.requires_grad(), need_b = bias.requires_grad();
  // The weight is frozen: the graph keeps only its (shared, already resident) packed tensors.
  autograd::record("linear_4bit", out, {x, bias}, [w, need_x, need_b](const Tensor& g) {
    autograd::Grads grads(2);
    if (need_x) grads[0] = linear_4bit_grad_input(g, w);
    if (need_b) grads[1] = sum(g.reshape({-1, w.shape()[0]}), 0);
    return grads;
  });
  return out;
}

Tensor linear_4bit_grad_input(const Tensor& g, const QuantizedTensor& w) {
  validate_4bit(w, "linear_4bit_grad_input");
  GLINT_CHECK(g.defined() && is_floating(g.dtype()), "linear_4bit_grad_input", "grad_y must be f32, f16 or bf16");
  GLINT_CHECK(g.device() == w.device(), "linear_4bit_grad_input", "grad_y on ", g.device().str(), ", weight on ",
              w.device().str());
  GLINT_CHECK(w.shape().size() == 2, "linear_4bit_grad_input", "weight must be 2-D (out, in), got ",
              shape_str(w.shape()));
  GLINT_CHECK(g.ndim() >= 1, "linear_4bit_grad_input", "grad_y must have at least 1 dimension");
  const int64_t out_f = w.shape()[0], in_f = w.shape()[1];
  GLINT_CHECK(g.dim(-1) == out_f, "linear_4bit_grad_input", "grad_y ", shape_str(g.shape()), " has ", g.dim(-1),
              " features but weight ", shape_str(w.shape()), " gives ", out_f);
  Shape result(g.shape().begin(), g.shape().end() - 1);
  result.push_back(in_f);
  if (numel_of(result) == 0) return Tensor::empty(result, g.dtype(), g.device());
  if (out_f == 0) return zeros(result, g.dtype(), g.device());
  const int64_t m = g.numel() / out_f;
  Tensor gx = Tensor::empty({m, in_f}, g.dtype(), g.device());
  linear_4bit_grad_input_kernel(g.device(), g.contiguous().reshape({m, out_f}), w, gx);
  return gx.reshape(result);
}

}  // namespace glint
