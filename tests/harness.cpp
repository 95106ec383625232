#include "tests/harness.h"

#include <cmath>
#include <random>
#include <sstream>

#include "runtime/core/error.h"
#include "runtime/vulkan/device.h"

namespace glint::test {

std::vector<Device> vulkan_devices() {
  std::vector<Device> out;
  for (int i = 0; i < vk::device_count(); ++i) out.push_back(Device::vulkan(i));
  return out;
}

const std::vector<Device>& test_devices() {
  static const std::vector<Device> devs = [] {
    std::vector<Device> d{Device::cpu()};
    for (Device v : vulkan_devices()) d.push_back(v);
    return d;
  }();
  return devs;
}

Tensor rand(const Shape& shape, DType dtype, Device device, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(numel_of(shape)));
  for (auto& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape, DType::f32, Device::cpu()).to(dtype).to(device);
}

Tensor randint(const Shape& shape, int64_t lo, int64_t hi, DType dtype, Device device, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> dist(lo, hi - 1);
  std::vector<int64_t> v(static_cast<size_t>(numel_of(shape)));
  for (auto& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape, DType::i64, Device::cpu()).to(dtype).to(device);
}

Tensor rand_strided(const Shape& shape, DType dtype, Device device, uint64_t seed, float lo, float hi) {
  if (shape.empty()) return rand(shape, dtype, device, seed, lo, hi);
  Shape big = shape;
  if (big.size() >= 2) std::swap(big[big.size() - 1], big[big.size() - 2]);
  big.back() += 3;  // padding makes rows non-adjacent
  Tensor base = rand(big, dtype, device, seed, lo, hi).slice(-1, 1, 1 + (big.size() >= 2 ? shape[shape.size() - 2] : shape.back()));
  if (shape.size() >= 2) base = base.transpose(-1, -2);
  return base;
}

Tol tol(DType dtype) {
  switch (dtype) {
    case DType::f32: return {1e-5, 1e-5};
    case DType::f16: return {2e-3, 2e-3};
    case DType::bf16: return {1.6e-2, 1.6e-2};
    default: return {0, 0};
  }
}

::testing::AssertionResult all_close(const Tensor& got, const std::vector<float>& want, Tol t) {
  std::vector<float> g = got.to_f32();
  if (g.size() != want.size())
    return ::testing::AssertionFailure() << "size " << g.size() << " vs expected " << want.size();
  double worst = -1;
  size_t worst_i = 0, bad = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    double a = g[i], b = want[i];
    if (std::isnan(a) && std::isnan(b)) continue;
    if (std::isinf(b) && a == b) continue;
    double err = std::fabs(a - b), bound = t.atol + t.rtol * std::fabs(b);
    if (!(err <= bound)) {
      ++bad;
      double excess = std::isnan(err) ? 1e30 : err / (bound > 0 ? bound : 1e-30);
      if (excess > worst) worst = excess, worst_i = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << g.size() << " elements of " << got.str()
                                       << " out of bounds (atol " << t.atol << ", rtol " << t.rtol << "); worst at flat index "
                                       << worst_i << ": got " << g[worst_i] << ", want " << want[worst_i];
}

::testing::AssertionResult all_close(const Tensor& got, const Tensor& want, Tol t) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs expected " << shape_str(want.shape());
  return all_close(got, want.to_f32(), t);
}

::testing::AssertionResult throws_with(const std::function<void()>& body, const std::string& needle) {
  try {
    body();
  } catch (const Error& e) {
    if (std::string(e.what()).find(needle) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "error '" << e.what() << "' does not contain '" << needle << "'";
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-glint exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw (expected an error containing '" << needle << "')";
}

}  // namespace glint::test
