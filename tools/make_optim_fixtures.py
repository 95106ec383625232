#!/usr/bin/env python3
"""Golden numbers for tests/trainers/test_optim.cpp, made with PyPI torch and transformers.

Writes tests/data/optim/:
  optim.safetensors  initial params, the gradients of each step, and the params / optimizer states after N steps
                     of every AdamW and SGD case; clip_grad_norm inputs and clipped outputs
  optim.json         versions, hyperparameters, the per-step learning rates, clip totals, and the lr of every
                     transformers schedule for steps 0..M

Run: /work/venv-fixtures/bin/python tools/make_optim_fixtures.py
"""
import json
import math
import re
from pathlib import Path

import safetensors.torch
import torch
import transformers

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "optim"
STEPS = 5
# Odd sizes on purpose; the names exercise the weight-decay rule (bias / norm parameters get none).
PARAMS = {
    "model.embed_tokens.weight": (17, 13),
    "model.layers.0.self_attn.q_proj.weight": (7, 5),
    "model.layers.0.self_attn.q_proj.bias": (7,),
    "model.layers.0.input_layernorm.weight": (13,),
    "model.norm.weight": (3,),
    "lm_head.weight": (1, 1),
}

# transformers' Trainer.get_decay_parameter_names, by name (no module types here).
NO_DECAY = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]


def decays(name):
    return not any(re.search(p, name.lower()) for p in NO_DECAY)


def initial():
    g = torch.Generator().manual_seed(1234)
    params = {n: torch.randn(s, generator=g, dtype=torch.float32) for n, s in PARAMS.items()}
    grads = [{n: torch.randn(s, generator=g, dtype=torch.float32) * 0.1 for n, s in PARAMS.items()} for _ in range(STEPS)]
    return params, grads


def lrs(base):
    return [base * (k + 1) / STEPS for k in range(STEPS)]  # a different lr every step


def run(case, make_opt, base_lr, tensors, meta, state_keys):
    params, grads = initial()
    live = {n: p.clone().requires_grad_(True) for n, p in params.items()}
    opt = make_opt(live)
    for k, lr in enumerate(lrs(base_lr)):
        for group in opt.param_groups:
            group["lr"] = lr
        for n, p in live.items():
            p.grad = grads[k][n].clone()
        opt.step()
    for n, p in live.items():
        tensors[f"{case}.param.{n}"] = p.detach().clone()
        for key in state_keys:
            tensors[f"{case}.{key}.{n}"] = opt.state[p][key].clone()
    meta[case]["lrs"] = lrs(base_lr)


def groups(live, weight_decay):
    return [
        {"params": [p for n, p in live.items() if decays(n)], "weight_decay": weight_decay},
        {"params": [p for n, p in live.items() if not decays(n)], "weight_decay": 0.0},
    ]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    params, grads = initial()
    tensors = {f"init.{n}": p for n, p in params.items()}
    for k in range(STEPS):
        tensors.update({f"grad{k}.{n}": g for n, g in grads[k].items()})
    meta = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "steps": STEPS,
        "params": {n: {"shape": list(s), "decay": decays(n)} for n, s in PARAMS.items()},
    }

    adamw_cases = {
        "adamw_default": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
        # beta1 < 0.5 takes lerp's other branch (end - (end - self) * (1 - w))
        "adamw_lowbeta": dict(lr=3e-2, betas=(0.3, 0.95), eps=1e-6, weight_decay=0.1),
        "adamw_nodecay": dict(lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.0),
    }
    for case, h in adamw_cases.items():
        meta[case] = {"beta1": h["betas"][0], "beta2": h["betas"][1], "eps": h["eps"], "weight_decay": h["weight_decay"]}
        make = lambda live, h=h: torch.optim.AdamW(groups(live, h["weight_decay"]), lr=h["lr"], betas=h["betas"],
                                                   eps=h["eps"], amsgrad=False, foreach=False)
        run(case, make, h["lr"], tensors, meta, ["exp_avg", "exp_avg_sq"])
        meta[case]["step"] = STEPS

    sgd_cases = {
        "sgd_plain": dict(lr=0.1, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0),
        "sgd_momentum": dict(lr=0.05, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0),
        "sgd_dampening": dict(lr=0.05, momentum=0.8, dampening=0.3, nesterov=False, weight_decay=0.01),
        "sgd_nesterov": dict(lr=0.05, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.02),
    }
    for case, h in sgd_cases.items():
        meta[case] = {k: v for k, v in h.items() if k != "lr"}
        make = lambda live, h=h: torch.optim.SGD(groups(live, h["weight_decay"]), lr=h["lr"], momentum=h["momentum"],
                                                 dampening=h["dampening"], nesterov=h["nesterov"], foreach=False)
        run(case, make, h["lr"], tensors, meta, ["momentum_buffer"] if h["momentum"] else [])

    meta["clip"] = {}
    for case, (max_norm, norm_type) in {"clip_l2": (0.5, 2.0), "clip_l1": (1.0, 1.0), "clip_inf": (0.05, math.inf),
                                        "clip_l3": (0.2, 3.0), "clip_none": (1e6, 2.0)}.items():
        live = [p.clone().requires_grad_(True) for p in params.values()]
        for p, g in zip(live, grads[0].values()):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(live, max_norm, norm_type=norm_type, foreach=False)
        for n, p in zip(PARAMS, live):
            tensors[f"{case}.{n}"] = p.grad.clone()
        meta["clip"][case] = {"max_norm": max_norm, "norm_type": "inf" if math.isinf(norm_type) else norm_type,
                              "total": float(total)}

    # The lr after each optimizer step k is base_lr * lambda(k): what transformers' Trainer uses at step k.
    base_lr, warmup, total = 2e-3, 3, 12
    schedule_cases = {
        "constant": ("constant", 0, {}),
        "constant_with_warmup": ("constant_with_warmup", warmup, {}),
        "linear": ("linear", warmup, {}),
        "cosine": ("cosine", warmup, {}),
        "cosine_half_cycles": ("cosine", warmup, {"num_cycles": 1.5}),
        "cosine_with_restarts": ("cosine_with_restarts", warmup, {"num_cycles": 3}),
        "polynomial": ("polynomial", warmup, {"lr_end": 1e-4, "power": 2.0}),
        "polynomial_default": ("polynomial", 0, {}),
        "inverse_sqrt": ("inverse_sqrt", warmup, {}),
        "inverse_sqrt_nowarmup": ("inverse_sqrt", 0, {}),
        "inverse_sqrt_timescale": ("inverse_sqrt", warmup, {"timescale": 7}),
        "linear_nowarmup": ("linear", 0, {}),
    }
    meta["schedules"] = {"base_lr": base_lr, "training_steps": total, "cases": {}}
    for case, (name, w, kwargs) in schedule_cases.items():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=base_lr)
        sched = transformers.get_scheduler(name, opt, num_warmup_steps=w, num_training_steps=total,
                                           scheduler_specific_kwargs=kwargs)
        values = []
        for _ in range(total + 4):  # past the end too
            values.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        meta["schedules"]["cases"][case] = {"name": name, "warmup_steps": w, "kwargs": kwargs, "lrs": values}

    safetensors.torch.save_file({k: v.contiguous() for k, v in tensors.items()}, OUT / "optim.safetensors")
    (OUT / "optim.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
