// DPMSolverMultistepScheduler (Lu et al. 2022, "DPM-Solver++"): a multistep exponential integrator of the diffusion
// ODE in log-SNR time lambda = log(alpha_t / sigma_t). Each step converts the model output to a data prediction x0
// (dpmsolver++) or a noise prediction (dpmsolver) and combines it with the previous steps' predictions: order 2
// ("DPM++ 2M") uses a finite difference of the last two. The first step, and the last ones of short schedules
// (lower_order_final) or when the final sigma is zero, fall back to lower orders, as diffusers does.
#include <cmath>
#include <deque>
#include <limits>

#include "models/diffusion/schedulers/schedule.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint::diffusion::detail {
namespace {

// alpha_t, sigma_t and lambda_t of the VP process at noise level s (x = alpha_t x0 + sigma_t eps, s = sigma/alpha).
struct Level {
  double alpha, sigma, lambda;
  explicit Level(double s) : alpha(1 / std::sqrt(s * s + 1)), sigma(s * alpha) {
    lambda = std::log(alpha) - std::log(sigma);
  }
};

class DPMSolverMultistepScheduler final : public Scheduler {
 public:
  explicit DPMSolverMultistepScheduler(const io::JsonFile& c)
      : schedule_(read_noise_schedule(c)),
        order_(read_int_at_least(c, "solver_order", 2, 1)),
        prediction_type_(read_choice(c, "prediction_type", "epsilon", {"epsilon", "sample", "v_prediction"})),
        algorithm_(read_choice(c, "algorithm_type", "dpmsolver++", {"dpmsolver++", "dpmsolver"})),
        solver_type_(read_choice(c, "solver_type", "midpoint", {"midpoint", "heun"})),
        spacing_(read_choice(c, "timestep_spacing", "linspace", {"linspace", "leading", "trailing"})),
        final_sigmas_type_(read_choice(c, "final_sigmas_type", "zero", {"zero", "sigma_min"})),
        steps_offset_(read_int_at_least(c, "steps_offset", 0, 0)),
        lower_order_final_(c.get_or<bool>("lower_order_final", true)),
        euler_at_final_(c.get_or<bool>("euler_at_final", false)),
        karras_(c.get_or<bool>("use_karras_sigmas", false)),
        exponential_(c.get_or<bool>("use_exponential_sigmas", false)),
        lambda_min_clipped_(c.get_or<double>("lambda_min_clipped", -std::numeric_limits<double>::infinity())) {
    if (order_ > 3) fail("scheduler", c.where, ": solver_order must be 1, 2 or 3, got ", order_);
    if (karras_ && exponential_)
      fail("scheduler", c.where, ": only one of use_karras_sigmas and use_exponential_sigmas can be set");
    if (algorithm_ == "dpmsolver" && final_sigmas_type_ == "zero")
      fail("scheduler", c.where, ": final_sigmas_type 'zero' needs algorithm_type dpmsolver++ (use 'sigma_min')");
    if (c.has("variance_type")) fail("scheduler", c.where, ": variance_type (learned variance) is not supported");
    reject_option(c, "thresholding", true, "dynamic thresholding is not implemented");
    for (auto key : {"use_beta_sigmas", "use_lu_lambdas", "use_flow_sigmas", "use_dynamic_shifting"})
      reject_option(c, key, true, "only the karras, exponential and interpolated sigmas are implemented");
  }

  std::string_view class_name() const override { return "DPMSolverMultistepScheduler"; }

  SchedulerStep step(const Tensor& model_output, double t, const Tensor& sample, const Tensor&) override {
    check_ready("step");
    const int64_t i = step_index(t), n = int64_t(full_timesteps_.size());
    const bool short_schedule = lower_order_final_ && n < 15;
    const bool first_order_final = i == n - 1 && (euler_at_final_ || short_schedule || final_sigmas_type_ == "zero");
    const bool second_order_final = i == n - 2 && short_schedule;
    const Tensor x = compute_dtype(sample);
    history_.push_back(convert_model_output(compute_dtype(model_output), x, Level(sigmas_[size_t(i)])));
    if (int64_t(history_.size()) > order_) history_.pop_front();

    int64_t use_order = 3;
    if (order_ == 1 || lower_order_nums_ < 1 || first_order_final)
      use_order = 1;
    else if (order_ == 2 || lower_order_nums_ < 2 || second_order_final)
      use_order = 2;
    const Tensor prev = update(use_order, i, x);
    lower_order_nums_ = std::min(lower_order_nums_ + 1, order_);
    ++step_index_;
    return {prev.to(model_output.dtype()), Tensor()};
  }

  Tensor add_noise(const Tensor& original, const Tensor& noise, const std::vector<double>& ts) const override {
    check_add_noise(original, noise, ts);
    std::vector<double> a, s;
    for (double sigma : noise_sigmas(ts)) {
      const Level l(sigma);
      a.push_back(l.alpha);
      s.push_back(l.sigma);
    }
    const Tensor x = compute_dtype(original);
    return (x * per_item(a, x, "add_noise") + compute_dtype(noise) * per_item(s, x, "add_noise")).to(original.dtype());
  }

 protected:
  void build_schedule(int64_t n) override {
    schedule_.check_steps(n, class_name());
    const int64_t num_train = schedule_.num_train_timesteps;
    const int64_t last = num_train - clipped_index();
    std::vector<double> ts;
    if (spacing_ == "linspace") {
      const std::vector<double> grid = np_linspace(0, double(last - 1), n + 1);
      for (int64_t k = n; k >= 1; --k) ts.push_back(std::nearbyint(grid[size_t(k)]));
    } else if (spacing_ == "leading") {
      const int64_t ratio = last / (n + 1);
      for (int64_t k = n; k >= 1; --k) ts.push_back(double(k * ratio + steps_offset_));
    } else {  // trailing: np.arange(last, 0, -num_train / n).round() - 1
      const double ratio = double(num_train) / double(n);
      const auto count = int64_t(std::ceil(double(last) / ratio));
      for (int64_t k = 0; k < count; ++k) ts.push_back(std::nearbyint(double(last) - double(k) * ratio) - 1);
    }
    const std::vector<double> train = schedule_.train_sigmas();
    std::vector<double> sig;
    if (karras_ || exponential_) {
      sig =
          karras_ ? karras_sigmas(train.front(), train.back(), n) : exponential_sigmas(train.front(), train.back(), n);
      const std::vector<double> log_train = log_f32(train);
      ts.clear();
      for (double s : sig) {
        const double tt = sigma_to_t(s, log_train);
        ts.push_back(karras_ && schedule_.beta_schedule != "squaredcos_cap_v2" ? std::nearbyint(tt) : tt);
      }
    } else {
      for (double tt : ts) sig.push_back(interp_index(tt, train));
    }
    sig.push_back(final_sigmas_type_ == "zero" ? 0.0 : train.front());
    sigmas_.clear();
    for (double s : sig) sigmas_.push_back(f32(s));
    full_timesteps_.clear();
    for (double tt : ts) full_timesteps_.push_back(std::trunc(tt));  // .to(torch.int64)
    history_.clear();
    lower_order_nums_ = 0;
  }

 private:
  // How many of the highest timesteps lambda_min_clipped cuts off (torch.searchsorted on the ascending lambdas).
  int64_t clipped_index() const {
    int64_t idx = 0;
    for (auto it = schedule_.alphas_cumprod.rbegin(); it != schedule_.alphas_cumprod.rend(); ++it, ++idx) {
      const float a = float(*it);
      const double lambda = double(std::log(std::sqrt(a)) - std::log(std::sqrt(1.f - a)));
      if (lambda >= lambda_min_clipped_) break;
    }
    return idx;
  }

  // The data prediction x0 (dpmsolver++) or noise prediction (dpmsolver) from the model output at level l.
  Tensor convert_model_output(const Tensor& out, const Tensor& x, const Level& l) const {
    if (algorithm_ == "dpmsolver++") {
      if (prediction_type_ == "epsilon") return axpby(1 / l.alpha, x, -l.sigma / l.alpha, out);
      if (prediction_type_ == "v_prediction") return axpby(l.alpha, x, -l.sigma, out);
      return out;
    }
    if (prediction_type_ == "epsilon") return out;
    if (prediction_type_ == "v_prediction") return axpby(l.alpha, out, l.sigma, x);
    return axpby(1 / l.sigma, x, -l.alpha / l.sigma, out);
  }

  // x_{i+1} from x_i with the last `use_order` predictions: x_t = cx * x + c0 * D0 + c1 * D1 + c2 * D2, the
  // coefficients from diffusers' dpm_solver_first_order_update and multistep_dpm_solver_{second,third}_order_update.
  Tensor update(int64_t use_order, int64_t i, const Tensor& x) const {
    const Level lt(sigmas_[size_t(i + 1)]), l0(sigmas_[size_t(i)]);
    const double h = lt.lambda - l0.lambda;
    const bool pp = algorithm_ == "dpmsolver++";
    // phi1 = e^{-h} - 1 (dpmsolver++) or e^{h} - 1 (dpmsolver): the first-order terms.
    const double phi1 = pp ? std::expm1(-h) : std::expm1(h);
    const double cx = pp ? lt.sigma / l0.sigma : lt.alpha / l0.alpha;
    const double c0 = pp ? -lt.alpha * phi1 : -lt.sigma * phi1;
    const Tensor& m0 = history_.back();
    Tensor result = axpby(cx, x, c0, m0);
    if (use_order == 1) return result;

    const Level l1(sigmas_[size_t(i - 1)]);
    const double r0 = (l0.lambda - l1.lambda) / h;
    const Tensor& m1 = history_[history_.size() - 2];
    const Tensor d1_0 = (m0 - m1) * (1.0 / r0);
    // The D1 coefficient: midpoint and order 3 use the same forms as heun's except midpoint's order-2 term.
    const double c1_heun = pp ? lt.alpha * (phi1 / h + 1) : -lt.sigma * (phi1 / h - 1);
    if (use_order == 2) {
      const double c1 = solver_type_ == "midpoint" ? 0.5 * c0 : c1_heun;
      return result + d1_0 * c1;
    }
    const Level l2(sigmas_[size_t(i - 2)]);
    const double r1 = (l1.lambda - l2.lambda) / h;
    const Tensor& m2 = history_[history_.size() - 3];
    const Tensor d1_1 = (m1 - m2) * (1.0 / r1);
    const Tensor d1 = d1_0 + (d1_0 - d1_1) * (r0 / (r0 + r1));
    const Tensor d2 = (d1_0 - d1_1) * (1.0 / (r0 + r1));
    const double c2 = pp ? -lt.alpha * ((phi1 + h) / (h * h) - 0.5) : -lt.sigma * ((phi1 - h) / (h * h) - 0.5);
    return result + d1 * c1_heun + d2 * c2;
  }

  NoiseSchedule schedule_;
  int64_t order_;
  std::string prediction_type_, algorithm_, solver_type_, spacing_, final_sigmas_type_;
  int64_t steps_offset_;
  bool lower_order_final_, euler_at_final_, karras_, exponential_;
  double lambda_min_clipped_;
  std::deque<Tensor> history_;  // the last solver_order converted model outputs, oldest first
  int64_t lower_order_nums_ = 0;
};

}  // namespace

std::unique_ptr<Scheduler> make_dpm_solver_multistep(const io::JsonFile& c) {
  return std::make_unique<DPMSolverMultistepScheduler>(c);
}

}  // namespace glint::diffusion::detail
