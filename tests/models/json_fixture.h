// Reading the model fixtures of tools/make_model_fixtures_gpt2_bert.py: expected.json files of nested lists.
#pragma once
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

}  // namespace glint::test
