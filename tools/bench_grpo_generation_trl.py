"""Generation speed inside TRL's GRPOTrainer on the CPU, to compare with glint's GRPO trainer (docs/alignment-grpo.md).

Loads the same model folder glint trains from (model.safetensors + config.json in transformers' format) and runs
TRL's GRPOTrainer for a few steps on the same prompts with the same settings as the glint run: num_generations
completions per prompt sampled at temperature 1 (top-p 1, top-k 0), at most max_completion_length new tokens, the
exact_match reward against the answer column, the same number of torch threads as glint's OpenMP threads. TRL generates
with `model.generate` (transformers' KV cache, left-padded batch of prompt x generation rows); that call is wrapped
with a timer, and the completion tokens (up to and including the first EOS, TRL's completion mask) are counted, so the
figure is tokens generated per second of generation, as glint's GRPO metrics report it.

Run: OMP_NUM_THREADS=1 /work/venv-fixtures/bin/python tools/bench_grpo_generation_trl.py runs/arith-sft350 \
         --data data/arithmetic/train.jsonl --steps 50 --lr 2e-4
"""
import argparse
import json
import tempfile
import time

import datasets
import torch
import transformers
import trl
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer


def exact_match(completions, answer, **kwargs):
    return [float(c.strip() == a) for c, a in zip(completions, answer)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--prompts-per-step", type=int, default=8)
    ap.add_argument("--num-generations", type=int, default=8)
    ap.add_argument("--max-completion-length", type=int, default=4)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    rows = [json.loads(l) for l in open(a.data, encoding="utf-8")]
    ds = datasets.Dataset.from_list([{"prompt": r["prompt"], "answer": r["answer"]} for r in rows])

    timing = {"seconds": 0.0, "tokens": 0, "calls": 0}
    generate = model.generate

    def timed_generate(*args, **kwargs):
        start = time.perf_counter()
        out = generate(*args, **kwargs)
        timing["seconds"] += time.perf_counter() - start
        completion = out[:, kwargs["input_ids"].size(1):]
        is_eos = completion == tok.eos_token_id
        lengths = torch.where(is_eos.any(1), is_eos.int().argmax(1) + 1, torch.tensor(completion.size(1)))
        timing["tokens"] += int(lengths.sum())
        timing["calls"] += 1
        return out

    model.generate = timed_generate
    with tempfile.TemporaryDirectory() as out_dir:
        cfg = GRPOConfig(output_dir=out_dir, use_cpu=True, report_to="none", save_strategy="no", logging_steps=1,
                         max_steps=a.steps, learning_rate=a.lr, num_generations=a.num_generations,
                         per_device_train_batch_size=a.prompts_per_step * a.num_generations,
                         max_completion_length=a.max_completion_length, temperature=a.temperature, top_p=1.0,
                         top_k=0, seed=0, dataloader_num_workers=0)
        trainer = GRPOTrainer(model=model, reward_funcs=exact_match, args=cfg, train_dataset=ds,
                              processing_class=tok)
        start = time.perf_counter()
        trainer.train()
        total = time.perf_counter() - start
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    print(json.dumps({"trl": trl.__version__, "transformers": transformers.__version__, "torch": torch.__version__,
                      "threads": a.threads, "steps": a.steps, "generate_calls": timing["calls"],
                      "completion_tokens": timing["tokens"], "generate_seconds": round(timing["seconds"], 3),
                      "generation_tokens_per_second": round(timing["tokens"] / timing["seconds"], 1),
                      "train_seconds": round(total, 3), "reward_first": rewards[0] if rewards else None,
                      "reward_last": rewards[-1] if rewards else None}))


if __name__ == "__main__":
    main()
