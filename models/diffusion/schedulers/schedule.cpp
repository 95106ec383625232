#include "models/diffusion/schedulers/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint::diffusion::detail {
namespace {

std::string join(std::initializer_list<std::string_view> xs) {
  std::string out;
  for (auto x : xs) out += (out.empty() ? "" : ", ") + std::string(x);
  return out;
}

// torch.linspace(start, end, n, dtype=float32): f32 step, each value start + step * i (or, for the upper half,
// end - step * (n - 1 - i)) rounded once, which is what its vectorised CPU kernel computes.
std::vector<double> torch_linspace_f32(double start, double end, int64_t n) {
  const float s = float(start), e = float(end);
  const float step = n > 1 ? (e - s) / float(n - 1) : 0.f;
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    out[size_t(i)] = i < n / 2 ? std::fmaf(step, float(i), s) : std::fmaf(-step, float(n - 1 - i), e);
  return out;
}

// Betas that make alpha_bar(t) = cos^2((t + 0.008) / 1.008 * pi / 2) (Nichol & Dhariwal), capped at 0.999.
std::vector<double> squaredcos_betas(int64_t n) {
  auto alpha_bar = [](double t) {
    const double c = std::cos((t + 0.008) / 1.008 * std::numbers::pi / 2);
    return c * c;
  };
  std::vector<double> betas(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    betas[size_t(i)] = f32(std::min(1 - alpha_bar(double(i + 1) / n) / alpha_bar(double(i) / n), 0.999));
  return betas;
}

}  // namespace

std::string read_choice(const io::JsonFile& c, std::string_view key, std::string_view fallback,
                        std::initializer_list<std::string_view> choices) {
  std::string v = c.get_or<std::string>(key, std::string(fallback));
  if (std::find(choices.begin(), choices.end(), v) == choices.end())
    fail("scheduler", c.where, ": ", key, " '", v, "' is not supported (expected one of ", join(choices), ")");
  return v;
}

void reject_option(const io::JsonFile& c, std::string_view key, bool unsupported, std::string_view why) {
  if (c.get_or<bool>(key, false) == unsupported)
    fail("scheduler", c.where, ": ", key, " = ", unsupported ? "true" : "false", " is not supported (", why, ")");
}

int64_t read_int_at_least(const io::JsonFile& c, std::string_view key, int64_t fallback, int64_t lo) {
  const int64_t v = c.get_or<int64_t>(key, fallback);
  if (v < lo) fail("scheduler", c.where, ": ", key, " must be at least ", lo, ", got ", v);
  return v;
}

NoiseSchedule read_noise_schedule(const io::JsonFile& c, const BetaDefaults& d) {
  NoiseSchedule s;
  s.num_train_timesteps = read_int_at_least(c, "num_train_timesteps", 1000, 2);
  const int64_t n = s.num_train_timesteps;
  std::vector<double> betas;
  if (c.has("trained_betas")) {
    s.beta_schedule = "trained_betas";
    for (double b : c.get<std::vector<double>>("trained_betas")) betas.push_back(f32(b));
    if (int64_t(betas.size()) != n)
      fail("scheduler", c.where, ": trained_betas has ", betas.size(), " values, num_train_timesteps is ", n);
  } else {
    s.beta_schedule =
        read_choice(c, "beta_schedule", d.beta_schedule, {"linear", "scaled_linear", "squaredcos_cap_v2"});
    const double start = c.get_or<double>("beta_start", d.beta_start), end = c.get_or<double>("beta_end", d.beta_end);
    if (s.beta_schedule == "linear") {
      betas = torch_linspace_f32(start, end, n);
    } else if (s.beta_schedule == "scaled_linear") {
      if (start < 0 || end < 0) fail("scheduler", c.where, ": scaled_linear needs beta_start, beta_end >= 0");
      betas = torch_linspace_f32(std::sqrt(start), std::sqrt(end), n);
      for (double& b : betas) b = f32(float(b) * float(b));
    } else {
      betas = squaredcos_betas(n);
    }
  }
  reject_option(c, "rescale_betas_zero_snr", true, "zero-terminal-SNR rescaling is not implemented");
  for (double b : betas)
    if (!(b >= 0 && b < 1)) fail("scheduler", c.where, ": every beta must be in [0, 1), found ", b);
  // torch.cumprod accumulates f32 inputs in double and stores f32.
  double prod = 1;
  for (double b : betas) {
    prod *= double(1.f - float(b));
    s.alphas_cumprod.push_back(f32(prod));
  }
  return s;
}

double NoiseSchedule::alpha_cumprod(double t) const {
  if (!(t >= 0 && t < double(num_train_timesteps)) || t != std::floor(t))
    fail("scheduler", "timestep ", t, " is not an integer in [0, ", num_train_timesteps, ")");
  return alphas_cumprod[size_t(t)];
}

void NoiseSchedule::check_steps(int64_t n, std::string_view class_name) const {
  if (n > num_train_timesteps)
    fail("scheduler", class_name, ": num_inference_steps ", n, " exceeds num_train_timesteps ", num_train_timesteps);
}

std::vector<double> NoiseSchedule::train_sigmas() const {
  std::vector<double> out;
  for (double a : alphas_cumprod) out.push_back(double(std::sqrt((1.f - float(a)) / float(a))));
  return out;
}

std::vector<double> np_linspace(double start, double stop, int64_t num) {
  std::vector<double> out(static_cast<size_t>(num));
  const double step = num > 1 ? (stop - start) / double(num - 1) : 0;
  for (int64_t i = 0; i < num; ++i) out[size_t(i)] = double(i) * step + start;
  if (num > 1) out.back() = stop;
  return out;
}

std::vector<double> spaced_timesteps(std::string_view spacing, int64_t num_train, int64_t n, int64_t steps_offset,
                                     bool round_linspace) {
  std::vector<double> ts;
  if (spacing == "linspace") {
    ts = np_linspace(0, double(num_train - 1), n);
    for (double& t : ts) t = round_linspace ? std::nearbyint(t) : f32(t);
    std::reverse(ts.begin(), ts.end());
  } else if (spacing == "leading") {
    const int64_t ratio = num_train / n;
    for (int64_t i = n - 1; i >= 0; --i) ts.push_back(double(i * ratio + steps_offset));
  } else {  // trailing: np.arange(num_train, 0, -num_train / n).round() - 1
    const double ratio = double(num_train) / double(n);
    const auto count = int64_t(std::ceil(double(num_train) / ratio));
    for (int64_t i = 0; i < count; ++i) ts.push_back(std::nearbyint(double(num_train) - double(i) * ratio) - 1);
  }
  return ts;
}

double interp_index(double x, const std::vector<double>& ys) {
  const auto last = int64_t(ys.size()) - 1;
  if (x <= 0) return ys.front();
  if (x >= double(last)) return ys.back();
  const auto j = int64_t(std::floor(x));
  const double slope = ys[size_t(j + 1)] - ys[size_t(j)];
  return x == double(j) ? ys[size_t(j)] : slope * (x - double(j)) + ys[size_t(j)];
}

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int64_t n) {
  const double rho = 7.0, min_inv = std::pow(sigma_min, 1 / rho), max_inv = std::pow(sigma_max, 1 / rho);
  std::vector<double> out;
  for (double r : np_linspace(0, 1, n)) out.push_back(std::pow(max_inv + r * (min_inv - max_inv), rho));
  return out;
}

std::vector<double> exponential_sigmas(double sigma_min, double sigma_max, int64_t n) {
  std::vector<double> out;
  for (double l : np_linspace(std::log(sigma_max), std::log(sigma_min), n)) out.push_back(std::exp(l));
  return out;
}

std::vector<double> log_f32(const std::vector<double>& xs) {
  std::vector<double> out;
  for (double x : xs) out.push_back(double(std::log(float(x))));
  return out;
}

double sigma_to_t(double sigma, const std::vector<double>& log_sigmas) {
  const double log_sigma = std::log(std::max(sigma, 1e-10));
  // The last index whose log-sigma is <= log_sigma (log_sigmas ascend), kept below the end so high exists.
  const auto n = int64_t(log_sigmas.size());
  int64_t count = 0, low = 0, best = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (log_sigma - log_sigmas[size_t(i)] >= 0) ++count;
    if (count > best) best = count, low = i;  // argmax of the running count: its first maximum
  }
  low = std::min(low, n - 2);
  const double lo = log_sigmas[size_t(low)], hi = log_sigmas[size_t(low + 1)];
  const double w = std::clamp((lo - log_sigma) / (lo - hi), 0.0, 1.0);
  return (1 - w) * double(low) + w * double(low + 1);
}

Tensor compute_dtype(const Tensor& x) { return x.to(DType::f32); }

Tensor axpby(double a, const Tensor& x, double b, const Tensor& y) { return x * a + y * b; }

Tensor per_item(const std::vector<double>& values, const Tensor& like, std::string_view op) {
  GLINT_CHECK(like.ndim() >= 1 && like.dim(0) == int64_t(values.size()), op, "expected ", values.size(),
              " batch items, got ", like.str());
  Shape shape(size_t(like.ndim()), 1);
  shape[0] = int64_t(values.size());
  std::vector<float> v(values.begin(), values.end());
  return Tensor::from_vector(v, shape, DType::f32, like.device());
}

void check_add_noise(const Tensor& original, const Tensor& noise, const std::vector<double>& timesteps) {
  GLINT_CHECK(original.shape() == noise.shape(), "add_noise", "original ", original.str(), " and noise ", noise.str(),
              " differ in shape");
  GLINT_CHECK(original.ndim() >= 1 && original.dim(0) == int64_t(timesteps.size()), "add_noise", "expected one",
              " timestep per batch item of ", original.str(), ", got ", timesteps.size());
}

Tensor add_noise_alphas(const NoiseSchedule& s, const Tensor& original, const Tensor& noise,
                        const std::vector<double>& timesteps) {
  check_add_noise(original, noise, timesteps);
  std::vector<double> a, b;
  for (double t : timesteps) {
    const double ac = s.alpha_cumprod(t);
    a.push_back(std::sqrt(ac));
    b.push_back(std::sqrt(1 - ac));
  }
  const Tensor x = compute_dtype(original), n = compute_dtype(noise);
  return (x * per_item(a, x, "add_noise") + n * per_item(b, x, "add_noise")).to(original.dtype());
}

Tensor predict_original(std::string_view prediction_type, double a_t, const Tensor& sample, const Tensor& model_output,
                        Tensor* epsilon) {
  const double sa = std::sqrt(a_t), sb = std::sqrt(1 - a_t);
  if (prediction_type == "epsilon") {
    if (epsilon) *epsilon = model_output;
    return axpby(1 / sa, sample, -sb / sa, model_output);
  }
  if (prediction_type == "sample") {
    if (epsilon) *epsilon = axpby(1 / sb, sample, -sa / sb, model_output);
    return model_output;
  }
  if (epsilon) *epsilon = axpby(sa, model_output, sb, sample);  // v_prediction
  return axpby(sa, sample, -sb, model_output);
}

}  // namespace glint::diffusion::detail
