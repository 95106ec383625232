// Optimizers, clipping, loss scaling and lr schedules against PyTorch / transformers (tools/make_optim_fixtures.py)
// on every device, and the fused ops against naive double-precision loops: odd sizes, strided and 16-bit grads.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/io/safetensors.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/optim.h"
#include "tests/harness.h"
#include "trainers/grad_scaler.h"
#include "trainers/optimizers.h"
#include "trainers/schedules.h"

namespace glint::test {
namespace {

using train::ParamRef;

const std::filesystem::path kData = std::filesystem::path(__FILE__).parent_path() / "../data/optim";
const DType kGradTypes[] = {DType::f32, DType::f16, DType::bf16};

const nlohmann::json& fixture() {
  static const nlohmann::json j = nlohmann::json::parse(std::ifstream(kData / "optim.json"));
  return j;
}
const io::SafetensorsFile& tensors() {
  static const auto f = io::SafetensorsFile::open((kData / "optim.safetensors").string());
  return *f;
}
std::vector<std::string> param_names() {
  std::vector<std::string> names;
  for (const auto& [name, info] : fixture()["params"].items()) names.push_back(name);
  return names;
}

// The fixture's initial parameters (cloned: updated in place) with the gradients of step k.
std::vector<ParamRef> fixture_params(Device device) {
  std::vector<ParamRef> params;
  for (const std::string& n : param_names()) params.push_back({n, tensors().tensor("init." + n, device).clone(), {}});
  return params;
}
void set_grads(std::vector<ParamRef>& params, int k, Device device) {
  for (ParamRef& p : params) p.grad = tensors().tensor("grad" + std::to_string(k) + "." + p.name, device);
}

bool bitwise_equal(const Tensor& a, const Tensor& b) { return a.to_vector<float>() == b.to_vector<float>(); }

// torch after 5 steps: 1e-6 relative, with an absolute floor far below the values' own rounding.
constexpr Tol kTorchTol{1e-9, 1e-6};

train::AdamW make_adamw(const nlohmann::json& h) {
  return train::AdamW({.beta1 = h["beta1"], .beta2 = h["beta2"], .eps = h["eps"], .weight_decay = h["weight_decay"]});
}

TEST(OptimAdamW, MatchesTorchAfterFiveSteps) {
  for (Device device : test_devices())
    for (const char* c : {"adamw_default", "adamw_lowbeta", "adamw_nodecay"}) {
      SCOPED_TRACE(device.str() + " " + c);
      const nlohmann::json& h = fixture()[c];
      train::AdamW opt = make_adamw(h);
      std::vector<ParamRef> params = fixture_params(device);
      for (int k = 0; k < fixture()["steps"].get<int>(); ++k) {
        set_grads(params, k, device);
        opt.step(params, h["lrs"][k].get<double>());
      }
      const train::OptimizerState state = opt.state_dict();
      for (const ParamRef& p : params) {
        SCOPED_TRACE(p.name);
        EXPECT_CLOSE(p.value, tensors().tensor(std::string(c) + ".param." + p.name), kTorchTol);
        EXPECT_CLOSE(state.tensors.at(p.name + ".exp_avg"), tensors().tensor(std::string(c) + ".exp_avg." + p.name),
                     kTorchTol);
        EXPECT_CLOSE(state.tensors.at(p.name + ".exp_avg_sq"),
                     tensors().tensor(std::string(c) + ".exp_avg_sq." + p.name), kTorchTol);
        EXPECT_EQ(state.counters.at(p.name + ".step"), h["step"].get<int64_t>());
      }
    }
}

TEST(OptimSgd, MatchesTorchAfterFiveSteps) {
  for (Device device : test_devices())
    for (const char* c : {"sgd_plain", "sgd_momentum", "sgd_dampening", "sgd_nesterov"}) {
      SCOPED_TRACE(device.str() + " " + c);
      const nlohmann::json& h = fixture()[c];
      train::Sgd opt({.momentum = h["momentum"],
                      .dampening = h["dampening"],
                      .weight_decay = h["weight_decay"],
                      .nesterov = h["nesterov"]});
      std::vector<ParamRef> params = fixture_params(device);
      for (int k = 0; k < fixture()["steps"].get<int>(); ++k) {
        set_grads(params, k, device);
        opt.step(params, h["lrs"][k].get<double>());
      }
      const train::OptimizerState state = opt.state_dict();
      for (const ParamRef& p : params) {
        SCOPED_TRACE(p.name);
        EXPECT_CLOSE(p.value, tensors().tensor(std::string(c) + ".param." + p.name), kTorchTol);
        if (h["momentum"].get<double>() != 0) {
          EXPECT_CLOSE(state.tensors.at(p.name + ".momentum_buffer"),
                       tensors().tensor(std::string(c) + ".momentum_buffer." + p.name), kTorchTol);
        }
      }
      EXPECT_EQ(state.tensors.empty(), h["momentum"].get<double>() == 0);
    }
}

// Naive double-precision AdamW / SGD on host vectors, from the same f32 inputs.
struct Host {
  std::vector<double> p, g, m, v;
};
Host host(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v) {
  auto d = [](const Tensor& t) {
    std::vector<double> out;
    for (float x : t.to_f32()) out.push_back(x);
    return out;
  };
  return {d(p), d(g), d(m), v.defined() ? d(v) : std::vector<double>{}};
}

TEST(OptimKernels, AdamWMatchesDoubleReference) {
  const AdamWStep h{
      .lr = 0.01, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.1, .step = 3, .grad_scale = 8};
  for (Device device : test_devices())
    for (DType gt : kGradTypes)
      for (const Shape& shape : {Shape{0}, Shape{1}, Shape{257}, Shape{13, 31}, Shape{3, 5, 7}})
        for (bool strided : {false, true}) {
          SCOPED_TRACE(device.str() + " " + std::string(dtype_name(gt)) + " " + shape_str(shape) +
                       (strided ? " strided" : ""));
          const Tensor p = rand(shape, DType::f32, device, 1), m = rand(shape, DType::f32, device, 2, -0.1f, 0.1f);
          const Tensor v = rand(shape, DType::f32, device, 3, 0.f, 0.01f);
          const Tensor g = strided ? rand_strided(shape, gt, device, 4, -8, 8) : rand(shape, gt, device, 4, -8, 8);
          Host r = host(p, g, m, v);
          adamw_step(p, g, m, v, h);
          const double bc1 = 1 - std::pow(h.beta1, 3), bc2 = 1 - std::pow(h.beta2, 3);
          for (size_t i = 0; i < r.p.size(); ++i) {
            const double gi = r.g[i] / h.grad_scale;
            r.m[i] = h.beta1 * r.m[i] + (1 - h.beta1) * gi;
            r.v[i] = h.beta2 * r.v[i] + (1 - h.beta2) * gi * gi;
            r.p[i] = r.p[i] * (1 - h.lr * h.weight_decay) -
                     h.lr / bc1 * r.m[i] / (std::sqrt(r.v[i]) / std::sqrt(bc2) + h.eps);
          }
          const Tol t{1e-7, 2e-6};
          EXPECT_CLOSE(p, std::vector<float>(r.p.begin(), r.p.end()), t);
          EXPECT_CLOSE(m, std::vector<float>(r.m.begin(), r.m.end()), t);
          EXPECT_CLOSE(v, std::vector<float>(r.v.begin(), r.v.end()), t);
        }
}

TEST(OptimKernels, SgdMatchesDoubleReference) {
  for (Device device : test_devices())
    for (DType gt : kGradTypes)
      for (bool nesterov : {false, true})
        for (bool first : {false, true}) {
          SCOPED_TRACE(device.str() + " " + std::string(dtype_name(gt)) + (nesterov ? " nesterov" : "") +
                       (first ? " first" : ""));
          const SgdStep h{.lr = 0.1,
                          .momentum = 0.9,
                          .dampening = nesterov ? 0.0 : 0.25,
                          .weight_decay = 0.01,
                          .nesterov = nesterov,
                          .first = first,
                          .grad_scale = 1};
          const Shape shape{7, 37};
          const Tensor p = rand(shape, DType::f32, device, 5), b = rand(shape, DType::f32, device, 6);
          const Tensor g = rand_strided(shape, gt, device, 7);
          Host r = host(p, g, b, {});
          sgd_step(p, g, b, h);
          for (size_t i = 0; i < r.p.size(); ++i) {
            double gi = r.g[i] + h.weight_decay * r.p[i];
            r.m[i] = first ? gi : r.m[i] * h.momentum + (1 - h.dampening) * gi;
            gi = nesterov ? gi + h.momentum * r.m[i] : r.m[i];
            r.p[i] -= h.lr * gi;
          }
          EXPECT_CLOSE(p, std::vector<float>(r.p.begin(), r.p.end()), Tol{1e-7, 1e-6});
          EXPECT_CLOSE(b, std::vector<float>(r.m.begin(), r.m.end()), Tol{1e-7, 1e-6});
        }
}

// A 16-bit gradient is read as exactly its f32 value, and a power-of-two grad_scale divides exactly: both must
// give the bits of the plain f32 step.
TEST(OptimKernels, GradDtypesAndScaleAreExact) {
  for (Device device : test_devices())
    for (DType gt : kGradTypes) {
      SCOPED_TRACE(device.str() + " " + std::string(dtype_name(gt)));
      const Tensor g16 = rand({301}, gt, device, 9);
      const Tensor g32 = g16.to(DType::f32), scaled = mul(g32, 1024.0).to(gt);
      Tensor p[3], m[3], v[3];
      for (int k = 0; k < 3; ++k) {
        p[k] = rand({301}, DType::f32, device, 10);
        m[k] = zeros({301}, DType::f32, device);
        v[k] = zeros({301}, DType::f32, device);
      }
      adamw_step(p[0], g32, m[0], v[0], {.step = 1});
      adamw_step(p[1], g16, m[1], v[1], {.step = 1});
      adamw_step(p[2], scaled, m[2], v[2], {.step = 1, .grad_scale = 1024});
      for (int k = 1; k < 3; ++k) {
        EXPECT_TRUE(bitwise_equal(p[k], p[0]));
        EXPECT_TRUE(bitwise_equal(v[k], v[0]));
      }
    }
}

TEST(OptimKernels, NonfiniteCheckAndUnscale) {
  const float kInf = std::numeric_limits<float>::infinity(), kNan = std::numeric_limits<float>::quiet_NaN();
  for (Device device : test_devices())
    for (DType dt : kGradTypes)
      for (float poison : {0.f, kInf, -kInf, kNan}) {
        SCOPED_TRACE(device.str() + " " + std::string(dtype_name(dt)) + " " + std::to_string(poison));
        std::vector<float> host = rand({1031}, DType::f32, Device::cpu(), 11).to_f32();
        if (poison != 0) host[517] = poison;
        const Tensor x = Tensor::from_vector(host, {1031}, dt, device);
        std::vector<float> want = Tensor::from_vector(host, {1031}, dt, Device::cpu()).to_f32();
        for (float& w : want) w *= 0.25f;
        want = Tensor::from_vector(want, {1031}, dt, Device::cpu()).to_f32();  // rounded to dt as the kernel does
        EXPECT_EQ(has_nonfinite(x), poison != 0);
        EXPECT_EQ(has_nonfinite(x.slice(0, 0, 517)), false);  // a view, around the poisoned element
        const Tensor found = zeros({}, DType::f32, device);
        nonfinite_check(x, found, 0.25f);
        EXPECT_EQ(found.to_f32()[0], poison != 0 ? 1.f : 0.f);
        EXPECT_CLOSE(x, want, Tol{0, 0});
      }
}

TEST(OptimKernels, SumSquaresMatchesDoubleReference) {
  for (Device device : test_devices())
    for (DType dt : kGradTypes)
      for (const Shape& shape : {Shape{0}, Shape{1}, Shape{70001}, Shape{31, 17}})
        for (bool strided : {false, true}) {
          SCOPED_TRACE(device.str() + " " + std::string(dtype_name(dt)) + " " + shape_str(shape));
          const Tensor x = strided ? rand_strided(shape, dt, device, 12) : rand(shape, dt, device, 12);
          double want = 0;
          for (float v : x.to_f32()) want += double(v) * v;
          const Tensor got = sum_squares(x);
          EXPECT_EQ(got.ndim(), 0);
          EXPECT_NEAR(got.to_f32()[0], want, 1e-6 * want + 1e-30);
        }
}

TEST(OptimKernels, Errors) {
  const Tensor p = zeros({4}), g = zeros({4}), s = zeros({4});
  EXPECT_GLINT_ERROR(adamw_step(p, zeros({5}), s, s, {}), "[adamw_step] gradient shape");
  EXPECT_GLINT_ERROR(adamw_step(zeros({4}, DType::bf16), g, s, s, {}), "[adamw_step] parameters must be f32");
  EXPECT_GLINT_ERROR(adamw_step(zeros({4, 4}).transpose(0, 1), zeros({4, 4}), zeros({4, 4}), zeros({4, 4}), {}),
                     "[adamw_step] parameter must be contiguous");
  EXPECT_GLINT_ERROR(adamw_step(p, zeros({4}, DType::i32), s, s, {}), "[adamw_step] gradient must be");
  EXPECT_GLINT_ERROR(adamw_step(p, g, zeros({3}), s, {}), "[adamw_step] optimizer state");
  EXPECT_GLINT_ERROR(adamw_step(p, g, s, s, {.step = 0}), "[adamw_step] step counts from 1");
  EXPECT_GLINT_ERROR(adamw_step(p, g, s, s, {.beta1 = 1.0}), "[adamw_step] betas");
  EXPECT_GLINT_ERROR(adamw_step(p, g, s, s, {.lr = NAN}), "[adamw_step] invalid learning rate");
  EXPECT_GLINT_ERROR(sgd_step(p, g, {}, {.momentum = 0.9}), "[sgd_step] undefined optimizer state");
  EXPECT_GLINT_ERROR(sgd_step(p, g, {}, {.nesterov = true}), "[sgd_step] nesterov");
  EXPECT_GLINT_ERROR(nonfinite_check(zeros({4}, DType::i32), zeros({})), "[nonfinite_check] needs a floating");
  EXPECT_GLINT_ERROR(nonfinite_check(g, zeros({1})), "[nonfinite_check] found_inf");
  EXPECT_GLINT_ERROR(sum_squares(zeros({4}, DType::i64)), "[sum_squares]");
  for (Device d : vulkan_devices()) EXPECT_GLINT_ERROR(adamw_step(p, g.to(d), s, s, {}), "[adamw_step] gradient on");
}

// Resuming from a state dict saved to safetensors (counters in its metadata) continues bit for bit.
TEST(OptimState, RoundTripThroughSafetensorsContinuesBitwise) {
  const auto dir = std::filesystem::temp_directory_path() / "glint_test_optim";
  std::filesystem::create_directories(dir);
  for (Device device : test_devices())
    for (bool adam : {true, false}) {
      SCOPED_TRACE(device.str() + (adam ? " adamw" : " sgd"));
      auto make = [&]() -> std::unique_ptr<train::Optimizer> {
        if (adam) return std::make_unique<train::AdamW>(make_adamw(fixture()["adamw_default"]));
        return std::make_unique<train::Sgd>(train::SgdConfig{.momentum = 0.9, .weight_decay = 0.01});
      };
      auto run = [&](train::Optimizer& opt, std::vector<ParamRef>& params, int from, int to) {
        for (int k = from; k < to; ++k) {
          set_grads(params, k, device);
          opt.step(params, 1e-2 * (k + 1));
        }
      };
      auto straight = make();
      std::vector<ParamRef> a = fixture_params(device);
      run(*straight, a, 0, 5);

      auto first = make();
      std::vector<ParamRef> b = fixture_params(device);
      run(*first, b, 0, 3);
      const train::OptimizerState saved = first->state_dict();
      std::vector<ParamRef> c = b;
      for (ParamRef& p : c) p.value = p.value.clone();
      run(*first, b, 3, 4);  // the snapshot must not see later steps
      std::vector<std::pair<std::string, Tensor>> named(saved.tensors.begin(), saved.tensors.end());
      std::map<std::string, std::string> meta;
      for (const auto& [k, v] : saved.counters) meta[k] = std::to_string(v);
      const std::string path = (dir / "state.safetensors").string();
      io::save_safetensors(path, named, meta);
      const auto file = io::SafetensorsFile::open(path);
      train::OptimizerState loaded;
      for (const std::string& n : file->names()) loaded.tensors[n] = file->tensor(n);
      for (const auto& [k, v] : file->metadata()) loaded.counters[k] = std::stoll(v);

      auto resumed = make();
      resumed->load_state_dict(loaded);
      run(*resumed, c, 3, 5);
      for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(bitwise_equal(c[i].value, a[i].value)) << a[i].name;
    }
  std::filesystem::remove_all(dir);
}

TEST(OptimState, Errors) {
  train::AdamW opt;
  train::OptimizerState bad;
  bad.counters["w.step"] = 2;
  EXPECT_GLINT_ERROR(opt.load_state_dict(bad), "[AdamW] state dict lacks tensor w.exp_avg");
  bad.tensors["w.exp_avg"] = zeros({3});
  bad.tensors["w.exp_avg_sq"] = zeros({3});
  opt.load_state_dict(bad);
  std::vector<ParamRef> params{{"w", zeros({4}), zeros({4})}};
  EXPECT_GLINT_ERROR(opt.step(params, 0.1), "[AdamW] state w.exp_avg is");
  train::Sgd sgd;
  train::OptimizerState extra;
  extra.tensors["w.exp_avg"] = zeros({4});
  EXPECT_GLINT_ERROR(sgd.load_state_dict(extra), "[SGD] unexpected state tensor w.exp_avg");
  EXPECT_GLINT_ERROR(train::Sgd({.nesterov = true}), "[SGD] nesterov");
}

TEST(OptimWeightDecay, TrainerRule) {
  for (const auto& [name, info] : fixture()["params"].items())
    EXPECT_EQ(train::uses_weight_decay(name), info["decay"].get<bool>()) << name;
  EXPECT_FALSE(train::uses_weight_decay("bert.encoder.layer.0.attention.output.LayerNorm.weight"));
  EXPECT_FALSE(train::uses_weight_decay("model.layers.3.post_attention_layernorm.weight"));
  EXPECT_FALSE(train::uses_weight_decay("model.layers.3.self_attn.q_norm.weight"));
  EXPECT_FALSE(train::uses_weight_decay("transformer.h.0.ln_1.weight", /*in_layer_norm=*/true));
  EXPECT_TRUE(train::uses_weight_decay("transformer.h.0.ln_1.weight"));
  EXPECT_TRUE(train::uses_weight_decay("model.normalizer.weight"));
  EXPECT_TRUE(train::uses_weight_decay("lm_head.weight"));
}

// Parameters spread over every device (round robin), as a device map places them.
TEST(OptimClip, MatchesTorch) {
  const std::vector<Device>& devices = test_devices();
  for (size_t shift = 0; shift < devices.size(); ++shift)
    for (const auto& [c, h] : fixture()["clip"].items()) {
      SCOPED_TRACE(c + " from " + devices[shift].str());
      std::vector<ParamRef> params;
      size_t i = shift;
      for (const std::string& n : param_names()) {
        const Device d = devices[i++ % devices.size()];
        params.push_back({n, tensors().tensor("init." + n, d), tensors().tensor("grad0." + n, d).clone()});
      }
      const double norm_type = h["norm_type"].is_string() ? INFINITY : h["norm_type"].get<double>();
      const double total = train::clip_grad_norm(params, h["max_norm"].get<double>(), norm_type);
      EXPECT_NEAR(total, h["total"].get<double>(), 1e-6 * h["total"].get<double>());
      for (const ParamRef& p : params) EXPECT_CLOSE(p.grad, tensors().tensor(c + "." + p.name), kTorchTol) << p.name;
    }
  std::vector<ParamRef> none{{"w", zeros({2}), {}}};
  EXPECT_EQ(train::clip_grad_norm(none, 1.0), 0.0);
  EXPECT_GLINT_ERROR(train::clip_grad_norm(none, 1.0, 0.0), "[clip_grad_norm] norm_type");
  EXPECT_GLINT_ERROR(train::clip_grad_norm(none, -1.0), "[clip_grad_norm] max_norm");
}

TEST(OptimGradScaler, SkipsBacksOffAndGrows) {
  for (Device device : test_devices())
    for (DType gt : kGradTypes) {
      SCOPED_TRACE(device.str() + " " + std::string(dtype_name(gt)));
      train::GradScaler scaler({.init_scale = 1024, .growth_interval = 3});
      train::Sgd opt;
      std::vector<ParamRef> params{{"w", rand({37}, DType::f32, device, 20), {}},
                                   {"b", rand({5}, DType::f32, device, 21), {}}};
      const Tensor g = rand({37}, DType::f32, device, 22);
      auto backward = [&](bool poison) {  // gradients of a loss multiplied by the scale
        params[0].grad = mul(g, scaler.scale()).to(gt);
        std::vector<float> b(5, 0.5f * float(scaler.scale()));
        if (poison) b[3] = INFINITY;
        params[1].grad = Tensor::from_vector(b, {5}, gt, device);
      };
      const Tensor before = params[0].value.clone();
      backward(true);
      EXPECT_FALSE(scaler.step(opt, params, 0.1));
      scaler.update();
      EXPECT_TRUE(bitwise_equal(params[0].value, before));  // the step was skipped
      EXPECT_EQ(scaler.scale(), 512);

      for (int k = 0; k < 3; ++k) {
        backward(false);
        if (k == 1) {
          EXPECT_FALSE(scaler.unscale(params));  // explicit unscale (before clipping), then step
          EXPECT_CLOSE(params[0].grad, g.to(gt), Tol{0, 0});
        }
        const Tensor want = params[0].value.clone();
        sgd_step(want, g.to(gt), {}, {.lr = 0.1});
        EXPECT_TRUE(scaler.step(opt, params, 0.1));
        EXPECT_TRUE(bitwise_equal(params[0].value, want));
        scaler.update();
        EXPECT_EQ(scaler.scale(), k < 2 ? 512 : 1024);  // grows after growth_interval clean steps
      }
      const train::OptimizerState state = scaler.state_dict();
      train::GradScaler restored;
      restored.load_state_dict(state);
      EXPECT_EQ(restored.scale(), 1024);
      EXPECT_EQ(state.counters.at("growth_tracker"), 0);
    }
  train::GradScaler scaler;
  std::vector<ParamRef> none;
  EXPECT_GLINT_ERROR(scaler.update(), "[GradScaler] update() without an inf check");
  scaler.unscale(none);
  EXPECT_GLINT_ERROR(scaler.unscale(none), "[GradScaler] unscale() was already called");
  EXPECT_GLINT_ERROR(train::GradScaler({.backoff_factor = 1.5}), "[GradScaler] backoff_factor");
  EXPECT_GLINT_ERROR(scaler.load_state_dict({}), "[GradScaler] state dict needs");
}

TEST(Schedules, MatchTransformers) {
  const nlohmann::json& s = fixture()["schedules"];
  const double base_lr = s["base_lr"];
  for (const auto& [c, h] : s["cases"].items()) {
    SCOPED_TRACE(c);
    train::ScheduleConfig config{.type = train::parse_schedule_type(h["name"].get<std::string>()),
                                 .warmup_steps = h["warmup_steps"],
                                 .training_steps = s["training_steps"]};
    const nlohmann::json& kw = h["kwargs"];
    if (kw.contains("num_cycles")) config.num_cycles = kw["num_cycles"].get<double>();
    if (kw.contains("lr_end")) config.lr_end = kw["lr_end"];
    if (kw.contains("power")) config.power = kw["power"];
    if (kw.contains("timescale")) config.timescale = kw["timescale"].get<int64_t>();
    const train::LrSchedule schedule(config, base_lr);
    for (size_t step = 0; step < h["lrs"].size(); ++step) {
      const double want = h["lrs"][step];
      EXPECT_NEAR(schedule.lr(int64_t(step)), want, 1e-12 * std::fabs(want)) << "step " << step;
    }
  }
}

TEST(Schedules, Errors) {
  EXPECT_GLINT_ERROR(train::parse_schedule_type("cosin"), "[lr_scheduler_type] unknown scheduler 'cosin'");
  EXPECT_GLINT_ERROR(train::parse_schedule_type("warmup_stable_decay"), "is not supported; supported: constant");
  EXPECT_EQ(train::schedule_type_name(train::parse_schedule_type("inverse_sqrt")), "inverse_sqrt");
  using train::ScheduleType;
  EXPECT_GLINT_ERROR(train::LrSchedule({.type = ScheduleType::cosine}, 1e-3), "cosine requires the number");
  EXPECT_GLINT_ERROR(train::LrSchedule({.type = ScheduleType::linear, .warmup_steps = -1, .training_steps = 5}, 1e-3),
                     "warmup steps must be >= 0");
  EXPECT_GLINT_ERROR(train::LrSchedule({.type = ScheduleType::polynomial, .training_steps = 5, .lr_end = 1e-2}, 1e-3),
                     "lr_end (0.01) must be smaller");
  const train::LrSchedule poly({.type = ScheduleType::polynomial, .warmup_steps = 4, .training_steps = 4}, 1e-3);
  EXPECT_GLINT_ERROR(poly.lr(4), "polynomial: no decay steps");
  EXPECT_GLINT_ERROR(poly.lr(-1), "step must be >= 0");
}

}  // namespace
}  // namespace glint::test
