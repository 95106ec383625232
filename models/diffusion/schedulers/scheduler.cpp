#include "models/diffusion/schedulers/scheduler.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numbers>
#include <sstream>

#include "models/diffusion/schedulers/schedule.h"
#include "runtime/core/error.h"

namespace glint::diffusion {
namespace {

using Factory = std::unique_ptr<Scheduler> (*)(const io::JsonFile&);

const std::map<std::string, Factory, std::less<>>& classes() {
  static const std::map<std::string, Factory, std::less<>> m = {
      {"DDIMScheduler", detail::make_ddim},
      {"EulerDiscreteScheduler", detail::make_euler},
      {"EulerAncestralDiscreteScheduler", detail::make_euler_ancestral},
      {"DPMSolverMultistepScheduler", detail::make_dpm_solver_multistep},
      {"PNDMScheduler", detail::make_pndm},
      {"LCMScheduler", detail::make_lcm},
  };
  return m;
}

struct ShortName {
  std::string_view name, class_name;
  nlohmann::json overrides;  // keys set on top of the base config
  nlohmann::json defaults;   // keys set only when the base config lacks them
};

const std::vector<ShortName>& short_names() {
  static const std::vector<ShortName> v = {
      {"ddim", "DDIMScheduler", nlohmann::json::object(), nlohmann::json::object()},
      {"euler", "EulerDiscreteScheduler", nlohmann::json::object(), nlohmann::json::object()},
      {"euler_a", "EulerAncestralDiscreteScheduler", nlohmann::json::object(), nlohmann::json::object()},
      {"dpm++2m",
       "DPMSolverMultistepScheduler",
       {{"algorithm_type", "dpmsolver++"}, {"solver_order", 2}, {"use_karras_sigmas", false}},
       nlohmann::json::object()},
      {"dpm++2m-karras",
       "DPMSolverMultistepScheduler",
       {{"algorithm_type", "dpmsolver++"}, {"solver_order", 2}, {"use_karras_sigmas", true}},
       nlohmann::json::object()},
      // Stable Diffusion runs PNDM with its PLMS steps only; a base config from another class lacks the key.
      {"pndm", "PNDMScheduler", nlohmann::json::object(), {{"skip_prk_steps", true}}},
      {"lcm", "LCMScheduler", nlohmann::json::object(), nlohmann::json::object()},
  };
  return v;
}

// diffusers writes configs with Python's json module, which spells non-finite floats as bare Infinity / -Infinity /
// NaN (DPMSolverMultistepScheduler's lambda_min_clipped defaults to -inf). Strict JSON has no such tokens, so they
// become null, which every scheduler reads as "use the default" (-inf for lambda_min_clipped).
std::string nonfinite_to_null(const std::string& text) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      out += ch;
      if (ch == '\\' && i + 1 < text.size()) {
        out += text[++i];  // an escaped character, maybe a quote
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    if (ch == '"') in_string = true;
    bool replaced = false;
    for (std::string_view token : {"-Infinity", "Infinity", "NaN"}) {
      if (text.compare(i, token.size(), token) == 0) {
        out += "null";
        i += token.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += ch;
  }
  return out;
}

std::string supported_classes() {
  std::string out;
  for (const auto& [name, make] : classes()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

Tensor NoiseGenerator::randn(const Shape& shape, Device device) {
  const int64_t n = numel_of(shape);
  std::vector<float> v(static_cast<size_t>(n));
  // Box-Muller: two uniforms in (0, 1] give two independent normals.
  auto uniform = [&] { return (double(rng_() >> 11) + 1.0) * 0x1.0p-53; };
  for (int64_t i = 0; i < n; i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform())), theta = 2.0 * std::numbers::pi * uniform();
    v[size_t(i)] = float(r * std::cos(theta));
    if (i + 1 < n) v[size_t(i + 1)] = float(r * std::sin(theta));
  }
  return Tensor::from_vector(v, shape, DType::f32, device);
}

void Scheduler::set_timesteps(int64_t num_inference_steps, double strength) {
  GLINT_CHECK(num_inference_steps >= 1, "scheduler", class_name(), ": num_inference_steps must be at least 1, got ",
              num_inference_steps);
  GLINT_CHECK(strength > 0 && strength <= 1, "scheduler", class_name(), ": strength must be in (0, 1], got ", strength);
  num_inference_steps_ = num_inference_steps;
  build_schedule(num_inference_steps);
  step_index_ = begin_index_ = -1;
  timesteps_ = full_timesteps_;
  if (strength < 1) {  // diffusers' StableDiffusionImg2ImgPipeline.get_timesteps
    const int64_t init = std::min(int64_t(double(num_inference_steps) * strength), num_inference_steps);
    begin_index_ = std::max(num_inference_steps - init, int64_t(0));
    timesteps_.erase(timesteps_.begin(), timesteps_.begin() + std::min<int64_t>(begin_index_, timesteps_.size()));
    GLINT_CHECK(!timesteps_.empty(), "scheduler", class_name(), ": strength ", strength, " with ", num_inference_steps,
                " steps leaves no step to run");
  }
}

Tensor Scheduler::scale_model_input(const Tensor& sample, double) { return sample; }

SchedulerStep Scheduler::step(const Tensor& model_output, double t, const Tensor& sample, NoiseGenerator& gen) {
  return step(model_output, t, sample, needs_noise() ? gen.randn(sample.shape(), sample.device()) : Tensor());
}

void Scheduler::check_ready(std::string_view what) const {
  GLINT_CHECK(num_inference_steps_ > 0, "scheduler", class_name(), ": ", what, " before set_timesteps");
}

int64_t Scheduler::index_for_timestep(double t) const {
  std::vector<int64_t> hits;
  for (size_t i = 0; i < full_timesteps_.size(); ++i)
    if (full_timesteps_[i] == t) hits.push_back(int64_t(i));
  // A repeated timestep (img2img starting on it) means the second occurrence, as diffusers picks.
  return hits.empty() ? -1 : hits[hits.size() > 1 ? 1 : 0];
}

int64_t Scheduler::step_index(double t) {
  if (step_index_ < 0) {
    step_index_ = begin_index_ >= 0 ? begin_index_ : index_for_timestep(t);
    GLINT_CHECK(step_index_ >= 0, "scheduler", class_name(), ": timestep ", t, " is not in the schedule");
  }
  GLINT_CHECK(step_index_ < int64_t(full_timesteps_.size()), "scheduler", class_name(), ": stepped past the last of ",
              full_timesteps_.size(), " timesteps");
  return step_index_;
}

std::vector<double> Scheduler::noise_sigmas(const std::vector<double>& timesteps) const {
  check_ready("add_noise");
  std::vector<double> out;
  for (double t : timesteps) {
    int64_t i = step_index_ >= 0 ? step_index_ : begin_index_;
    if (begin_index_ < 0) i = index_for_timestep(t);
    GLINT_CHECK(i >= 0, "add_noise", class_name(), ": timestep ", t, " is not in the schedule");
    out.push_back(sigmas_[size_t(i)]);
  }
  return out;
}

std::unique_ptr<Scheduler> make_scheduler(const io::JsonFile& config) {
  const auto name = config.get<std::string>("_class_name");
  const auto it = classes().find(name);
  if (it == classes().end())
    fail("scheduler", config.where, ": _class_name '", name, "' is not supported (supported: ", supported_classes(),
         ")");
  return it->second(config);
}

std::unique_ptr<Scheduler> load_scheduler(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GLINT_CHECK(in.good(), "scheduler", path, ": cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return make_scheduler(
      io::json_object(io::parse_json(nonfinite_to_null(text.str()), path, "scheduler"), path, "scheduler"));
}

std::unique_ptr<Scheduler> make_scheduler(std::string_view short_name, const io::JsonFile& base) {
  for (const auto& s : short_names()) {
    if (s.name != short_name) continue;
    nlohmann::json j = base.json;
    j["_class_name"] = s.class_name;
    for (const auto& [k, v] : s.overrides.items()) j[k] = v;
    for (const auto& [k, v] : s.defaults.items())
      if (!j.contains(k)) j[k] = v;
    return make_scheduler(io::json_object(std::move(j), base.where + " as " + std::string(short_name), base.area));
  }
  std::string names;
  for (const auto& n : scheduler_short_names()) names += (names.empty() ? "" : ", ") + n;
  fail("scheduler", "unknown scheduler '", short_name, "' (expected one of ", names, ")");
}

std::vector<std::string> scheduler_short_names() {
  std::vector<std::string> out;
  for (const auto& s : short_names()) out.emplace_back(s.name);
  return out;
}

}  // namespace glint::diffusion
