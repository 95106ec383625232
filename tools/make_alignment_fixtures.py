"""One batch of each TRL alignment loss on tests/data/models/llama, for tests/trainers/test_alignment.cpp.

Per-token log-probs come from TRL's own fused LM head (trl.trainer.utils.add_fused_lm_head: the forward DPOTrainer and
KTOTrainer call), the ORPO and SimPO terms from ORPOTrainer.odds_ratio_loss and CPOTrainer.cpo_loss; DPOTrainer's,
KTOTrainer's and RewardTrainer's loss lines (inline in their compute_loss) are written out here as TRL 1.16 has
them. The batch is what TRL's collators produce after flush_left: each row prompt + completion, right-padded, with
labels -100 outside the completion; a paired batch holds every chosen row, then every rejected row. Reference
log-probs are given (precompute_ref_log_probs). The reward model is transformers' LlamaForSequenceClassification
over the same weights with a seeded score head.

Per case: tests/data/alignment/<case>.json (batch, options, loss, metrics, versions) and <case>.safetensors
("grad.<param>"; the reward case also "init.score.weight").

Run: /work/venv-fixtures/bin/python tools/make_alignment_fixtures.py
"""
import importlib.metadata
import json
import pathlib
import types

import safetensors.torch
import torch
import torch.nn.functional as F
import transformers
import trl
from transformers import AutoModelForCausalLM, LlamaForSequenceClassification
from trl.experimental.cpo import CPOTrainer
from trl.experimental.orpo import ORPOTrainer
from trl.trainer.utils import add_fused_lm_head

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "tests" / "data" / "models" / "llama"
OUT = ROOT / "tests" / "data" / "alignment"
PAD = 0

# (prompt, chosen, rejected) lengths of the two pairs; odd sizes so rows pad differently.
PAIRS = [(3, 3, 2), (2, 4, 5)]


def rows_batch(prompts, completions):
    """Right-padded rows prompt + completion: input_ids, attention_mask, labels (-100 outside completions)."""
    t = max(len(p) + len(c) for p, c in zip(prompts, completions))
    ids, mask, labels = [], [], []
    for p, c in zip(prompts, completions):
        n = len(p) + len(c)
        ids.append(p + c + [PAD] * (t - n))
        mask.append([1] * n + [0] * (t - n))
        labels.append([-100] * len(p) + c + [-100] * (t - n))
    return torch.tensor(ids), torch.tensor(mask), torch.tensor(labels)


def summed_logps(model, ids, mask, labels):
    """Per-row summed completion log-probs and completion lengths, as DPOTrainer._compute_loss takes them."""
    lp = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True, use_cache=False).log_probs
    return lp.sum(dim=1), (labels[:, 1:] != -100).sum(dim=1).float()


def load_policy():
    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager")
    add_fused_lm_head(model)
    model.train()  # the tiny model has no dropout
    return model


def grads(model):
    return {"grad." + n: p.grad.detach().clone().contiguous() for n, p in model.named_parameters() if p.grad is not None}


def save(name, meta, tensors, out=OUT):
    """Writes a fixture, name.safetensors and name.json (meta with the library versions), into `out`."""
    safetensors.torch.save_file(tensors, out / f"{name}.safetensors")
    meta["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
                        "safetensors": importlib.metadata.version("safetensors")}
    (out / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(name, "loss", meta["loss"])


def paired_batch(g, vocab):
    tok = lambda n: torch.randint(3, vocab, (n,), generator=g).tolist()
    prompts = [tok(p) for p, _, _ in PAIRS]
    chosen = [tok(c) for _, c, _ in PAIRS]
    rejected = [tok(r) for _, _, r in PAIRS]
    return rows_batch(prompts + prompts, chosen + rejected)


def dpo_case(name, loss_type, beta, label_smoothing, batch, ref):
    model = load_policy()
    ids, mask, labels = batch
    logps, tokens = summed_logps(model, ids, mask, labels)
    chosen, rejected = logps.chunk(2)
    ref_chosen, ref_rejected = ref.chunk(2)
    chosen_ratio, rejected_ratio = chosen - ref_chosen, rejected - ref_rejected
    delta = chosen_ratio - rejected_ratio
    # DPOTrainer._compute_loss, f_divergence_type reverse_kl, TRL 1.16.
    if loss_type == "sigmoid":
        per = -F.logsigmoid(beta * delta)
    elif loss_type == "hinge":
        per = torch.relu(1 - beta * delta)
    elif loss_type == "ipo":
        # completion_mask.sum over the unshifted rows: the completion never starts at position 0 here.
        chosen_len, rejected_len = tokens.chunk(2)
        d = chosen_ratio / chosen_len.clamp(min=1.0) - rejected_ratio / rejected_len.clamp(min=1.0)
        per = (d - 1 / (2 * beta)) ** 2
    elif loss_type == "robust":
        clean = -(1 - label_smoothing) * F.logsigmoid(beta * delta)
        flipped = -label_smoothing * F.logsigmoid(-beta * delta)
        per = (clean - flipped) / (1 - 2 * label_smoothing)
    loss = per.mean()
    loss.backward()
    cr, rr = beta * chosen_ratio.detach(), beta * rejected_ratio.detach()
    metrics = {"rewards/chosen": cr.mean().item(), "rewards/rejected": rr.mean().item(),
               "rewards/accuracies": (cr > rr).float().mean().item(), "rewards/margins": (cr - rr).mean().item()}
    meta = {"kind": "dpo", "loss_type": loss_type, "beta": beta, "label_smoothing": label_smoothing,
            "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "labels": labels.tolist(),
            "ref_logps": ref.tolist(), "loss": loss.item(), "metrics": metrics}
    save(name, meta, grads(model))


def cpo_like_case(name, kind, batch):
    """SimPO through CPOTrainer.cpo_loss, ORPO through ORPOTrainer.odds_ratio_loss; both on mean log-probs."""
    model = load_policy()
    ids, mask, labels = batch
    logps, tokens = summed_logps(model, ids, mask, labels)
    avg = logps / tokens
    chosen, rejected = avg.chunk(2)
    half = ids.shape[0] // 2
    # The chosen rows' mean token cross-entropy (their cross_entropy_loss on the chosen logits and labels).
    nll = -logps[:half].sum() / tokens[:half].sum()
    stub = types.SimpleNamespace(accelerator=types.SimpleNamespace(device=torch.device("cpu")))
    if kind == "simpo":
        opts = {"beta": 2.0, "simpo_gamma": 0.5, "label_smoothing": 0.0, "cpo_alpha": 0.0}
        stub.__dict__.update(loss_type="simpo", alpha=0.0, beta=opts["beta"], simpo_gamma=opts["simpo_gamma"],
                             label_smoothing=opts["label_smoothing"])
        losses, _, _ = CPOTrainer.cpo_loss(stub, chosen, rejected)
        loss = losses.mean() + opts["cpo_alpha"] * nll
    else:
        opts = {"beta": 0.1}
        stub.beta = opts["beta"]
        losses, _, _, _, _ = ORPOTrainer.odds_ratio_loss(stub, chosen, rejected)
        loss = nll - losses.mean()
    loss.backward()
    meta = {"kind": kind, **opts, "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
            "labels": labels.tolist(), "loss": loss.item(), "nll": nll.item()}
    save(name, meta, grads(model))


def kto_case(g, vocab):
    model = load_policy()
    tok = lambda n: torch.randint(3, vocab, (n,), generator=g).tolist()
    prompts = [tok(n) for n in (3, 2, 4, 2)]
    completions = [tok(n) for n in (3, 4, 2, 5)]
    desirable = [True, False, True, False]
    # KTOTrainer's KL completions: each row's prompt with the previous row's completion (cycled by one).
    kl_completions = [completions[-1]] + completions[:-1]
    ids, mask, labels = rows_batch(prompts, completions)
    kl_ids, kl_mask, kl_labels = rows_batch(prompts, kl_completions)
    ref = (torch.randn(4, generator=g) * 0.5 - 12.0)
    ref_kl = (torch.randn(4, generator=g) * 0.5 - 16.0)
    beta, dw, uw = 0.1, 1.0, 1.33
    with torch.no_grad():
        kl_logps, _ = summed_logps(model, kl_ids, kl_mask, kl_labels)
    logps, _ = summed_logps(model, ids, mask, labels)
    # KTOTrainer._compute_loss, loss_type "kto", TRL 1.16.
    kl = (kl_logps - ref_kl).mean().detach().clamp(min=0)
    d = torch.tensor(desirable)
    chosen_ratio = logps[d] - ref[d]
    rejected_ratio = logps[~d] - ref[~d]
    chosen_losses = 1 - F.sigmoid(beta * (chosen_ratio - kl))
    rejected_losses = 1 - F.sigmoid(beta * (kl - rejected_ratio))
    loss = torch.cat((dw * chosen_losses, uw * rejected_losses), 0).nanmean()
    loss.backward()
    meta = {"kind": "kto", "beta": beta, "desirable_weight": dw, "undesirable_weight": uw,
            "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "labels": labels.tolist(),
            "kl_input_ids": kl_ids.tolist(), "kl_attention_mask": kl_mask.tolist(), "kl_labels": kl_labels.tolist(),
            "desirable": desirable, "ref_logps": ref.tolist(), "ref_kl_logps": ref_kl.tolist(),
            "loss": loss.item(), "metrics": {"kl": kl.item()}}
    save("kto", meta, grads(model))


def reward_case(g, vocab):
    torch.manual_seed(7)
    model = LlamaForSequenceClassification.from_pretrained(MODEL, num_labels=1, pad_token_id=PAD, dtype=torch.float32,
                                                            attn_implementation="eager")
    model.train()
    init = model.score.weight.detach().clone().contiguous()
    tok = lambda n: torch.randint(3, vocab, (n,), generator=g).tolist()
    prompts = [tok(p) for p, _, _ in PAIRS]
    chosen = [p + tok(c) for p, (_, c, _) in zip(prompts, PAIRS)]
    rejected = [p + tok(r) for p, (_, _, r) in zip(prompts, PAIRS)]
    ids, mask, _ = rows_batch([[] for _ in chosen + rejected], chosen + rejected)
    margin = torch.tensor([0.5, -0.25])
    # RewardTrainer.compute_loss: chosen rows then rejected rows in one forward, score at the last non-pad token.
    rewards = model(input_ids=ids, attention_mask=mask, use_cache=False).logits.squeeze(-1)
    rc, rr = rewards.chunk(2)
    loss = -F.logsigmoid(rc - rr - margin).mean()
    loss.backward()
    meta = {"kind": "reward", "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "margin": margin.tolist(),
            "pad_token_id": PAD, "loss": loss.item(), "rewards": rewards.tolist(),
            "metrics": {"accuracy": (rc > rr).float().mean().item()}}
    save("reward", meta, {**grads(model), "init.score.weight": init})


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    vocab = transformers.AutoConfig.from_pretrained(MODEL).vocab_size
    g = torch.Generator().manual_seed(2024)
    batch = paired_batch(g, vocab)
    # Reference log-probs near the policy's (about -4.9 per token here) so the log-ratios are small and mixed.
    with torch.no_grad():
        logps, _ = summed_logps(load_policy(), *batch)
    ref = logps + torch.randn(logps.shape, generator=g) * 0.7
    dpo_case("dpo_sigmoid", "sigmoid", 0.1, 0.0, batch, ref)
    dpo_case("dpo_ipo", "ipo", 0.1, 0.0, batch, ref)
    dpo_case("dpo_hinge", "hinge", 0.5, 0.0, batch, ref)
    dpo_case("dpo_robust", "robust", 0.1, 0.2, batch, ref)
    cpo_like_case("simpo", "simpo", batch)
    cpo_like_case("orpo", "orpo", batch)
    kto_case(g, vocab)
    reward_case(g, vocab)


if __name__ == "__main__":
    main()
