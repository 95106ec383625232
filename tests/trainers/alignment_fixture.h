// What the alignment tests (DPO and the other preference losses, reward models, GRPO) share: the tiny Llama with
// every parameter trainable, the checks of a loss's metrics and of every parameter's gradient against a TRL fixture,
// and the scratch folders and metrics.jsonl of the trainer runs.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/auto.h"
#include "runtime/io/checkpoint.h"
#include "tests/models/json_fixture.h"
#include "trainers/loss_curve.h"

namespace glint::test {

// The tiny Llama on `device` with every parameter requiring a gradient, as the TRL fixtures trained it.
inline std::unique_ptr<CausalLM> load_trainable_llama(Device device) {
  ModelLoadOptions opts;
  opts.device = device;
  auto model = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), opts);
  for (const auto& [name, p] : model->parameters().entries()) Tensor(p).requires_grad_();
  return model;
}

// Every metric of the fixture's `want` is in `got` and within 1e-5 relative (absolute below 1).
inline void expect_metrics_match(const std::map<std::string, double>& got, const nlohmann::json& want) {
  for (const auto& [key, value] : want.items()) {
    ASSERT_TRUE(got.count(key)) << key;
    EXPECT_NEAR(got.at(key), value.get<double>(), 1e-5 * std::max(1.0, std::fabs(value.get<double>()))) << key;
  }
}

// Every parameter of `params` has a gradient within 1e-5 relative of the fixture's "grad.<name>", and the fixture
// holds those gradients and `other_tensors` more.
inline void expect_gradients_match(const nn::ParameterStore& params, const io::Checkpoint& expected,
                                   size_t other_tensors) {
  size_t checked = 0;
  for (const auto& [name, p] : params.entries()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    const Tensor want = expected.tensor("grad." + name);
    ASSERT_EQ(p.grad().shape(), want.shape()) << name;
    EXPECT_LE(relative_error(p.grad(), want), 1e-5) << name;
    ++checked;
  }
  EXPECT_EQ(checked + other_tensors, expected.names().size());
}

// A temporary folder of this process: test runs side by side must not share one.
inline std::filesystem::path scratch_dir(const std::string& name) {
  return std::filesystem::temp_directory_path() / (name + "_" + std::to_string(getpid()));
}

// The records of the metrics.jsonl a trainer run wrote into `dir`, in order.
inline std::vector<nlohmann::json> read_metrics(const std::filesystem::path& dir) {
  return train::read_metrics_jsonl((dir / "metrics.jsonl").string());
}

}  // namespace glint::test
