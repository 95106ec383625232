// Shared test helpers: the devices to run on, random tensors (contiguous or not), and closeness checks with an
// explicit error bound per dtype.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint::test {

// The CPU first, then every Vulkan device this process can open (lavapipe in CI).
const std::vector<Device>& test_devices();
// Vulkan devices only (empty without a driver).
std::vector<Device> vulkan_devices();

// Uniform values in [lo, hi), deterministic in `seed`, created on the CPU in f32 and converted to dtype / moved.
Tensor rand(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu(), uint64_t seed = 1,
            float lo = -1.f, float hi = 1.f);
// Integers uniform in [lo, hi).
Tensor randint(const Shape& shape, int64_t lo, int64_t hi, DType dtype = DType::i64, Device device = Device::cpu(),
               uint64_t seed = 1);
// A non-contiguous view with the given logical shape and the same distribution: the data sits in a larger tensor
// (padded last dim) and, for ndim >= 2, the last two dims are transposed in memory.
Tensor rand_strided(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu(), uint64_t seed = 1,
                    float lo = -1.f, float hi = 1.f);

// Error bound for results of dtype: |got - want| <= atol + rtol * |want|.
struct Tol {
  double atol, rtol;
};
Tol tol(DType dtype);

// Same shape; every element within the bound (NaN matches NaN). Reports the worst element.
::testing::AssertionResult all_close(const Tensor& got, const Tensor& want, Tol t);
::testing::AssertionResult all_close(const Tensor& got, const std::vector<float>& want, Tol t);

// Runs `body` and checks it throws glint::Error whose message contains `needle` (e.g. "[matmul]").
::testing::AssertionResult throws_with(const std::function<void()>& body, const std::string& needle);

}  // namespace glint::test

#define EXPECT_CLOSE(...) EXPECT_TRUE(::glint::test::all_close(__VA_ARGS__))
#define EXPECT_GLINT_ERROR(stmt, needle) EXPECT_TRUE(::glint::test::throws_with([&] { stmt; }, needle))
