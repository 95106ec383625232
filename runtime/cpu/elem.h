// CPU element types and typed iteration: f16 / bf16 are stored as bits and computed in float; integers through
// int64. visit_dtype runs a templated body once per dtype so inner loops have no per-element switch.
#pragma once
#include <array>
#include <cstdint>

#include "runtime/core/dtype.h"
#include "runtime/core/error.h"
#include "runtime/core/tensor.h"

namespace glint::cpu {

struct f16_t {
  uint16_t bits;
};
struct bf16_t {
  uint16_t bits;
};

template <class T>
inline constexpr bool is_float_elem = std::is_same_v<T, float> || std::is_same_v<T, f16_t> || std::is_same_v<T, bf16_t>;

template <class T>
inline float to_float(T v) {
  if constexpr (std::is_same_v<T, f16_t>) return f16_to_f32(v.bits);
  else if constexpr (std::is_same_v<T, bf16_t>) return bf16_to_f32(v.bits);
  else return static_cast<float>(v);
}
template <class T>
inline T from_float(float f) {
  if constexpr (std::is_same_v<T, f16_t>) return {f32_to_f16(f)};
  else if constexpr (std::is_same_v<T, bf16_t>) return {f32_to_bf16(f)};
  else return static_cast<T>(f);
}
template <class T>
inline int64_t to_i64(T v) {
  if constexpr (is_float_elem<T>) return static_cast<int64_t>(to_float(v));
  else return static_cast<int64_t>(v);
}
template <class T>
inline T from_i64(int64_t v) {
  if constexpr (is_float_elem<T>) return from_float<T>(static_cast<float>(v));
  else return static_cast<T>(v);
}

// Calls f.template operator()<T>() with T the element type of dt.
template <class F>
decltype(auto) visit_dtype(DType dt, F&& f) {
  switch (dt) {
    case DType::f32: return f.template operator()<float>();
    case DType::f16: return f.template operator()<f16_t>();
    case DType::bf16: return f.template operator()<bf16_t>();
    case DType::i32: return f.template operator()<int32_t>();
    case DType::i64: return f.template operator()<int64_t>();
    case DType::u8: return f.template operator()<uint8_t>();
    case DType::i8: return f.template operator()<int8_t>();
  }
  fail("cpu", "unknown dtype");
}

template <class T>
T* ptr(const Tensor& t) {
  return reinterpret_cast<T*>(t.data<std::byte>());
}

// Merges adjacent dims that are contiguous for every operand; returns the reduced shape and strides.
template <size_t N>
void coalesce(Shape& shape, std::array<Shape, N>& strides) {
  Shape s;
  std::array<Shape, N> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !s.empty();
    for (size_t k = 0; k < N && merge; ++k) merge = st[k].back() == strides[k][d] * shape[d];
    if (merge) {
      s.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) st[k].back() = strides[k][d];
    } else {
      s.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) st[k].push_back(strides[k][d]);
    }
  }
  if (s.empty()) {
    s.push_back(1);
    for (size_t k = 0; k < N; ++k) st[k].push_back(0);
  }
  shape = s;
  strides = st;
}

// Calls f(offsets) for every element of `shape` (row-major), with offsets[k] the element offset of operand k.
// Parallel over chunks of the flat index; f must be safe to call concurrently for distinct elements.
template <size_t N, class F>
void for_each_strided(Shape shape, std::array<Shape, N> strides, F&& f) {
  coalesce(shape, strides);
  const int nd = int(shape.size());
  const int64_t inner = shape[nd - 1];
  int64_t outer = 1;
  for (int d = 0; d + 1 < nd; ++d) outer *= shape[d];
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][nd - 1];
#pragma omp parallel for schedule(static) if (outer * inner > 32768)
  for (int64_t o = 0; o < outer; ++o) {
    std::array<int64_t, N> off{};
    int64_t rem = o;
    for (int d = nd - 2; d >= 0; --d) {
      int64_t i = rem % shape[d];
      rem /= shape[d];
      for (size_t k = 0; k < N; ++k) off[k] += i * strides[k][d];
    }
    for (int64_t i = 0; i < inner; ++i) {
      f(off);
      for (size_t k = 0; k < N; ++k) off[k] += inner_stride[k];
    }
  }
}

}  // namespace glint::cpu
