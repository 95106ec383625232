// Optimizers a Trainer steps once per update: AdamW and SGD over named parameters (f32 master weights with their
// gradients), torch.optim semantics, per-parameter state keyed by name so that it can be saved to safetensors and
// restored bit-exactly; plus gradient-norm clipping and the weight-decay rule of transformers' Trainer.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "runtime/core/tensor.h"

namespace glint::train {

// One trainable parameter: its f32 value (updated in place) and its gradient (same shape; f32, f16 or bf16; may be
// undefined, in which case optimizers and clipping skip the parameter, as torch skips grad=None).
struct ParamRef {
  std::string name;
  Tensor value;
  Tensor grad;
};

// transformers' Trainer.get_decay_parameter_names, by name: no weight decay for biases and norm weights (names
// containing "bias", "layernorm", "rmsnorm", a ".norm." component or one ending in "_norm", case-insensitively).
// `in_layer_norm` is the module-type half of that rule: true for parameters of a LayerNorm module whose name does
// not say so (GPT-2's ln_1, ln_2, ln_f).
bool uses_weight_decay(std::string_view name, bool in_layer_norm = false);

// Optimizer state as named tensors (CPU copies, safe to keep while training goes on) and integer counters.
struct OptimizerState {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, int64_t> counters;
};

// An optimizer over named parameters. step() takes the learning rate of this step (from a schedule) and the loss
// scale the gradients still carry (1 when they are unscaled).
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Updates every parameter with a gradient in place.
  virtual void step(std::span<ParamRef> params, double lr, double grad_scale = 1.0) = 0;
  // A snapshot of the per-parameter state, keyed "<param name>.<state name>".
  virtual OptimizerState state_dict() const = 0;
  // Replaces the state with a snapshot (from state_dict(), possibly through a file); tensors move to each
  // parameter's device at its next step.
  virtual void load_state_dict(const OptimizerState& state) = 0;
};

// torch.optim.AdamW hyperparameters (its defaults), amsgrad=False. `decays` picks the parameters weight decay
// applies to (the Trainer's two param groups).
struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  std::function<bool(std::string_view)> decays = [](std::string_view n) { return uses_weight_decay(n); };
};

// AdamW with decoupled weight decay and bias correction; state exp_avg, exp_avg_sq (f32) and step per parameter.
class AdamW final : public Optimizer {
 public:
  explicit AdamW(AdamWConfig config = {});
  void step(std::span<ParamRef> params, double lr, double grad_scale = 1.0) override;
  OptimizerState state_dict() const override;
  void load_state_dict(const OptimizerState& state) override;
  const AdamWConfig& config() const { return config_; }

 private:
  struct State {
    Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
  };
  AdamWConfig config_;
  std::map<std::string, State> state_;
};

// torch.optim.SGD hyperparameters (maximize=False).
struct SgdConfig {
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  std::function<bool(std::string_view)> decays = [](std::string_view n) { return uses_weight_decay(n); };
};

// SGD with optional momentum (buffer created from the first gradient), dampening, Nesterov and L2 weight decay.
class Sgd final : public Optimizer {
 public:
  explicit Sgd(SgdConfig config = {});
  void step(std::span<ParamRef> params, double lr, double grad_scale = 1.0) override;
  OptimizerState state_dict() const override;
  void load_state_dict(const OptimizerState& state) override;

 private:
  SgdConfig config_;
  std::map<std::string, Tensor> momentum_;
};

// torch.nn.utils.clip_grad_norm_: the norm of all gradients together (norm_type > 0 or +inf; parameters may sit on
// different devices), and, when it exceeds max_norm, every gradient scaled in place by
// max_norm / (total + 1e-6). Returns the total norm as torch's f32 value. A non-finite total scales the gradients
// by NaN, as torch does without error_if_nonfinite.
double clip_grad_norm(std::span<ParamRef> params, double max_norm, double norm_type = 2.0);

// The gradient norm alone (clip_grad_norm without the scaling): what a Trainer logs as grad_norm.
double grad_norm(std::span<const ParamRef> params, double norm_type = 2.0);

}  // namespace glint::train
