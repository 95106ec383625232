"""GRPO step time of TRL's GRPOTrainer (transformers generate + PyTorch eager) on the CPU, for comparison with
`glint train grpo` on the same model, prompts and settings: --steps optimizer steps after one warm-up step, each
sampling num_generations completions of max_completion_length tokens per prompt (no EOS stops them early on the
default model), scoring them with an exact-match and a soft-overlong reward, and one policy step with a KL to the
reference (beta 0.04, the reference a frozen copy).

  bench_grpo_trl.py --model models/default --data prompts.jsonl [--threads 1] [--steps 4]
  glint train grpo --model models/default --data prompts.jsonl --output out --num-generations 8 --batch-size 16 \
      --max-completion-length 16 --reward exact_match:answer --reward length:16:8 --beta 0.04 --max-steps 5 \
      --logging-steps 1 --device cpu          (then compare elapsed_seconds of metrics.jsonl, steps 2 to 5)

Prints seconds per step and completion tokens per second (sampled tokens / step time). Pinned: torch 2.15,
transformers 5.24, trl 1.16.
"""
import argparse
import json
import tempfile
import time

import datasets
import torch
import transformers
import trl
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer
from trl.rewards import get_soft_overlong_punishment


def exact_match(completions, answer, **kwargs):
    return [1.0 if c.strip() == str(a).strip() else 0.0 for c, a in zip(completions, answer)]


class StepTimes(TrainerCallback):
    def __init__(self):
        self.times = []

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--num-generations", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-completion-length", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rows = [json.loads(line) for line in open(a.data)]
    ds = datasets.Dataset.from_list(rows)
    with tempfile.TemporaryDirectory() as out:
        config = GRPOConfig(output_dir=out, use_cpu=True, bf16=False, num_generations=a.num_generations,
                            per_device_train_batch_size=a.batch_size, max_completion_length=a.max_completion_length,
                            beta=0.04, max_steps=a.steps + 1, logging_steps=1, report_to=[], save_strategy="no",
                            gradient_checkpointing=False, learning_rate=1e-5)
        overlong = get_soft_overlong_punishment(a.max_completion_length, a.max_completion_length // 2)
        timer = StepTimes()
        trainer = GRPOTrainer(model=a.model, reward_funcs=[exact_match, overlong], args=config, train_dataset=ds,
                              callbacks=[timer])
        trainer.train()
    per_step = (timer.times[-1] - timer.times[0]) / a.steps
    tokens = a.batch_size * a.max_completion_length
    print(json.dumps({"seconds_per_step": per_step, "completion_tokens_per_second": tokens / per_step,
                      "threads": a.threads, "torch": torch.__version__, "transformers": transformers.__version__,
                      "trl": trl.__version__}))


if __name__ == "__main__":
    main()
