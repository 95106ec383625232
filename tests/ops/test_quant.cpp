// 4-bit quantisation (runtime/ops/quant.h, runtime/io/bnb_4bit.h) against bitsandbytes' own output
// (tests/data/nf4, made by tools/make_nf4_fixtures.py): quantisation bit for bit, dequantisation bit for bit on
// every device, linear_4bit on every device against dequantise-then-multiply in double, and transformers'
// checkpoint keys both ways.
//
// linear_4bit's bound: the reference multiplies the dequantised f32 weight (each value code * absmax, rounded once)
// by x in double. The kernels accumulate in f32 and may scale a block's sum instead of each weight, which adds at
// most one rounding per term; so |got - want| <= (K + 2) * 2^-24 * sum |x w| plus the output dtype's rounding,
// the matmul test's bound with two more terms.
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/io/bnb_4bit.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/safetensors.h"
#include "runtime/ops/quant.h"
#include "tests/harness.h"
#include "tests/io/io_test_util.h"

namespace glint::test {
namespace {

std::filesystem::path nf4_dir() { return io_data_dir() / "nf4"; }

const io::SafetensorsFile& fixtures() {
  static const std::shared_ptr<io::SafetensorsFile> f =
      io::SafetensorsFile::open((nf4_dir() / "quant.safetensors").string());
  return *f;
}

nlohmann::json versions() {
  std::ifstream in(nf4_dir() / "versions.json");
  return nlohmann::json::parse(in);
}

template <class T>
std::vector<T> values(const Tensor& t) {
  return t.to(Device::cpu()).contiguous().to_vector<T>();
}

// Raw bits of a float tensor, for exact comparison (f16 / bf16 as their 16-bit patterns).
std::vector<uint32_t> bits(const Tensor& t) {
  const Tensor c = t.to(Device::cpu()).contiguous();
  std::vector<uint32_t> out(size_t(c.numel()));
  if (dtype_size(c.dtype()) == 4) {
    std::memcpy(out.data(), c.data<std::byte>(), out.size() * 4);
  } else {
    std::vector<uint16_t> h(out.size());
    std::memcpy(h.data(), c.data<std::byte>(), h.size() * 2);
    for (size_t i = 0; i < h.size(); ++i) out[i] = h[i];
  }
  return out;
}

// Equal bit patterns, or the first element that differs.
template <class T>
::testing::AssertionResult same(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << got.size() << " values, want " << want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i])
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << uint64_t(got[i]) << ", want " << uint64_t(want[i]);
  return ::testing::AssertionSuccess();
}

struct Case {
  std::string weight, name;
  Quant4Type type;
  bool dq;
  int64_t blocksize;
};

// Every (weight, case) pair the fixture script wrote.
std::vector<Case> cases() {
  std::vector<Case> out;
  const nlohmann::json v = versions();
  for (const auto& [w, _] : v["weights"].items())
    for (const std::string c : v["cases"]) {
      if (!fixtures().contains(w + "." + c + ".packed")) continue;
      const size_t b = c.find("_b");
      out.push_back({w, c, parse_quant4(c.substr(0, 3)), c.find("_dq") != std::string::npos,
                     b == std::string::npos ? 64 : std::stoll(c.substr(b + 2))});
    }
  return out;
}

Tensor fixture(const std::string& key) { return fixtures().tensor(key); }

// bitsandbytes' quantisation of a case, as the fixture holds it.
QuantizedTensor from_fixture(const Case& c) {
  const std::string k = c.weight + "." + c.name;
  QuantizedTensor q;
  q.packed = fixture(k + ".packed");
  QuantState& s = q.state;
  s.shape = fixture(c.weight).shape(), s.dtype = fixture(c.weight).dtype(), s.blocksize = c.blocksize;
  s.quant_type = c.type, s.code = fixture(k + ".quant_map"), s.absmax = fixture(k + ".absmax");
  if (c.dq) {
    s.nested_absmax = fixture(k + ".nested_absmax"), s.nested_code = fixture(k + ".nested_quant_map");
    s.offset = values<float>(fixture(k + ".offset"))[0];
  }
  return q;
}

TEST(QuantFixtures, QuantizeIsBitIdenticalToBitsandbytes) {
  const std::vector<Case> all = cases();
  ASSERT_GE(all.size(), 14u);
  for (const Case& c : all) {
    SCOPED_TRACE(c.weight + "." + c.name);
    const QuantizedTensor q = quantize_4bit(fixture(c.weight), c.type, c.blocksize, c.dq), want = from_fixture(c);
    EXPECT_EQ(q.packed.shape(), want.packed.shape());
    EXPECT_TRUE(same(values<uint8_t>(q.packed), values<uint8_t>(want.packed)));
    EXPECT_TRUE(same(bits(q.state.code), bits(want.state.code)));
    if (c.dq) {
      EXPECT_TRUE(same(values<uint8_t>(q.state.absmax), values<uint8_t>(want.state.absmax)));
      EXPECT_TRUE(same(bits(q.state.nested_absmax), bits(want.state.nested_absmax)));
      EXPECT_TRUE(same(bits(q.state.nested_code), bits(want.state.nested_code)));
      EXPECT_EQ(q.state.offset, want.state.offset);
    } else {
      EXPECT_TRUE(same(bits(q.state.absmax), bits(want.state.absmax)));
    }
  }
}

// tools/make_nf4_fixtures.py's spread_weight: h(i) * (row * 7919 % 9 + 1) / 1000 in f32, outliers times 16.
Tensor spread_weight(int64_t rows, int64_t cols) {
  std::vector<float> w(size_t(rows * cols));
  for (int64_t i = 0; i < rows * cols; ++i) {
    const float scale = float((i / cols) * 7919 % 9 + 1) * (i * 40503 % 997 == 0 ? 16.f : 1.f);
    w[size_t(i)] = float((i * 2654435761LL) % 1000 - 500) * scale / 1000.f;
  }
  return Tensor::from_vector(w, {rows, cols}, DType::f32, Device::cpu());
}

// Double quantisation of larger, odd-sized weights with a spread of magnitudes, as a real model's layers have
// them: many absmax lie near their mean, where bitsandbytes 0.50.2's table lookup of the 8-bit map picks other
// entries than the nearest, and "big" has over 32768 blocks, where the offset depends on torch's thread count.
TEST(QuantFixtures, NestedStatisticsOfLargeWeightsAreBitIdentical) {
  const auto file = io::SafetensorsFile::open((nf4_dir() / "nested.safetensors").string());
  const nlohmann::json v = versions();
  const int threads = v["torch_threads"].get<int>();
  ASSERT_EQ(v["nested_weights"].size(), 2u);
  for (const auto& [name, shape] : v["nested_weights"].items()) {
    SCOPED_TRACE(name);
    const QuantizedTensor q = quantize_4bit(spread_weight(shape[0].get<int64_t>(), shape[1].get<int64_t>()),
                                            Quant4Type::nf4, 64, true, threads);
    EXPECT_TRUE(same(values<uint8_t>(q.state.absmax), values<uint8_t>(file->tensor(name + ".absmax"))));
    EXPECT_TRUE(same(bits(q.state.nested_absmax), bits(file->tensor(name + ".nested_absmax"))));
    EXPECT_TRUE(same(bits(q.state.nested_code), bits(file->tensor(name + ".nested_quant_map"))));
    EXPECT_EQ(q.state.offset, values<float>(file->tensor(name + ".offset"))[0]);
  }
}

// The offset of a weight of 96,000 blocks (three chunks of torch's two-pass sum) for each thread count torch
// quantised with; the fixture holds at least two different ones, so the count matters.
TEST(QuantFixtures, OffsetFollowsTorchThreadCount) {
  const nlohmann::json v = versions();
  const Tensor w = spread_weight(v["offset_weight"][0].get<int64_t>(), v["offset_weight"][1].get<int64_t>());
  std::set<float> distinct;
  for (const auto& [threads, hex] : v["offset_by_threads"].items()) {
    SCOPED_TRACE(threads + " threads");
    const float want = float(std::strtod(hex.get<std::string>().c_str(), nullptr));
    distinct.insert(want);
    EXPECT_EQ(quantize_4bit(w, Quant4Type::nf4, 64, true, std::stoi(threads)).state.offset, want);
  }
  EXPECT_GE(distinct.size(), 2u);
}

// The double-quantisation offset of long weights (up to 32768 blocks: torch's mean on one thread of its cascade).
TEST(QuantFixtures, LongOffsetsMatchTorchMean) {
  const nlohmann::json offsets = versions()["long_offsets"];
  ASSERT_EQ(offsets.size(), 6u);
  for (const auto& [blocks_str, hex] : offsets.items()) {
    SCOPED_TRACE(blocks_str + " blocks");
    const int64_t blocks = std::stoll(blocks_str);
    std::vector<float> w(size_t(blocks * 64));
    for (int64_t i = 0; i < blocks * 64; ++i)
      w[size_t(i)] = float(((i * 2654435761LL) % 1000 - 500) * ((i / 64) % 7 + 1)) / 65536.f;
    const QuantizedTensor q =
        quantize_4bit(Tensor::from_vector(w, {blocks, 64}, DType::f32, Device::cpu()), Quant4Type::nf4, 64, true);
    EXPECT_EQ(q.state.offset, float(std::strtod(hex.get<std::string>().c_str(), nullptr)));
  }
}

TEST(QuantFixtures, DequantizeIsBitIdenticalOnEveryDevice) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.weight + "." + c.name);
    const Tensor want = fixture(c.weight + "." + c.name + ".dequant");
    const QuantizedTensor q = from_fixture(c);
    for (Device d : test_devices()) {
      const Tensor got = dequantize_4bit(q.to(d));
      EXPECT_EQ(got.dtype(), want.dtype());
      EXPECT_EQ(got.shape(), want.shape());
      EXPECT_TRUE(same(bits(got), bits(want))) << "on " << d.str();
    }
  }
}

// x @ dequantize(w)^T + bias in double, and per element the sum of the magnitudes of its terms.
struct Ref {
  std::vector<double> value, magnitude;
};
Ref reference(const Tensor& x, const QuantizedTensor& w, const Tensor& bias) {
  const int64_t n = w.shape()[0], k = w.shape()[1], m = x.numel() / k;
  const std::vector<float> xv = x.to(Device::cpu()).to_f32();
  const std::vector<float> wv = dequantize_4bit(w.to(Device::cpu()), DType::f32).to_f32();
  const std::vector<float> bv = bias.defined() ? bias.to(Device::cpu()).to_f32() : std::vector<float>(size_t(n));
  Ref r;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = bv[size_t(j)], mag = std::fabs(s);
      for (int64_t l = 0; l < k; ++l) {
        const double p = double(xv[size_t(i * k + l)]) * wv[size_t(j * k + l)];
        s += p, mag += std::fabs(p);
      }
      r.value.push_back(s), r.magnitude.push_back(mag);
    }
  return r;
}

double unit_roundoff(DType dt) { return dt == DType::f32 ? 0x1p-24 : dt == DType::f16 ? 0x1p-11 : 0x1p-8; }

::testing::AssertionResult matches(const Tensor& got, const Ref& want, int64_t k) {
  const std::vector<float> g = got.to(Device::cpu()).to_f32();
  if (g.size() != want.value.size())
    return ::testing::AssertionFailure() << g.size() << " elements, want " << want.value.size();
  const double u = unit_roundoff(got.dtype());
  for (size_t i = 0; i < g.size(); ++i) {
    const double acc = double(k + 3) * 0x1p-24 * want.magnitude[i];
    const double bound = acc + u * (std::fabs(want.value[i]) + acc) + 0x1p-14 * u;
    if (!(std::fabs(g[i] - want.value[i]) <= bound))
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << g[i] << ", want " << want.value[i] << " (bound " << bound << ")";
  }
  return ::testing::AssertionSuccess();
}

// linear_4bit on every device against the double reference, for a weight (n, k) quantised from f32.
void check_linear(const Shape& xshape, int64_t n, DType dt, Quant4Type type, bool dq, int64_t blocksize,
                  bool strided_x = false, bool with_bias = true) {
  const int64_t k = xshape.back();
  SCOPED_TRACE("x " + shape_str(xshape) + " w (" + std::to_string(n) + "," + std::to_string(k) + ") " +
               std::string(dtype_name(dt)) + " " + std::string(quant4_name(type)) + (dq ? " dq" : "") + " b" +
               std::to_string(blocksize) + (strided_x ? " strided" : ""));
  const QuantizedTensor w = quantize_4bit(rand({n, k}, DType::f32, Device::cpu(), 7), type, blocksize, dq);
  const Tensor x = strided_x ? rand_strided(xshape, dt, Device::cpu(), 3) : rand(xshape, dt, Device::cpu(), 3);
  const Tensor bias = with_bias ? rand({n}, dt, Device::cpu(), 5) : Tensor();
  const Ref want = reference(x, w, bias);
  for (Device d : test_devices()) {
    const Tensor y = linear_4bit(x.to(d), w.to(d), with_bias ? bias.to(d) : Tensor());
    Shape ys = xshape;
    ys.back() = n;
    EXPECT_EQ(y.shape(), ys);
    EXPECT_EQ(y.dtype(), dt);
    EXPECT_TRUE(matches(y, want, k)) << "on " << d.str();
  }
}

TEST(QuantLinear, MatrixVectorRows) {  // the decode path: few rows
  for (int64_t m : {1, 2, 4, 7})
    for (const auto& [n, k] : std::vector<std::pair<int64_t, int64_t>>{{33, 64}, {17, 70}, {65, 129}, {5, 1}, {8, 256}})
      check_linear({m, k}, n, DType::f32, Quant4Type::nf4, m % 2 == 0, 64);
}

TEST(QuantLinear, TiledRows) {  // the GEMM path: dequantised tiles
  for (const auto& [m, n, k] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {9, 33, 64}, {17, 65, 70}, {70, 40, 129}, {33, 7, 33}, {12, 96, 256}})
    check_linear({m, k}, n, DType::f32, Quant4Type::nf4, m % 2 == 1, 64);
}

TEST(QuantLinear, DtypesTypesBlocksizes) {
  for (DType dt : {DType::f32, DType::f16, DType::bf16})
    for (Quant4Type t : {Quant4Type::nf4, Quant4Type::fp4}) {
      check_linear({3, 96}, 19, dt, t, true, 32);
      check_linear({20, 96}, 19, dt, t, false, 128);
    }
}

TEST(QuantLinear, BatchedStridedNoBias) {
  check_linear({2, 3, 40}, 24, DType::f32, Quant4Type::nf4, true, 64, true, false);
  check_linear({2, 9, 40}, 24, DType::f16, Quant4Type::fp4, false, 64, true, true);
  check_linear({40}, 11, DType::f32, Quant4Type::nf4, false, 64, false, true);  // a 1-D x
}

// g @ dequantize(w) in double (linear_4bit's input gradient), with the magnitudes of its terms.
Ref reference_grad_input(const Tensor& g, const QuantizedTensor& w) {
  const int64_t n = w.shape()[0], k = w.shape()[1], m = g.numel() / n;
  const std::vector<float> gv = g.to(Device::cpu()).to_f32();
  const std::vector<float> wv = dequantize_4bit(w.to(Device::cpu()), DType::f32).to_f32();
  Ref r;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t l = 0; l < k; ++l) {
      double s = 0, mag = 0;
      for (int64_t j = 0; j < n; ++j) {
        const double p = double(gv[size_t(i * n + j)]) * wv[size_t(j * k + l)];
        s += p, mag += std::fabs(p);
      }
      r.value.push_back(s), r.magnitude.push_back(mag);
    }
  return r;
}

// linear_4bit's backward on every device: x.grad = g @ W against the double reference, bias.grad = g summed
// over rows; the weight stays frozen.
void check_backward(const Shape& xshape, int64_t n, DType dt, Quant4Type type, bool dq, int64_t blocksize) {
  const int64_t k = xshape.back();
  SCOPED_TRACE("x " + shape_str(xshape) + " n " + std::to_string(n) + " " + std::string(dtype_name(dt)) + " " +
               std::string(quant4_name(type)) + (dq ? " dq" : "") + " b" + std::to_string(blocksize));
  const QuantizedTensor w = quantize_4bit(rand({n, k}, DType::f32, Device::cpu(), 7), type, blocksize, dq);
  Shape gshape = xshape;
  gshape.back() = n;
  const Tensor x = rand(xshape, dt, Device::cpu(), 3), bias = rand({n}, dt, Device::cpu(), 5);
  const Tensor g = rand(gshape, dt, Device::cpu(), 11);
  const Ref want = reference_grad_input(g, w);
  const std::vector<float> gv = g.to_f32();
  for (Device d : test_devices()) {
    EXPECT_TRUE(matches(linear_4bit_grad_input(g.to(d), w.to(d)), want, n)) << "direct on " << d.str();
    Tensor xd = x.to(d), bd = bias.to(d);
    xd.requires_grad_(), bd.requires_grad_();
    linear_4bit(xd, w.to(d), bd).backward(g.to(d));
    ASSERT_TRUE(xd.grad().defined() && bd.grad().defined()) << "on " << d.str();
    EXPECT_EQ(xd.grad().shape(), xshape);
    EXPECT_TRUE(matches(xd.grad(), want, n)) << "x.grad on " << d.str();
    const std::vector<float> gb = bd.grad().to(Device::cpu()).to_f32();
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (size_t i = size_t(j); i < gv.size(); i += size_t(n)) s += gv[i];
      EXPECT_NEAR(gb[size_t(j)], s, 1e-5 * double(gv.size()) + std::fabs(s) * unit_roundoff(dt) * 4)
          << "bias.grad " << j << " on " << d.str();
    }
  }
}

TEST(QuantLinear, BackwardThroughFrozenWeight) {
  for (const auto& [m, n, k] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 33, 64}, {9, 17, 70}, {70, 40, 129}, {5, 96, 33}})
    check_backward({m, k}, n, DType::f32, Quant4Type::nf4, m % 2 == 1, 64);
  check_backward({3, 4100}, 300, DType::f32, Quant4Type::nf4, true, 64);  // CPU: several panels of weight rows
  check_backward({2, 3, 96}, 19, DType::f16, Quant4Type::fp4, false, 32);
  check_backward({20, 96}, 19, DType::bf16, Quant4Type::nf4, true, 128);
}

TEST(QuantErrors, GradInputBadInput) {
  const QuantizedTensor q = quantize_4bit(rand({8, 64}), Quant4Type::nf4);
  EXPECT_GLINT_ERROR(linear_4bit_grad_input(rand({2, 7}), q), "[linear_4bit_grad_input] grad_y (2,7) has 7 features");
  EXPECT_GLINT_ERROR(linear_4bit_grad_input(Tensor(), q), "[linear_4bit_grad_input] grad_y must be f32");
}

TEST(QuantLinear, BytesPerParameter) {
  const QuantizedTensor q = quantize_4bit(rand({1024, 1024}), Quant4Type::nf4, 64, true);
  EXPECT_LE(double(q.nbytes()) / double(1024 * 1024), 0.52);
  EXPECT_GT(double(quantize_4bit(rand({1024, 1024})).nbytes()) / double(1024 * 1024), 0.56);  // f32 absmax: 0.5625
}

TEST(QuantErrors, BadInput) {
  const Tensor w = rand({8, 64});
  EXPECT_GLINT_ERROR(quantize_4bit(w, Quant4Type::nf4, 48), "[quantize_4bit] invalid blocksize 48");
  EXPECT_GLINT_ERROR(quantize_4bit(w, Quant4Type::nf4, 16), "[quantize_4bit] invalid blocksize 16");
  EXPECT_GLINT_ERROR(quantize_4bit(zeros({4}, DType::i32)), "[quantize_4bit] input must be f32, f16 or bf16");
  EXPECT_GLINT_ERROR(quantize_4bit(zeros({0, 4})), "[quantize_4bit] cannot quantise an empty tensor");
  EXPECT_GLINT_ERROR(parse_quant4("int4"), "unknown 4-bit type 'int4'");
  const QuantizedTensor q = quantize_4bit(w);
  EXPECT_GLINT_ERROR(linear_4bit(rand({2, 63}), q), "[linear_4bit] x (2,63) has 63 features");
  EXPECT_GLINT_ERROR(linear_4bit(rand({2, 64}), q, rand({7})), "[linear_4bit] bias (7) does not match");
  EXPECT_GLINT_ERROR(linear_4bit(rand({2, 64}, DType::f16), q, rand({8})), "[linear_4bit] bias must have x's dtype");
  QuantizedTensor bad = q;
  bad.state.absmax = bad.state.absmax.slice(0, 0, 3);
  EXPECT_GLINT_ERROR(dequantize_4bit(bad), "[dequantize_4bit] absmax has 3 values, (8,64) in blocks of 64 needs 8");
  bad = q;
  bad.state.shape = {8, 66};
  EXPECT_GLINT_ERROR(dequantize_4bit(bad), "[dequantize_4bit] packed data has 256 bytes, (8,66) needs 264");
  bad = q;
  bad.state.blocksize = 100;
  EXPECT_GLINT_ERROR(linear_4bit(rand({1, 64}), bad), "[linear_4bit] invalid blocksize 100");
  const QuantizedTensor d = quantize_4bit(w, Quant4Type::fp4, 64, true);
  bad = d;
  bad.state.nested_absmax = zeros({2});
  EXPECT_GLINT_ERROR(dequantize_4bit(bad), "[dequantize_4bit] nested_absmax must be 1 f32 values, got 2");
  EXPECT_GLINT_ERROR(dequantize_4bit(q, DType::i32), "output dtype must be f32, f16 or bf16");
}

// The Linear4bit layers bitsandbytes saved: loaded, they equal glint's own quantisation of the same float weight,
// compute the layer's output, and write back the same keys and bytes.
TEST(QuantCheckpoint, LoadsAndWritesTransformersKeys) {
  const std::string path = (nf4_dir() / "linear_bnb.safetensors").string();
  const std::shared_ptr<io::Checkpoint> ckpt = io::Checkpoint::open(path);
  const std::shared_ptr<io::SafetensorsFile> file = io::SafetensorsFile::open(path);
  const Tensor x = ckpt->tensor("x");
  for (const auto& [p, type, dq] : {std::tuple{"q", Quant4Type::nf4, true}, std::tuple{"f", Quant4Type::fp4, false}}) {
    SCOPED_TRACE(p);
    const std::string w = std::string(p) + ".weight";
    ASSERT_TRUE(io::is_bnb_4bit(*ckpt, w));
    EXPECT_FALSE(io::is_bnb_4bit(*ckpt, std::string(p) + ".bias"));
    const QuantizedTensor loaded = io::load_bnb_4bit(*ckpt, w);
    EXPECT_EQ(loaded.state.quant_type, type);
    EXPECT_EQ(loaded.state.nested(), dq);
    EXPECT_EQ(loaded.shape(), (Shape{40, 96}));
    const QuantizedTensor mine = quantize_4bit(ckpt->tensor(std::string(p) + "_ref.weight"), type, 64, dq);
    EXPECT_TRUE(same(values<uint8_t>(loaded.packed), values<uint8_t>(mine.packed)));
    EXPECT_TRUE(same(bits(absmax_f32(loaded.state)), bits(absmax_f32(mine.state))));
    for (Device d : test_devices()) {
      const Tensor y = linear_4bit(x.to(d), loaded.to(d), ckpt->tensor(std::string(p) + ".bias", d));
      EXPECT_CLOSE(y, ckpt->tensor(std::string(p) + ".y"), Tol{1e-5, 1e-5}) << "on " << d.str();
    }
    for (const auto& [key, t] : io::bnb_4bit_tensors(w, mine)) {
      SCOPED_TRACE(key);
      ASSERT_TRUE(file->contains(key));
      const std::span<const std::byte> want = file->raw(key);
      const Tensor c = t.contiguous();
      ASSERT_EQ(c.nbytes(), want.size());
      EXPECT_EQ(std::memcmp(c.data<std::byte>(), want.data(), want.size()), 0);
    }
  }
}

// A model transformers quantised with BitsAndBytesConfig(load_in_4bit, nf4, double quant) and saved: every 4-bit
// weight loads, equals glint's quantisation of the float weight, and writes back to the same bytes.
TEST(QuantCheckpoint, TransformersTinyLlama) {
  const std::shared_ptr<io::Checkpoint> ckpt = io::Checkpoint::open((nf4_dir() / "tiny_llama_bnb4").string());
  const std::shared_ptr<io::SafetensorsFile> ref =
      io::SafetensorsFile::open((nf4_dir() / "tiny_llama_ref.safetensors").string());
  const std::vector<std::string> names = ref->names();
  ASSERT_EQ(names.size(), 7u);  // q, k, v, o, gate, up, down
  for (const std::string& w : names) {
    SCOPED_TRACE(w);
    ASSERT_TRUE(io::is_bnb_4bit(*ckpt, w));
    const QuantizedTensor loaded = io::load_bnb_4bit(*ckpt, w);
    const QuantizedTensor mine = quantize_4bit(ref->tensor(w), Quant4Type::nf4, 64, true);
    EXPECT_EQ(loaded.shape(), ref->tensor(w).shape());
    for (const auto& [key, t] : io::bnb_4bit_tensors(w, mine)) {
      SCOPED_TRACE(key);
      const std::span<const std::byte> want = ckpt->file_of(key).raw(key);
      const Tensor c = t.contiguous();
      ASSERT_EQ(c.nbytes(), want.size());
      EXPECT_EQ(std::memcmp(c.data<std::byte>(), want.data(), want.size()), 0);
    }
    for (Device d : test_devices())
      EXPECT_TRUE(same(bits(dequantize_4bit(loaded.to(d))), bits(dequantize_4bit(mine)))) << "on " << d.str();
  }
  EXPECT_FALSE(io::is_bnb_4bit(*ckpt, "model.embed_tokens.weight"));
}

TEST(QuantCheckpoint, RoundTripsThroughSafetensors) {
  TempDir dir;
  const QuantizedTensor q = quantize_4bit(rand({33, 70}, DType::bf16), Quant4Type::nf4, 64, true);
  io::save_safetensors(dir / "m.safetensors", io::bnb_4bit_tensors("layer.weight", q));
  const QuantizedTensor back = io::load_bnb_4bit(*io::Checkpoint::open(dir / "m.safetensors"), "layer.weight");
  EXPECT_EQ(back.state.dtype, DType::bf16);
  EXPECT_EQ(back.state.offset, q.state.offset);
  EXPECT_TRUE(same(bits(dequantize_4bit(back)), bits(dequantize_4bit(q))));
}

TEST(QuantCheckpoint, MissingKeysAreNamed) {
  TempDir dir;
  const QuantizedTensor q = quantize_4bit(rand({4, 64}), Quant4Type::fp4, 64, true);
  for (const char* drop : {".absmax", ".nested_absmax", ".quant_map"}) {
    std::vector<std::pair<std::string, Tensor>> t = io::bnb_4bit_tensors("w", q);
    std::erase_if(t, [&](const auto& kv) { return kv.first == std::string("w") + drop; });
    io::save_safetensors(dir / "m.safetensors", t);
    EXPECT_GLINT_ERROR(io::load_bnb_4bit(*io::Checkpoint::open(dir / "m.safetensors"), "w"),
                       std::string("[bnb_4bit] missing tensor 'w") + drop + "'");
  }
  EXPECT_GLINT_ERROR(io::load_bnb_4bit(*io::Checkpoint::open(dir / "m.safetensors"), "v"),
                     "[bnb_4bit] missing tensor 'v.quant_state.bitsandbytes__nf4'");
  std::vector<std::pair<std::string, Tensor>> t = io::bnb_4bit_tensors("w", q);
  t.back().second = t.back().second.slice(0, 0, 10);  // truncated JSON
  io::save_safetensors(dir / "m.safetensors", t);
  EXPECT_GLINT_ERROR(io::load_bnb_4bit(*io::Checkpoint::open(dir / "m.safetensors"), "w"), "invalid JSON");
}

}  // namespace
}  // namespace glint::test
