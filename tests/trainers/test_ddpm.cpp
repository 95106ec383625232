// The pixel-space DDPM trainer (trainers/ddpm.h) on the drawn shapes (trainers/shapes_data.h): the data is
// reproducible and balanced, a few AdamW steps on the DDPM loss of a tiny UNet lower it, the diffusers folder it
// saves loads back to the same predictions, and sampling gives images in [0, 1].
#include <unistd.h>

#include <filesystem>
#include <numeric>

#include "models/diffusion/schedulers/scheduler.h"
#include "runtime/io/config.h"
#include "tests/harness.h"
#include "trainers/ddpm.h"
#include "trainers/optimizers.h"
#include "trainers/shapes_data.h"

namespace glint::train {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kSize = 16;

nlohmann::json tiny_config() { return small_unet_config(3, {8, 16}, 1, 8, 2, 4, kSize); }

std::shared_ptr<const diffusion::Scheduler> noise_schedule() {
  return diffusion::make_scheduler(io::json_object(pixel_scheduler_config(), "test scheduler"));
}

ImageRowsFn shapes(Device device) {
  return [device](const std::vector<size_t>& rows, Tensor& images, std::vector<int64_t>& labels) {
    ShapeBatch b = shape_batch(7, rows, kSize, device);
    images = b.images;
    labels = b.labels;
  };
}

TEST(ShapesData, ReproducibleBalancedAndInRange) {
  const ShapeImage a = draw_shape(3, 10, kSize), b = draw_shape(3, 10, kSize), c = draw_shape(4, 10, kSize);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_NE(a.pixels, c.pixels);
  EXPECT_EQ(a.pixels.size(), size_t(3 * kSize * kSize));
  for (float v : a.pixels) ASSERT_TRUE(v >= 0.f && v <= 1.f) << v;
  EXPECT_EQ(draw_shape(3, 0, kSize).label, 0);
  EXPECT_EQ(draw_shape(3, 4, kSize).label, 1);
  EXPECT_EQ(draw_shape(3, 8, kSize).label, 2);
  EXPECT_EQ(shape_kind_name(2), "triangle");
  // A shape covers part of the image: the foreground differs from the background somewhere, not everywhere.
  const float corner = a.pixels[0];
  const auto differs = std::count_if(a.pixels.begin(), a.pixels.begin() + kSize * kSize,
                                     [corner](float v) { return std::abs(v - corner) > 0.1f; });
  EXPECT_GT(differs, 10);
  EXPECT_LT(differs, kSize * kSize - 10);
  const ShapeBatch batch = shape_batch(3, {10, 11}, kSize, Device::cpu());
  EXPECT_EQ(batch.images.shape(), (Shape{2, 3, kSize, kSize}));
  EXPECT_EQ(batch.labels, (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ(batch.images.to_vector<float>()[0], 2 * a.pixels[0] - 1);
  EXPECT_GLINT_ERROR(draw_shape(1, 1, 4), "[shapes]");
}

TEST(Ddpm, FewStepsLowerTheLoss) {
  for (Device dev : test::test_devices()) {
    SCOPED_TRACE(dev.str());
    ConditionalUNet model = make_conditional_unet(tiny_config(), kNumShapeKinds, 1, dev);
    const RowsLossFn loss = ddpm_rows_loss(model, noise_schedule(), 1000, shapes(dev), 5);
    std::vector<ParamRef> params;
    for (auto [name, t] : model.parameters.entries()) {
      t.requires_grad_();
      params.push_back({name, t, Tensor()});
    }
    AdamW opt;
    std::vector<size_t> rows(6);
    std::iota(rows.begin(), rows.end(), 0);
    std::vector<double> losses;
    for (int step = 0; step < 6; ++step) {
      const Tensor l = loss(rows).loss;
      losses.push_back(double(l.to(Device::cpu()).to_vector<float>()[0]));
      l.backward();
      for (ParamRef& p : params) p.grad = p.value.grad();
      opt.step(params, 5e-3);
      for (ParamRef& p : params) p.value.set_grad({});
    }
    // The same rows get the same noise and timesteps every step: the loss of a fixed batch must fall.
    EXPECT_GT(losses.front(), 0.3);
    EXPECT_LT(losses.back(), 0.8 * losses.front()) << "first " << losses.front() << " last " << losses.back();
  }
}

TEST(Ddpm, SavedFolderLoadsToTheSamePredictions) {
  const fs::path dir = fs::temp_directory_path() / ("glint_ddpm_" + std::to_string(getpid()));
  const ConditionalUNet model = make_conditional_unet(tiny_config(), kNumShapeKinds, 2, Device::cpu());
  model.save(dir.string(), pixel_scheduler_config());
  const ConditionalUNet loaded = load_conditional_unet(dir.string(), Device::cpu());
  EXPECT_EQ(loaded.parameters.entries().size(), model.parameters.entries().size());
  const Tensor x = test::rand({2, 3, kSize, kSize});
  const Tensor want = model.unet->forward(x, {10, 500}, model.context({0, 2}));
  EXPECT_TRUE(test::all_close(loaded.unet->forward(x, {10, 500}, loaded.context({0, 2})), want, {0, 0}));
  EXPECT_GLINT_ERROR(model.context({3}), "[ddpm]");

  auto scheduler = diffusion::load_scheduler((dir / "scheduler" / "scheduler_config.json").string());
  const Tensor images = sample_images(loaded, *scheduler, {0, 1, 2}, 3, 9);
  EXPECT_EQ(images.shape(), (Shape{3, 3, kSize, kSize}));
  for (float v : images.to_vector<float>()) ASSERT_TRUE(v >= 0.f && v <= 1.f) << v;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glint::train
