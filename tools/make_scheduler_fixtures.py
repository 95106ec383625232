#!/usr/bin/env python3
"""Fixtures for glint's diffusion schedulers (tests/models/test_schedulers.cpp), made with diffusers.

For each case (a scheduler class, a scheduler_config.json, a number of inference steps and an img2img strength) it
records what diffusers does: the timesteps (and sigmas) after set_timesteps(steps), init_noise_sigma, the timesteps
the loop runs (run_timesteps: a tail of them for img2img, or LCM's strength-shortened schedule), and a whole denoising
loop on small fixed tensors of shape (2, 4, 5, 5): scale_model_input, then step with a fixed model output (and, for
the ancestral / LCM schedulers, a fixed noise drawn from torch.Generator().manual_seed(1000 + i), which the test feeds
as a tensor). The loop starts from noise0 * init_noise_sigma, or for strength < 1 from add_noise(sample0, noise0,
first timestep) as the img2img pipelines do (set_begin_index(t_start)). It also records add_noise on a fresh
scheduler at two timesteps.

  tests/data/schedulers/schedulers.json         versions, shape, and per case: config, timesteps, sigmas, ...
  tests/data/schedulers/schedulers.safetensors  the shared inputs (sample0, noise0, model_outputs, noises) and per
                                                case <name>.prev / <name>.pred / <name>.scaled (absent where scale_model_input
                                                is the identity) / <name>.add_noise
  tests/data/schedulers/dpm_sd/scheduler_config.json
                                                the dpm_sd case's config as diffusers' save_config writes it
                                                (every key, lambda_min_clipped as -Infinity)

Run with /work/venv-fixtures/bin/python (torch, diffusers from PyPI); versions go into the json.
"""
import json
import pathlib

import diffusers
import torch
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "schedulers"
SHAPE = (2, 4, 5, 5)
MAX_STEPS = 16

# Stable Diffusion 1.x's scheduler/scheduler_config.json values (the beta schedule every SD scheduler shares).
SD = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}

CASES = [
    # name, class, config, steps, strength
    ("ddim_sd", "DDIMScheduler",
     {**SD, "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1}, 6, 1.0),
    ("ddim_v_trailing_clip", "DDIMScheduler",
     {**SD, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, 5, 1.0),
    ("ddim_sample_linspace", "DDIMScheduler",
     {"beta_schedule": "linear", "prediction_type": "sample", "timestep_spacing": "linspace", "clip_sample": False},
     5, 1.0),
    ("ddim_img2img", "DDIMScheduler", {**SD, "clip_sample": False, "steps_offset": 1}, 8, 0.6),
    ("euler_sd", "EulerDiscreteScheduler", {**SD, "timestep_spacing": "leading", "steps_offset": 1}, 6, 1.0),
    ("euler_v_karras", "EulerDiscreteScheduler",
     {**SD, "prediction_type": "v_prediction", "use_karras_sigmas": True}, 6, 1.0),
    ("euler_sample_trailing_cos", "EulerDiscreteScheduler",
     {"beta_schedule": "squaredcos_cap_v2", "prediction_type": "sample", "timestep_spacing": "trailing",
      "final_sigmas_type": "sigma_min"}, 5, 1.0),
    ("euler_exponential", "EulerDiscreteScheduler", {**SD, "use_exponential_sigmas": True}, 5, 1.0),
    ("euler_img2img", "EulerDiscreteScheduler", {**SD, "timestep_spacing": "leading", "steps_offset": 1}, 8, 0.5),
    ("euler_a_sd", "EulerAncestralDiscreteScheduler", {**SD, "timestep_spacing": "leading", "steps_offset": 1}, 6,
     1.0),
    ("euler_a_v_trailing", "EulerAncestralDiscreteScheduler",
     {**SD, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, 5, 1.0),
    ("dpm_sd", "DPMSolverMultistepScheduler", {**SD}, 6, 1.0),
    ("dpm_karras_v_leading", "DPMSolverMultistepScheduler",
     {**SD, "use_karras_sigmas": True, "prediction_type": "v_prediction", "timestep_spacing": "leading",
      "steps_offset": 1}, 6, 1.0),
    ("dpm_16_steps", "DPMSolverMultistepScheduler", {**SD, "timestep_spacing": "trailing"}, 16, 1.0),
    ("dpm_order3_heun_sigma_min", "DPMSolverMultistepScheduler",
     {"beta_schedule": "linear", "algorithm_type": "dpmsolver", "solver_order": 3, "solver_type": "heun",
      "final_sigmas_type": "sigma_min", "lower_order_final": False}, 6, 1.0),
    ("dpm_sample_cos", "DPMSolverMultistepScheduler",
     {"beta_schedule": "squaredcos_cap_v2", "prediction_type": "sample"}, 5, 1.0),
    ("dpm_img2img", "DPMSolverMultistepScheduler", {**SD, "use_karras_sigmas": True}, 8, 0.5),
    ("pndm_sd", "PNDMScheduler", {**SD, "skip_prk_steps": True, "set_alpha_to_one": False, "steps_offset": 1}, 6,
     1.0),
    ("pndm_v_trailing", "PNDMScheduler",
     {**SD, "skip_prk_steps": True, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, 5, 1.0),
    ("pndm_prk_linspace", "PNDMScheduler", {"beta_schedule": "linear", "timestep_spacing": "linspace"}, 4, 1.0),
    ("lcm_default", "LCMScheduler", {}, 4, 1.0),
    ("lcm_v_trailing_clip", "LCMScheduler",
     {"prediction_type": "v_prediction", "timestep_spacing": "trailing", "clip_sample": True}, 3, 1.0),
    ("lcm_img2img", "LCMScheduler", {}, 4, 0.5),
    ("dpm_lambda_clipped_cos", "DPMSolverMultistepScheduler",
     {"beta_schedule": "squaredcos_cap_v2", "lambda_min_clipped": -5.1, "final_sigmas_type": "sigma_min"}, 5, 1.0),
]


def noise_for_step(i):
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(1000 + i))


def run_case(name, cls_name, config, steps, strength, shared, tensors):
    cls = getattr(diffusers, cls_name)
    full_config = {"_class_name": cls_name, **config}
    sched = cls.from_config(full_config)
    lcm = cls_name == "LCMScheduler"
    sched.set_timesteps(steps, **({"strength": strength} if lcm else {}))
    order = sched.order
    timesteps = sched.timesteps
    t_start = 0
    if lcm and strength < 1.0:  # LatentConsistencyModelImg2ImgPipeline: the scheduler applies strength
        sample = sched.add_noise(shared["sample0"], shared["noise0"], timesteps[:1].repeat(SHAPE[0]))
    elif strength < 1.0:  # StableDiffusionImg2ImgPipeline.get_timesteps
        init_timestep = min(int(steps * strength), steps)
        t_start = max(steps - init_timestep, 0)
        timesteps = timesteps[t_start * order:]
        if hasattr(sched, "set_begin_index"):
            sched.set_begin_index(t_start * order)
        sample = sched.add_noise(shared["sample0"], shared["noise0"], timesteps[:1].repeat(SHAPE[0]))
    else:
        sample = shared["noise0"] * sched.init_noise_sigma
    fresh = cls.from_config(full_config)  # set_timesteps(steps) alone: the full schedule
    fresh.set_timesteps(steps)
    case = {"name": name, "class": cls_name, "config": full_config, "steps": steps, "strength": strength,
            "timesteps": [float(t) for t in fresh.timesteps], "run_timesteps": [float(t) for t in timesteps],
            "init_noise_sigma": float(fresh.init_noise_sigma)}
    if hasattr(fresh, "sigmas") and fresh.sigmas is not None:
        case["sigmas"] = [float(s) for s in fresh.sigmas]
    prev, pred, scaled = [], [], []
    scales = False  # whether scale_model_input is more than the identity
    for i, t in enumerate(timesteps):
        scaled.append(sched.scale_model_input(sample, t))
        scales = scales or not torch.equal(scaled[-1], sample)
        kwargs = {}
        if "generator" in sched.step.__code__.co_varnames:
            kwargs["generator"] = torch.Generator().manual_seed(1000 + i)
        out = sched.step(shared["model_outputs"][i], t, sample, **kwargs)
        prev.append(out.prev_sample)
        original = getattr(out, "pred_original_sample", None)
        if original is None:
            original = getattr(out, "denoised", None)
        if original is not None:
            pred.append(original)
        sample = out.prev_sample
    tensors[f"{name}.prev"] = torch.stack(prev)
    if scales:
        tensors[f"{name}.scaled"] = torch.stack(scaled)
    if pred:
        tensors[f"{name}.pred"] = torch.stack(pred)
    case["has_pred"] = bool(pred)

    add_ts = fresh.timesteps[[0, len(fresh.timesteps) // 2]]
    case["add_noise_timesteps"] = [float(t) for t in add_ts]
    tensors[f"{name}.add_noise"] = fresh.add_noise(shared["sample0"], shared["noise0"], add_ts)
    return case


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    shared = {
        "sample0": torch.randn(SHAPE, generator=g),
        "noise0": torch.randn(SHAPE, generator=g),
        "model_outputs": torch.randn((MAX_STEPS, *SHAPE), generator=g),
        "noises": torch.stack([noise_for_step(i) for i in range(MAX_STEPS)]),
    }
    tensors = dict(shared)
    cases = [run_case(*c, shared, tensors) for c in CASES]
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, str(OUT / "schedulers.safetensors"))
    meta = {"versions": {"diffusers": diffusers.__version__, "torch": torch.__version__}, "shape": list(SHAPE),
            "cases": cases}
    (OUT / "schedulers.json").write_text(json.dumps(meta, indent=1) + "\n")
    name, cls_name, config = CASES[11][:3]
    assert name == "dpm_sd"
    getattr(diffusers, cls_name).from_config(config).save_config(str(OUT / name))


if __name__ == "__main__":
    main()
