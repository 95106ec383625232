// One training step of tiny Llama-family models against PyTorch (tools/make_training_fixtures.py): the loss and every
// parameter's gradient and every parameter after one AdamW step, on the CPU and on every Vulkan device, with and
// without gradient checkpointing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "models/auto.h"
#include "runtime/io/checkpoint.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"
#include "trainers/optimizers.h"

namespace glint::test {
namespace {

std::filesystem::path training_dir() { return std::filesystem::path(__FILE__).parent_path() / "../data/training"; }


class TrainStep : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainStep, LossAndGradientsMatchPyTorch) {
  const std::string name = GetParam();
  const nlohmann::json fx = read_fixture(training_dir() / (name + "_step.json"));
  const auto expected = io::Checkpoint::open((training_dir() / (name + "_step.safetensors")).string());
  const Tensor ids = int_matrix(fx["input_ids"]), labels = int_matrix(fx["labels"]);
  for (const Device& device : test_devices()) {
    for (bool checkpointing : {false, true}) {
      SCOPED_TRACE(device.str() + (checkpointing ? " with checkpointing" : ""));
      ModelLoadOptions opts;
      opts.device = device;
      auto model = AutoModelForCausalLM::from_pretrained((model_data_dir() / name).string(), opts);
      model->set_gradient_checkpointing(checkpointing);
      for (const auto& [pname, p] : model->parameters().entries()) Tensor(p).requires_grad_();
      const Tensor loss = model->loss(ids, labels);
      EXPECT_NEAR(loss.to_f32()[0], fx["loss"].get<double>(), 1e-5 * fx["loss"].get<double>());
      loss.backward();
      size_t checked = 0;
      for (const auto& [pname, p] : model->parameters().entries()) {
        ASSERT_TRUE(p.grad().defined()) << pname;
        const Tensor want = expected->tensor("grad." + pname);
        ASSERT_EQ(p.grad().shape(), want.shape()) << pname;
        EXPECT_LE(relative_error(p.grad(), want), 1e-5) << pname;
        ++checked;
      }
      // Every parameter torch has, glint has (tied heads are one parameter in both).
      EXPECT_EQ(checked * 2, expected->names().size());

      // One AdamW step (torch.optim.AdamW, foreach=False, every parameter decayed as torch does by default).
      const nlohmann::json& h = fx["adamw"];
      train::AdamWConfig cfg;
      cfg.beta1 = h["beta1"].get<double>();
      cfg.beta2 = h["beta2"].get<double>();
      cfg.eps = h["eps"].get<double>();
      cfg.weight_decay = h["weight_decay"].get<double>();
      cfg.decays = [](std::string_view) { return true; };
      std::vector<train::ParamRef> params;
      for (const auto& [pname, p] : model->parameters().entries()) params.push_back({pname, p, p.grad()});
      train::AdamW(cfg).step(params, h["lr"].get<double>());
      for (const auto& [pname, p] : model->parameters().entries())
        EXPECT_LE(relative_error(p, expected->tensor("after." + pname)), 1e-5) << pname;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, TrainStep, ::testing::Values("llama", "qwen2", "qwen3"));

}  // namespace
}  // namespace glint::test
