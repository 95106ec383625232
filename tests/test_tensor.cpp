// Tensor handles, views and copies (contiguous, strided, cross-dtype, cross-device) on every backend.
#include <cmath>
#include <numeric>

#include "runtime/core/error.h"
#include "runtime/core/host_allocator.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

std::vector<float> iota_f(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0.f);
  return v;
}

TEST(Tensor, ViewsShareStorageAndIndexCorrectly) {
  for (Device d : test_devices()) {
    Tensor t = Tensor::from_vector(iota_f(24), {2, 3, 4}, DType::f32, d);
    Tensor tr = t.transpose(0, 2);  // (4,3,2)
    EXPECT_EQ(tr.shape(), (Shape{4, 3, 2}));
    EXPECT_EQ(tr.storage_ptr(), t.storage_ptr());
    EXPECT_FALSE(tr.is_contiguous());
    std::vector<float> want;
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 3; ++j)
        for (int i = 0; i < 2; ++i) want.push_back(float(i * 12 + j * 4 + k));
    EXPECT_CLOSE(tr, want, tol(DType::f32));
    Tensor s = t.slice(2, 1, 4, 2).select(0, 1);  // t[1, :, 1:4:2]
    EXPECT_CLOSE(s, (std::vector<float>{13, 15, 17, 19, 21, 23}), tol(DType::f32));
    Tensor p = t.permute({1, 2, 0}).contiguous();
    EXPECT_TRUE(p.is_contiguous());
    EXPECT_EQ(p.shape(), (Shape{3, 4, 2}));
    EXPECT_EQ(p.to_f32()[1], 12.f);
    Tensor e = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3, 1}, DType::f32, d).expand({2, 3, 4});
    EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
    EXPECT_EQ(e.to_f32()[4], 2.f);
  }
}

TEST(Tensor, ReshapeIsAViewWhenStridesAllow) {
  for (Device d : test_devices()) {
    Tensor t = Tensor::from_vector(iota_f(24), {2, 3, 4}, DType::f32, d);
    Tensor r = t.reshape({6, -1});
    EXPECT_EQ(r.shape(), (Shape{6, 4}));
    EXPECT_EQ(r.storage_ptr(), t.storage_ptr());
    Tensor tr = t.transpose(1, 2);  // (2,4,3): merging the last two needs a copy
    Tensor c = tr.reshape({2, 12});
    EXPECT_NE(c.storage_ptr(), t.storage_ptr());
    EXPECT_EQ(c.to_f32()[1], 4.f);
    Tensor m = t.transpose(0, 1).reshape({3, 2, 2, 2});  // splitting a dim of a permuted tensor stays a view
    EXPECT_EQ(m.storage_ptr(), t.storage_ptr());
    EXPECT_CLOSE(m, t.transpose(0, 1).contiguous().reshape({3, 2, 2, 2}), tol(DType::f32));
    EXPECT_GLINT_ERROR(t.reshape({5, -1}), "[reshape]");
    EXPECT_GLINT_ERROR(t.reshape({-1, -1}), "[reshape]");
  }
}

TEST(Tensor, CastsBetweenEveryDTypePairOnEveryDevice) {
  std::vector<float> vals = {0, 1, -2, 3.5f, 100, -7.25f, 42, 255};
  for (Device d : test_devices())
    for (DType from : kAllDTypes)
      for (DType to : kAllDTypes) {
        std::vector<float> src = vals;
        if (from == DType::u8 || to == DType::u8)
          for (auto& v : src) v = std::fabs(v);
        if (from == DType::i8 || to == DType::i8)
          for (auto& v : src) v = std::min(v, 127.f);
        Tensor t = Tensor::from_vector(src, {2, 4}, DType::f32, Device::cpu()).to(from);
        Tensor want = t.to(to).to(DType::f32);  // CPU reference
        Tensor got = t.to(d).transpose(0, 1).to(to).transpose(0, 1);
        EXPECT_EQ(got.dtype(), to);
        EXPECT_CLOSE(got, want, Tol{0, 0}) << dtype_name(from) << " -> " << dtype_name(to) << " on " << d.str();
      }
}

TEST(Tensor, Float16AndBFloat16RoundToNearestEven) {
  // 1 + 2^-11 is halfway between two f16 values: ties to even gives 1; 1 + 3*2^-11 rounds up.
  std::vector<float> v = {1.f + 0x1p-11f, 1.f + 3 * 0x1p-11f, 65504.f, 1e-7f, -0.f, 1.f + 0x1p-8f, 1.f + 3 * 0x1p-8f};
  for (Device d : test_devices()) {
    Tensor h = Tensor::from_vector(v, {7}, DType::f32, d).to(DType::f16);
    EXPECT_CLOSE(h, (std::vector<float>{1.f, 1.f + 0x1p-9f, 65504.f, 1.1920929e-7f, 0.f, 1.00390625f, 1.01171875f}),
                 Tol{0, 0});
    Tensor b = Tensor::from_vector(v, {7}, DType::f32, d).to(DType::bf16);
    EXPECT_CLOSE(b, (std::vector<float>{1.f, 1.f, 65536.f, 1e-7f, 0.f, 1.f, 1.015625f}), Tol{1e-9, 0});
  }
}

TEST(Tensor, CopyIntoStridedViewWritesOnlyTheView) {
  for (Device d : test_devices()) {
    Tensor dst = zeros({3, 5}, DType::f32, d);
    Tensor src = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3}, DType::f32, Device::cpu());
    dst.select(1, 2).copy_from(src);  // column 2, from another device
    std::vector<float> want(15, 0.f);
    want[2] = 1, want[7] = 2, want[12] = 3;
    EXPECT_CLOSE(dst, want, Tol{0, 0});
    EXPECT_GLINT_ERROR(dst.copy_from(src), "[copy]");
  }
}

TEST(Tensor, FullZerosArangeOnEveryDevice) {
  for (Device d : test_devices())
    for (DType t : kAllDTypes) {
      EXPECT_CLOSE(full({2, 3}, 7, t, d), std::vector<float>(6, 7.f), Tol{0, 0});
      EXPECT_CLOSE(arange(5, t, d), (std::vector<float>{0, 1, 2, 3, 4}), Tol{0, 0});
    }
  Tensor big = full({3}, 9007199254740993.0, DType::i64, Device::cpu());  // 2^53+1 survives as an exact integer
  EXPECT_EQ(big.to_vector<int64_t>()[0], 9007199254740992);  // double literal already rounds: checks no float path
}

TEST(Tensor, ZeroSizeAndScalarTensors) {
  for (Device d : test_devices()) {
    Tensor z = Tensor::empty({0, 4}, DType::f32, d);
    EXPECT_EQ(z.numel(), 0);
    EXPECT_EQ(z.to(Device::cpu()).shape(), (Shape{0, 4}));
    EXPECT_TRUE(z.transpose(0, 1).contiguous().to_f32().empty());
    Tensor s = full({}, 2.5, DType::f32, d);
    EXPECT_EQ(s.ndim(), 0);
    EXPECT_EQ(s.to_f32(), std::vector<float>{2.5f});
    EXPECT_EQ(s.unsqueeze(0).shape(), (Shape{1}));
  }
}

TEST(Tensor, BadArgumentsGiveOpErrors) {
  Tensor t = zeros({2, 3});
  EXPECT_GLINT_ERROR(t.transpose(0, 3), "[transpose]");
  EXPECT_GLINT_ERROR(t.permute({0, 0}), "[permute]");
  EXPECT_GLINT_ERROR(t.expand({4, 3, 4}), "[expand]");
  EXPECT_GLINT_ERROR(t.squeeze(0), "[squeeze]");
  EXPECT_GLINT_ERROR(t.select(1, 3), "[select]");
  EXPECT_GLINT_ERROR(Tensor::empty({1, 1, 1, 1, 1, 1, 1, 1, 1}), "at most 8");
  EXPECT_GLINT_ERROR(Device::parse("tpu:0"), "[device]");
  EXPECT_GLINT_ERROR(parse_dtype("f8"), "[dtype]");
  EXPECT_GLINT_ERROR(Tensor::from_vector(std::vector<float>{1, 2}, {3}, DType::f32), "[from_vector]");
}

}  // namespace
}  // namespace glint::test

namespace glint::test {
namespace {
TEST(HostAllocator, LargeCpuBuffersAreReusedAndBounded) {
  const void* first;
  {
    Tensor a = Tensor::empty({1 << 20}, DType::f32, Device::cpu());  // 4 MiB
    first = a.data<float>();
  }
  size_t cached = host_cached_bytes();
  EXPECT_GE(cached, size_t(4) << 20);
  Tensor b = Tensor::empty({1 << 20}, DType::f32, Device::cpu());
  EXPECT_EQ(b.data<float>(), first);  // the freed block came back
  EXPECT_EQ(host_cached_bytes(), cached - (size_t(4) << 20));
  Tensor small = Tensor::empty({10}, DType::f32, Device::cpu());  // below the cache threshold: plain malloc
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.data<float>()) % 64, 0u);
}

// Buffers of ever new sizes (batches of other lengths) do not pile up in the cache: live + cached memory stays
// within the peak of live memory.
TEST(HostAllocator, NewSizesDoNotGrowTheCache) {
  for (int64_t i = 0; i < 24; ++i) {
    Tensor t = Tensor::empty({(int64_t(1) << 18) * (4 + i) + 1}, DType::f32, Device::cpu());  // 4 MiB up, no repeats
    EXPECT_LE(host_live_bytes() + host_cached_bytes(), host_peak_live_bytes()) << "size " << i;
  }
  EXPECT_GE(host_cached_bytes(), size_t(27) << 20);  // the last one freed is kept for reuse
}
}  // namespace
}  // namespace glint::test
