"""One DPO training step with TRL + PyTorch on the CPU, measured as benchmarks/bench_dpo.cpp measures glint: the same
random Llama (hidden 256, 4 layers, vocabulary 2048), the same preference pairs, TRL's fused-head forward
(trl.trainer.utils.add_fused_lm_head, what DPOTrainer calls) of the concatenated chosen + rejected batch, the reference
a frozen copy (--ref copy) or the same base with peft's LoRA adapters disabled (--ref lora, r 16, all linear layers,
TRL's PEFT path), TRL 1.16's sigmoid loss, backward, clip_grad_norm 1.0 and AdamW. Prints each step's seconds, resident and peak RSS.

  bench_dpo_hf.py [--ref copy|lora] [--pairs 8] [--prompt 40] [--completion 68] [--steps 20] [--threads N]

The last line printed is JSON for benchmarks/dpo.sh. Pinned: torch 2.15, transformers 5.24, trl 1.16, peft 0.21.
"""
import argparse
import copy
import json
import resource
import time

import peft
import torch
import torch.nn.functional as F
import transformers
import trl
from transformers import LlamaConfig, LlamaForCausalLM
from trl.trainer.utils import add_fused_lm_head

PAD = 0


def pairs_of(n, prompt, completion, vocab):
    """bench_dpo.cpp's pairs: the same token formula, completions of different lengths so rows pad."""
    tok = lambda i, j, salt: (i * 7919 + j * 104729 + salt) % vocab
    out = []
    for i in range(n):
        chosen = completion - (i * 13) % 24
        out.append(([tok(i, j, 13) for j in range(prompt)], [tok(i, j, 29) for j in range(chosen)],
                    [tok(i, j, 47) for j in range(chosen - 1 - i % 4)]))
    return out


def batch_of(pairs):
    """TRL's paired layout: every chosen row, then every rejected row, right-padded, labels -100 off completions."""
    rows = [(p, c) for p, c, _ in pairs] + [(p, r) for p, _, r in pairs]
    t = max(len(p) + len(c) for p, c in rows)
    ids, mask, labels = [], [], []
    for p, c in rows:
        n = len(p) + len(c)
        ids.append(p + c + [PAD] * (t - n))
        mask.append([1] * n + [0] * (t - n))
        labels.append([-100] * len(p) + c + [-100] * (t - n))
    return torch.tensor(ids), torch.tensor(mask), torch.tensor(labels)


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", choices=["copy", "lora"], default="copy")
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--prompt", type=int, default=40)
    ap.add_argument("--completion", type=int, default=68)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    config = LlamaConfig(vocab_size=2048, hidden_size=256, intermediate_size=2048, num_hidden_layers=4,
                         num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=512, rms_norm_eps=1e-5,
                         rope_theta=10000.0, tie_word_embeddings=False)
    torch.manual_seed(0)
    policy = LlamaForCausalLM(config).float().train()
    if a.ref == "copy":
        ref = copy.deepcopy(policy).eval().requires_grad_(False)
    else:
        policy = peft.get_peft_model(policy, peft.LoraConfig(r=16, lora_alpha=32, target_modules="all-linear"))
        ref = None
    add_fused_lm_head(policy.get_base_model() if ref is None else policy)
    if ref is not None:
        add_fused_lm_head(ref)
    trained = [p for p in policy.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=1e-5)
    ids, mask, labels = batch_of(pairs_of(a.pairs, a.prompt, a.completion, config.vocab_size))
    beta = 0.1

    def logps(model):
        out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True, use_cache=False)
        return out.log_probs.sum(dim=1).chunk(2)

    def step():
        chosen, rejected = logps(policy)
        with torch.no_grad():
            if ref is None:
                with policy.disable_adapter():
                    ref_chosen, ref_rejected = logps(policy)
            else:
                ref_chosen, ref_rejected = logps(ref)
        loss = -F.logsigmoid(beta * ((chosen - ref_chosen) - (rejected - ref_rejected))).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    secs, rss, peak = [], [], []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        secs.append(time.perf_counter() - t0)
        rss.append(rss_mb())
        peak.append(peak_mb())
    print("step  seconds   rss_mb  peak_mb  (MiB at the end of the step)")
    for i, (s, r, p) in enumerate(zip(secs, rss, peak)):
        print(f"{i + 1:4d}  {s:7.3f}  {r:7.1f}  {p:7.1f}")
    rest = sorted(secs[1:])
    step_s = rest[len(rest) // 2] if len(rest) % 2 else (rest[len(rest) // 2 - 1] + rest[len(rest) // 2]) / 2
    print(f"TRL {trl.__version__} + transformers {transformers.__version__} + torch {torch.__version__} DPO "
          f"(ref {a.ref}, {a.pairs} pairs, {torch.get_num_threads()} threads): {step_s:.3f} s/step (median), "
          f"peak RSS {peak[-1]:.0f} MiB")
    print(json.dumps({"step_seconds": step_s, "peak_rss_mb": peak[-1], "rss_mb_per_step": rss,
                      "peak_rss_mb_per_step": peak, "ref": a.ref,
                      "threads": torch.get_num_threads(), "pairs": a.pairs}))


if __name__ == "__main__":
    main()
