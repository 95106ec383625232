// Mixed precision with f32 master weights: autocast's bf16 / f16 step against the f32 step on the tiny Llama, and
// the Trainer learning with bf16 and with fp16 loss scaling.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "models/auto.h"
#include "runtime/autograd/autocast.h"
#include "runtime/io/config.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"
#include "trainers/trainer.h"

namespace glint::test {
namespace {

// Cosine similarity of two gradients.
double cosine(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_f32(), y = b.to_f32();
  double xy = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < x.size(); ++i) xy += double(x[i]) * y[i], xx += double(x[i]) * x[i], yy += double(y[i]) * y[i];
  return xy / std::sqrt(xx * yy + 1e-300);
}

TEST(MixedPrecision, AutocastStepTracksTheF32Step) {
  const Tensor ids = randint({2, 9}, 0, 128, DType::i64, Device::cpu(), 3);
  for (const Device& device : test_devices()) {
    for (DType dt : {DType::bf16, DType::f16}) {
      SCOPED_TRACE(device.str() + " " + std::string(dtype_name(dt)));
      ModelLoadOptions lo;
      lo.device = device;
      auto ref = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), lo);
      auto mixed = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), lo);
      for (auto* m : {ref.get(), mixed.get()})
        for (const auto& [name, p] : m->parameters().entries()) Tensor(p).requires_grad_();
      const Tensor want = ref->loss(ids, ids);
      want.backward();
      Tensor got;
      {
        autograd::AutocastGuard autocast(dt);
        got = mixed->loss(ids, ids);
        got.backward();
      }
      // bf16 keeps 8 mantissa bits: a loss near 4.9 moves by about 1e-2.
      EXPECT_NEAR(got.to_f32()[0], want.to_f32()[0], 0.02 * want.to_f32()[0]);
      for (size_t i = 0; i < ref->parameters().entries().size(); ++i) {
        const auto& [name, p] = mixed->parameters().entries()[i];
        ASSERT_TRUE(p.grad().defined()) << name;
        EXPECT_EQ(p.grad().dtype(), DType::f32) << name;  // gradients land on the f32 masters in f32
        EXPECT_GT(cosine(p.grad(), ref->parameters().entries()[i].second.grad()), 0.99) << name;
      }
    }
  }
}

TEST(MixedPrecision, TrainerLearnsInBf16AndFp16) {
  std::vector<train::TokenizedRow> rows;
  for (int r = 0; r < 4; ++r) {
    train::TokenizedRow row;
    for (int i = 0; i < 10; ++i) row.ids.push_back((r * 5 + i * 3) % 128);
    rows.push_back(row);
  }
  const io::JsonFile config = io::load_json((model_data_dir() / "llama" / "config.json").string());
  for (bool fp16 : {false, true}) {
    train::TrainingArguments args;
    args.output_dir = (std::filesystem::temp_directory_path() / "glint-mixed-precision").string();
    std::filesystem::remove_all(args.output_dir);
    args.max_steps = 30;
    args.per_device_train_batch_size = 4;
    args.learning_rate = 1e-2;
    args.save_steps = 0;
    args.bf16 = !fp16;
    args.fp16 = fp16;
    ModelLoadOptions lo;
    lo.device = Device::cpu();
    auto model = AutoModelForCausalLM::from_config(config, lo, 5);
    train::Trainer trainer(*model, args, rows, rows, config.json);
    const double before = trainer.evaluate();
    const train::TrainResult r = trainer.train();
    EXPECT_LT(*r.eval_loss, before / 2) << (fp16 ? "fp16" : "bf16");
    for (const auto& [name, p] : model->parameters().entries()) EXPECT_EQ(p.dtype(), DType::f32) << name;
    std::filesystem::remove_all(args.output_dir);
  }
}

}  // namespace
}  // namespace glint::test
