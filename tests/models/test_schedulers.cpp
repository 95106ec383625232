// The diffusion schedulers against diffusers (tools/make_scheduler_fixtures.py): for each case the timesteps and
// sigmas after set_timesteps, then a whole denoising loop run by glint on its own latents (scale_model_input, step
// with diffusers' model outputs and noise) compared step by step, on every device; add_noise; config errors.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/diffusion/schedulers/scheduler.h"
#include "runtime/io/safetensors.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/reduce.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"

namespace glint::test {
namespace {

using diffusion::make_scheduler;
using diffusion::Scheduler;

const auto kDir = std::filesystem::path(__FILE__).parent_path() / "../data/schedulers";
// Each step's latents within 1e-5 of diffusers' (relative for the large early-step values of the sigma schedulers).
constexpr Tol kStepTol{1e-5, 1e-5};

struct Fixture {
  nlohmann::json meta;
  std::shared_ptr<io::SafetensorsFile> tensors;
  Tensor get(const std::string& name) const { return tensors->tensor(name); }
};

const Fixture& fixture() {
  static const Fixture f{read_fixture(kDir / "schedulers.json"),
                         io::SafetensorsFile::open((kDir / "schedulers.safetensors").string())};
  return f;
}

std::unique_ptr<Scheduler> scheduler_for(const nlohmann::json& c) {
  return make_scheduler(io::json_object(c["config"], c["name"].get<std::string>() + ".json", "scheduler"));
}

// Timesteps equal to diffusers'; Euler's fractional Karras / exponential ones (interpolated between the logs of
// the training sigmas, see expect_sigmas) within 1e-4 of a timestep.
void expect_timesteps(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (want[i] != std::floor(want[i])) {
      EXPECT_NEAR(got[i], want[i], 1e-4) << i;
    } else {
      EXPECT_EQ(got[i], want[i]) << i;
    }
  }
}

// Sigmas within an f32 ulp: torch's f32 sqrt (in the build that made the fixtures) is not correctly rounded, so
// ((1 - a) / a) ** 0.5 differs from the IEEE square root in the last bit for about a fifth of the values.
void expect_sigmas(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1.2e-7 * want[i]) << i;
}

TEST(Schedulers, TimestepsAndSigmasMatchDiffusers) {
  for (const auto& c : fixture().meta["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    auto s = scheduler_for(c);
    EXPECT_EQ(s->class_name(), c["class"].get<std::string>());
    s->set_timesteps(c["steps"].get<int64_t>());
    expect_timesteps(s->timesteps(), c["timesteps"].get<std::vector<double>>());
    if (c.contains("sigmas")) expect_sigmas(s->sigmas(), c["sigmas"].get<std::vector<double>>());
    EXPECT_NEAR(s->init_noise_sigma(), c["init_noise_sigma"].get<double>(), 1e-6 * c["init_noise_sigma"].get<double>());
  }
}

TEST(Schedulers, EveryStepMatchesDiffusers) {
  const Fixture& f = fixture();
  const int64_t batch = f.meta["shape"][0].get<int64_t>();
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const Tensor sample0 = f.get("sample0").to(d), noise0 = f.get("noise0").to(d);
    const Tensor outputs = f.get("model_outputs").to(d), noises = f.get("noises").to(d);
    for (const auto& c : f.meta["cases"]) {
      const auto name = c["name"].get<std::string>();
      SCOPED_TRACE(name);
      auto s = scheduler_for(c);
      s->set_timesteps(c["steps"].get<int64_t>(), c["strength"].get<double>());
      const Tensor prev = f.get(name + ".prev");
      const bool scales = f.tensors->contains(name + ".scaled");
      expect_timesteps(s->timesteps(), c["run_timesteps"].get<std::vector<double>>());
      ASSERT_EQ(int64_t(s->timesteps().size()), prev.dim(0));
      Tensor x = c["strength"].get<double>() < 1
                     ? s->add_noise(sample0, noise0, std::vector<double>(size_t(batch), s->timesteps()[0]))
                     : noise0 * s->init_noise_sigma();
      for (size_t i = 0; i < s->timesteps().size(); ++i) {
        SCOPED_TRACE("step " + std::to_string(i));
        const double t = s->timesteps()[i];
        const Tensor want_scaled = scales ? f.get(name + ".scaled").select(0, int64_t(i)) : x;
        EXPECT_CLOSE(s->scale_model_input(x, t), want_scaled, kStepTol);
        const auto out = s->step(outputs.select(0, int64_t(i)), t, x, noises.select(0, int64_t(i)));
        EXPECT_EQ(out.prev_sample.device(), d);
        ASSERT_TRUE(all_close(out.prev_sample, prev.select(0, int64_t(i)), kStepTol));
        if (c["has_pred"].get<bool>())
          EXPECT_CLOSE(out.pred_original_sample, f.get(name + ".pred").select(0, int64_t(i)), kStepTol);
        x = out.prev_sample;
      }
    }
  }
}

// Latents of any float dtype and layout: f16 / bf16 run in f32 and come back in their dtype; strided views give
// what contiguous tensors give. Two steps of every case from inputs rounded to the dtype.
TEST(Schedulers, HalfPrecisionAndStridedLatents) {
  const Shape shape{2, 4, 3, 5};
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    for (DType dtype : {DType::f16, DType::bf16}) {
      SCOPED_TRACE(dtype_name(dtype));
      const Tensor x = rand_strided(shape, dtype, d, 3), noise = rand_strided(shape, dtype, d, 4);
      const Tensor out0 = rand_strided(shape, dtype, d, 5), out1 = rand_strided(shape, dtype, d, 6);
      for (const auto& c : fixture().meta["cases"]) {
        SCOPED_TRACE(c["name"].get<std::string>());
        auto low = scheduler_for(c), full = scheduler_for(c);
        low->set_timesteps(c["steps"].get<int64_t>());
        full->set_timesteps(c["steps"].get<int64_t>());
        Tensor xl = x, xf = x.to(DType::f32).contiguous();
        for (size_t i = 0; i < 2; ++i) {
          const Tensor& out = i == 0 ? out0 : out1;
          const double t = low->timesteps()[i];
          const Tensor sl = low->scale_model_input(xl, t), sf = full->scale_model_input(xf, t);
          EXPECT_EQ(sl.dtype(), dtype);
          EXPECT_CLOSE(sl, sf, tol(dtype));
          xl = low->step(out, t, xl, noise).prev_sample;
          xf = full->step(out.to(DType::f32).contiguous(), t, xf, noise.to(DType::f32).contiguous()).prev_sample;
          EXPECT_EQ(xl.dtype(), dtype);
          EXPECT_CLOSE(xl, xf, tol(dtype));
          xf = xl.to(DType::f32);  // the next step from the same rounded input
        }
      }
    }
  }
}

TEST(Schedulers, AddNoiseMatchesDiffusers) {
  const Fixture& f = fixture();
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const Tensor sample0 = f.get("sample0").to(d), noise0 = f.get("noise0").to(d);
    for (const auto& c : f.meta["cases"]) {
      SCOPED_TRACE(c["name"].get<std::string>());
      auto s = scheduler_for(c);
      s->set_timesteps(c["steps"].get<int64_t>());
      const Tensor got = s->add_noise(sample0, noise0, c["add_noise_timesteps"].get<std::vector<double>>());
      EXPECT_CLOSE(got, f.get(c["name"].get<std::string>() + ".add_noise"), kStepTol);
    }
  }
}

TEST(Schedulers, ShortNamesTakeTheBaseConfig) {
  // Stable Diffusion's PNDM config, re-used as diffusers' Class.from_config(pipe.scheduler.config) would.
  const auto base = io::json_object({{"_class_name", "PNDMScheduler"},
                                     {"beta_schedule", "scaled_linear"},
                                     {"beta_start", 0.00085},
                                     {"beta_end", 0.012},
                                     {"skip_prk_steps", true},
                                     {"steps_offset", 1}},
                                    "scheduler_config.json", "scheduler");
  const std::map<std::string, std::string> classes = {{"ddim", "DDIMScheduler"},
                                                      {"euler", "EulerDiscreteScheduler"},
                                                      {"euler_a", "EulerAncestralDiscreteScheduler"},
                                                      {"dpm++2m", "DPMSolverMultistepScheduler"},
                                                      {"dpm++2m-karras", "DPMSolverMultistepScheduler"},
                                                      {"pndm", "PNDMScheduler"},
                                                      {"lcm", "LCMScheduler"}};
  EXPECT_EQ(diffusion::scheduler_short_names().size(), classes.size());
  for (const auto& [name, cls] : classes) EXPECT_EQ(make_scheduler(name, base)->class_name(), cls) << name;
  // dpm++2m-karras on SD's betas is the dpm_img2img case's schedule (SD betas + use_karras_sigmas).
  for (const auto& c : fixture().meta["cases"]) {
    if (c["name"] != "dpm_img2img") continue;
    auto s = make_scheduler("dpm++2m-karras", base);
    s->set_timesteps(c["steps"].get<int64_t>());
    EXPECT_EQ(s->timesteps(), c["timesteps"].get<std::vector<double>>());
  }
  EXPECT_GLINT_ERROR(make_scheduler("heun", base), "unknown scheduler 'heun' (expected one of ddim, euler");
}

TEST(Schedulers, LoadsAConfigDiffusersSaved) {
  // Every key diffusers writes, including lambda_min_clipped as the non-JSON token -Infinity.
  auto s = diffusion::load_scheduler((kDir / "dpm_sd" / "scheduler_config.json").string());
  EXPECT_EQ(s->class_name(), "DPMSolverMultistepScheduler");
  for (const auto& c : fixture().meta["cases"]) {
    if (c["name"] != "dpm_sd") continue;
    s->set_timesteps(c["steps"].get<int64_t>());
    EXPECT_EQ(s->timesteps(), c["timesteps"].get<std::vector<double>>());
    expect_sigmas(s->sigmas(), c["sigmas"].get<std::vector<double>>());
  }
}

TEST(Schedulers, NoiseGeneratorIsSeededGaussian) {
  diffusion::NoiseGenerator a(7), b(7), c(8);
  const auto va = a.randn({4001}, Device::cpu()).to_f32(), vb = b.randn({4001}, Device::cpu()).to_f32();
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, c.randn({4001}, Device::cpu()).to_f32());
  double mean = 0, var = 0;
  for (float v : va) mean += v / double(va.size());
  for (float v : va) var += (v - mean) * (v - mean) / double(va.size());
  EXPECT_NEAR(mean, 0, 0.06);
  EXPECT_NEAR(var, 1, 0.08);
  // The generator overload feeds step the same noise on every device.
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    auto s = make_scheduler("euler_a", io::json_object(nlohmann::json::object(), "base.json", "scheduler"));
    s->set_timesteps(3);
    diffusion::NoiseGenerator g1(1), g2(1);
    const Tensor x = rand({1, 4, 3, 3}, DType::f32, d, 1), out = rand({1, 4, 3, 3}, DType::f32, d, 2);
    const double t = s->timesteps()[0];
    const Tensor via_gen = s->step(out, t, x, g1).prev_sample;
    auto s2 = make_scheduler("euler_a", io::json_object(nlohmann::json::object(), "base.json", "scheduler"));
    s2->set_timesteps(3);
    EXPECT_CLOSE(via_gen, s2->step(out, t, x, g2.randn(x.shape(), d)).prev_sample, kStepTol);
  }
}

TEST(Schedulers, ConfigErrorsNameTheProblem) {
  auto cfg = [](nlohmann::json j) { return io::json_object(std::move(j), "scheduler_config.json", "scheduler"); };
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"_class_name", "HeunDiscreteScheduler"}})),
                     "_class_name 'HeunDiscreteScheduler' is not supported (supported: DDIMScheduler, "
                     "DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler, "
                     "LCMScheduler, PNDMScheduler)");
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"beta_schedule", "linear"}})), "'_class_name' is missing");
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"_class_name", "DDIMScheduler"}, {"beta_schedule", "sigmoid"}})),
                     "beta_schedule 'sigmoid' is not supported (expected one of linear, scaled_linear");
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"_class_name", "EulerDiscreteScheduler"}, {"prediction_type", "flow"}})),
                     "prediction_type 'flow' is not supported");
  EXPECT_GLINT_ERROR(
      make_scheduler(cfg({{"_class_name", "EulerAncestralDiscreteScheduler"}, {"prediction_type", "sample"}})),
      "prediction_type 'sample' is not supported (expected one of epsilon, v_prediction)");
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"_class_name", "PNDMScheduler"}, {"timestep_spacing", "uniform"}})),
                     "timestep_spacing 'uniform'");
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"_class_name", "DDIMScheduler"}, {"thresholding", true}})),
                     "thresholding = true is not supported");
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"_class_name", "DPMSolverMultistepScheduler"}, {"solver_order", 4}})),
                     "solver_order must be 1, 2 or 3, got 4");
  EXPECT_GLINT_ERROR(
      make_scheduler(cfg({{"_class_name", "DPMSolverMultistepScheduler"}, {"algorithm_type", "sde-dpmsolver++"}})),
      "algorithm_type 'sde-dpmsolver++' is not supported");
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"_class_name", "DDIMScheduler"}, {"num_train_timesteps", "1000"}})),
                     "num_train_timesteps");
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"_class_name", "DDIMScheduler"}, {"trained_betas", {0.1, 0.2}}})),
                     "trained_betas has 2 values, num_train_timesteps is 1000");
  EXPECT_GLINT_ERROR(make_scheduler(cfg({{"_class_name", "DDIMScheduler"}, {"beta_end", 1.5}})),
                     "every beta must be in [0, 1)");
  EXPECT_GLINT_ERROR(
      make_scheduler(cfg(
          {{"_class_name", "EulerDiscreteScheduler"}, {"use_karras_sigmas", true}, {"use_exponential_sigmas", true}})),
      "only one of use_karras_sigmas and use_exponential_sigmas");
  EXPECT_GLINT_ERROR(diffusion::load_scheduler((kDir / "missing.json").string()), "missing.json");
}

TEST(Schedulers, MisuseFailsCleanly) {
  auto ddim = make_scheduler(io::json_object({{"_class_name", "DDIMScheduler"}}, "c.json", "scheduler"));
  const Tensor x = rand({2, 4, 3, 3}), y = rand({2, 4, 3, 3}, DType::f32, Device::cpu(), 2);
  EXPECT_GLINT_ERROR(ddim->step(y, 999, x, Tensor()), "step before set_timesteps");
  EXPECT_GLINT_ERROR(ddim->set_timesteps(0), "num_inference_steps must be at least 1");
  EXPECT_GLINT_ERROR(ddim->set_timesteps(1001), "exceeds num_train_timesteps 1000");
  EXPECT_GLINT_ERROR(ddim->set_timesteps(10, 1.5), "strength must be in (0, 1]");
  EXPECT_GLINT_ERROR(ddim->set_timesteps(10, 0.05), "leaves no step to run");
  ddim->set_timesteps(10);
  EXPECT_GLINT_ERROR(ddim->step(y, 1000.5, x, Tensor()), "timestep 1000.5 is not an integer");
  EXPECT_GLINT_ERROR(ddim->step(y, std::nan(""), x, Tensor()), "timestep nan is not an integer");
  EXPECT_GLINT_ERROR(ddim->add_noise(x, y.slice(0, 0, 1), {1, 2}), "differ in shape");
  EXPECT_GLINT_ERROR(ddim->add_noise(x, y, {1}), "one timestep per batch item");

  auto euler_a = make_scheduler("euler_a", io::json_object(nlohmann::json::object(), "c.json", "scheduler"));
  euler_a->set_timesteps(4);
  EXPECT_GLINT_ERROR(euler_a->step(y, euler_a->timesteps()[0], x, Tensor()), "step needs noise");
  EXPECT_GLINT_ERROR(euler_a->scale_model_input(x, 12.5), "timestep 12.5 is not in the schedule");
  EXPECT_GLINT_ERROR(euler_a->set_timesteps(int64_t(1) << 40), "EulerAncestralDiscreteScheduler: num_inference_steps");
  auto euler = make_scheduler("euler", io::json_object(nlohmann::json::object(), "c.json", "scheduler"));
  euler->set_timesteps(1);
  euler->step(y, euler->timesteps()[0], x, Tensor());
  EXPECT_GLINT_ERROR(euler->step(y, euler->timesteps()[0], x, Tensor()), "stepped past the last of 1 timesteps");
}

}  // namespace
}  // namespace glint::test
