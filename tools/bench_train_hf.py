"""Training throughput of transformers + PyTorch eager on the CPU, measured as benchmarks/bench_train.cpp measures
glint: a config.json at random init, the same fixed token batch, full steps (forward with labels, backward,
clip_grad_norm 1.0, AdamW), 2 warm-up steps, then tokens/s over --steps and peak RSS.

  bench_train_hf.py --config models/default/config.json [--batch 8] [--seq 128] [--steps 10] [--threads N]

The last line printed is JSON for benchmarks/train.sh. Measured with torch 2.15 and transformers 5.24; it only needs
their public APIs (AutoConfig, AutoModelForCausalLM, torch.optim.AdamW) and no network.
"""
import argparse
import json
import resource
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="models/default/config.json")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    config = AutoConfig.from_pretrained(a.config)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").float().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    vocab = config.vocab_size
    ids = torch.tensor([(i * 7919 + 13) % vocab for i in range(a.batch * a.seq)]).reshape(a.batch, a.seq)

    def step():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    secs = time.perf_counter() - t0
    tok_s = a.batch * a.seq * a.steps / secs
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"transformers {transformers.__version__} + torch {torch.__version__}: {tok_s:.0f} tokens/s, "
          f"peak RSS {rss:.0f} MiB")
    print(json.dumps({"tokens_per_second": tok_s, "peak_rss_mb": rss, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
