// Reading the model fixtures of tools/make_model_fixtures_*.py: JSON files of nested lists and raw f32 .bin files.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint::test {

inline std::filesystem::path model_data_dir() {
  return std::filesystem::path(__FILE__).parent_path() / "../data/models";
}

inline nlohmann::json read_fixture(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// A (rows, cols) i64 CPU tensor from a JSON list of lists of integers.
inline Tensor int_matrix(const nlohmann::json& rows) {
  std::vector<int64_t> v;
  for (const auto& r : rows)
    for (const auto& x : r) v.push_back(x.get<int64_t>());
  return Tensor::from_vector(v, {int64_t(rows.size()), int64_t(rows[0].size())}, DType::i64, Device::cpu());
}

// A (rows, cols) i64 tensor on `device` from a JSON list of lists of integers.
inline Tensor ids_tensor(const nlohmann::json& rows, Device device) { return int_matrix(rows).to(device); }

// The little-endian f32 values of a raw .bin file.
inline std::vector<float> read_floats(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  EXPECT_TRUE(in.good()) << "cannot open " << file;
  std::vector<float> v(static_cast<size_t>(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

// max |got - want| relative to max |want| over a tensor: the "relative" of the parity criteria (gradients and weights
// of a training step against PyTorch).
inline double relative_error(const Tensor& got, const Tensor& want) {
  const std::vector<float> g = got.to_f32(), w = want.to_f32();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    diff = std::max(diff, double(std::fabs(g[i] - w[i])));
    scale = std::max(scale, double(std::fabs(w[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// Largest |a - b| over both vectors (which must have the same size).
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

}  // namespace glint::test
