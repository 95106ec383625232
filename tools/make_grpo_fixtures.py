"""One GRPO micro-batch's loss and gradients through TRL's own GRPOTrainer._compute_loss, and TRL's group-normalised
advantages, for tests/trainers/test_grpo.cpp, on tests/data/models/llama.

The completions, advantages, old-policy and reference log-probs are fixed here and fed to both sides (no sampling
in the comparison). The batch is laid out as GRPOTrainer builds it: prompts of different lengths left-padded,
completions of different lengths right-padded, scored by TRL's fused LM head at the sampling temperature.
_compute_loss runs unbound on a stub trainer that holds the attributes it reads (one process, one accumulation
step, so the returned loss is the micro-batch's loss that glint's Trainer divides by gradient_accumulation_steps).
The advantages of _generate_and_score_completions (sum_then_normalize, inline there) are written out as TRL 1.16
has them, with trl's nanstd.

Per loss case: tests/data/grpo/<case>.json (batch, options, loss, metrics, versions) and <case>.safetensors
("grad.<param>"); tests/data/grpo/advantages.json for the advantage cases.

Run: /work/venv-fixtures/bin/python tools/make_grpo_fixtures.py
"""
import collections
import contextlib
import json
import pathlib
import types

import torch
import transformers
import trl
from transformers import AutoModelForCausalLM
from trl.trainer.grpo_trainer import GRPOTrainer
from trl.trainer.utils import add_fused_lm_head, nanstd

from make_alignment_fixtures import save

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "tests" / "data" / "models" / "llama"
OUT = ROOT / "tests" / "data" / "grpo"
PAD = 0
TEMPERATURE = 0.7
MAX_COMPLETION_LENGTH = 8
# (prompt, completion) lengths: two prompts of two completions each, all lengths different.
ROWS = [(3, 5), (3, 2), (5, 4), (5, 6)]


def batch(g, vocab):
    tok = lambda n: torch.randint(3, vocab, (n,), generator=g).tolist()
    prompts = [tok(p) for p, _ in ROWS[::2] for _ in range(2)]
    completions = [tok(c) for _, c in ROWS]
    p, c = max(map(len, prompts)), max(map(len, completions))
    prompt_ids = torch.tensor([[PAD] * (p - len(x)) + x for x in prompts])
    prompt_mask = torch.tensor([[0] * (p - len(x)) + [1] * len(x) for x in prompts])
    completion_ids = torch.tensor([x + [PAD] * (c - len(x)) for x in completions])
    completion_mask = torch.tensor([[1] * len(x) + [0] * (c - len(x)) for x in completions])
    return {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
            "completion_mask": completion_mask}


def load_policy():
    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager")
    add_fused_lm_head(model, temperature=TEMPERATURE, outputs=("log_probs", "entropy"))
    model.train()  # the tiny model has no dropout
    return model


def stub_trainer(model, loss_type, beta, epsilon, epsilon_high, steps_per_generation):
    accelerator = types.SimpleNamespace(
        num_processes=1, is_main_process=True, device=torch.device("cpu"), autocast=contextlib.nullcontext,
        gather=lambda x: x, gather_for_metrics=lambda x: x, reduce=lambda x, reduction="sum": x)
    args = types.SimpleNamespace(use_bias_correction_kl=False, delta=None, steps_per_generation=steps_per_generation)
    stub = types.SimpleNamespace(
        model=model, accelerator=accelerator, args=args, loss_type=loss_type, beta=beta, epsilon_low=epsilon,
        epsilon_high=epsilon_high, max_completion_length=MAX_COMPLETION_LENGTH, top_entropy_quantile=1.0,
        off_policy_mask_threshold=None, importance_sampling_level="token", use_vllm=False,
        vllm_importance_sampling_correction=False, current_gradient_accumulation_steps=1,
        _entropy_bonus_enabled=False, aux_loss_enabled=False,
        _metrics=collections.defaultdict(lambda: collections.defaultdict(list)))
    stub._get_per_token_logps_and_entropies = types.MethodType(GRPOTrainer._get_per_token_logps_and_entropies, stub)
    return stub


def current_logps(inputs):
    with torch.no_grad():
        stub = stub_trainer(load_policy(), "grpo", 0.0, 0.2, 0.2, 1)
        ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
        mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
        logps, _, _ = stub._get_per_token_logps_and_entropies(stub.model, ids, mask, inputs["completion_ids"].size(1))
    return logps


def loss_case(name, inputs, loss_type, beta, old, ref, num_items=None, steps_per_generation=1, epsilon_high=0.28):
    model = load_policy()
    stub = stub_trainer(model, loss_type, beta, 0.2, epsilon_high, steps_per_generation)
    full = dict(inputs)
    full["num_items_in_batch"] = torch.tensor(float(num_items if num_items is not None else
                                                    inputs["completion_mask"].sum().item()))
    if old is not None:
        full["old_per_token_logps"] = old
    if beta != 0.0:
        full["ref_per_token_logps"] = ref
    loss = GRPOTrainer._compute_loss(stub, model, full)
    loss.backward()
    metrics = {k: v[-1] for k, v in stub._metrics["train"].items()}
    meta = {"loss_type": loss_type, "beta": beta, "epsilon": 0.2, "epsilon_high": epsilon_high,
            "temperature": TEMPERATURE, "max_completion_length": MAX_COMPLETION_LENGTH,
            "num_items_in_batch": full["num_items_in_batch"].item(), "steps_per_generation": steps_per_generation,
            "input_ids": torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1).tolist(),
            "attention_mask": torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], 1).tolist(),
            "completion_mask": inputs["completion_mask"].tolist(), "advantages": inputs["advantages"].tolist(),
            "old_logps": None if old is None else old.tolist(), "ref_logps": None if beta == 0.0 else ref.tolist(),
            "loss": loss.item(), "metrics": metrics}
    grads = {"grad." + n: p.grad.detach().clone().contiguous() for n, p in model.named_parameters()
             if p.grad is not None}
    save(name, meta, grads, OUT)


def advantages_case(rewards_per_func, weights, num_generations, scale_rewards):
    """GRPOTrainer._generate_and_score_completions, multi_objective_aggregation sum_then_normalize, TRL 1.16."""
    reward_weights = torch.tensor(weights, dtype=torch.float32)
    unscorable_mask = torch.isnan(rewards_per_func).all(dim=1)
    rewards = (rewards_per_func * reward_weights.unsqueeze(0)).nansum(dim=1)
    rewards[unscorable_mask] = torch.nan
    mean_grouped_rewards = torch.nanmean(rewards.view(-1, num_generations), dim=1)
    mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(num_generations, dim=0)
    if scale_rewards in ["group", "none"]:
        std_rewards = nanstd(rewards.view(-1, num_generations), dim=1)
        std_rewards = std_rewards.repeat_interleave(num_generations, dim=0)
    else:
        std_rewards = nanstd(rewards).expand_as(rewards)
    advantages = rewards - mean_grouped_rewards
    if scale_rewards != "none":
        advantages = advantages / (std_rewards + 1e-4)
    is_std_zero = torch.isclose(std_rewards, torch.zeros_like(std_rewards))
    advantages = torch.nan_to_num(advantages, nan=0.0)
    names = ["r0", "r1"]
    metrics = {}
    for i, name in enumerate(names):
        metrics[f"rewards/{name}/mean"] = torch.nanmean(rewards_per_func[:, i]).item()
        metrics[f"rewards/{name}/std"] = nanstd(rewards_per_func[:, i]).item()
    logged = (rewards_per_func * reward_weights.unsqueeze(0)).nansum(dim=1)
    logged[unscorable_mask] = torch.nan
    metrics["reward"] = torch.nanmean(logged).item()
    metrics["reward_std"] = nanstd(logged).item()
    metrics["frac_reward_zero_std"] = is_std_zero.float().mean().item()
    nan_to_none = lambda rows: [[None if x != x else x for x in r] for r in rows]
    return {"rewards": nan_to_none(rewards_per_func.tolist()), "names": names, "weights": weights,
            "num_generations": num_generations, "scale_rewards": scale_rewards,
            "advantages": advantages.tolist(), "metrics": metrics}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    vocab = transformers.AutoConfig.from_pretrained(MODEL).vocab_size
    g = torch.Generator().manual_seed(2025)
    inputs = batch(g, vocab)
    inputs["advantages"] = torch.tensor([1.2, -0.7, 0.4, -1.1])
    logps = current_logps(inputs)
    # An earlier policy's log-probs (num_iterations > 1) far enough off that tokens clip on both sides, and a
    # reference near the policy.
    old = logps + torch.randn(logps.shape, generator=g) * 0.4
    ref = logps + torch.randn(logps.shape, generator=g) * 0.3
    loss_case("grpo_on_policy", inputs, "grpo", 0.0, None, None)
    loss_case("grpo", inputs, "grpo", 0.04, old, ref)
    loss_case("bnpo", inputs, "bnpo", 0.04, old, ref)
    loss_case("dr_grpo", inputs, "dr_grpo", 0.04, old, ref)
    loss_case("dapo", inputs, "dapo", 0.04, old, ref, num_items=40, steps_per_generation=2)

    nan = float("nan")
    rewards = torch.tensor([[1.0, 0.5], [0.0, 0.5], [1.0, nan], [1.0, 0.0],  # groups of 4 (one all-equal sum)
                            [0.0, 1.0], [nan, nan], [1.0, 1.0], [0.0, 0.0],
                            [0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    cases = [advantages_case(rewards, [1.0, 0.5], 4, s) for s in ("group", "batch", "none")]
    meta = {"cases": cases, "versions": {"torch": torch.__version__, "trl": trl.__version__}}
    (OUT / "advantages.json").write_text(json.dumps(meta, indent=1) + "\n")
    print("advantages", [c["advantages"] for c in cases])


if __name__ == "__main__":
    main()
