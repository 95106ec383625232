"""A 100-step supervised fine-tuning run of transformers' Trainer on the tiny Llama fixture, for
tests/trainers/test_sft_parity.cpp: the logged training loss every 10 steps, to compare with glint's Trainer on the
same rows in the same order with the same hyperparameters.

Rows are 16 random tokens whose first 5 labels are -100 (a prompt without loss). Both sides see the rows in glint's
order (train::epoch_order: Fisher-Yates over SplitMix64 seeded by seed * 0x9e3779b97f4a7c15 + epoch, reimplemented
below); transformers' Trainer gets them pre-ordered with a sequential sampler. optim="adamw_torch" (the single-tensor
AdamW glint's kernel follows), linear schedule with warmup, weight decay on matrices only, clipping at 1.0.
Writes tests/data/training/sft_run.json.

Run: /work/venv-fixtures/bin/python tools/make_sft_fixtures.py
"""
import json
import pathlib

import torch
import transformers
from torch.utils.data import SequentialSampler
from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

ROOT = pathlib.Path(__file__).resolve().parent.parent
MASK = (1 << 64) - 1
ROWS, LENGTH, PROMPT, BATCH, STEPS, SEED = 40, 16, 5, 4, 100, 42
HPARAMS = dict(learning_rate=1e-3, lr_scheduler_type="linear", warmup_steps=10, weight_decay=0.01, max_grad_norm=1.0,
               logging_steps=10, per_device_train_batch_size=BATCH, max_steps=STEPS, seed=SEED)


def splitmix64(state):
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def permutation(n, seed):
    rng = splitmix64(seed)
    p = list(range(n))
    for i in range(n, 1, -1):
        threshold = ((1 << 64) - i) % i
        while True:
            r = next(rng)
            if r >= threshold:
                break
        j = r % i
        p[i - 1], p[j] = p[j], p[i - 1]
    return p


class Rows(torch.utils.data.Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        ids, labels = self.rows[i]
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels),
                "attention_mask": torch.ones(len(ids), dtype=torch.long)}


class InOrder(Trainer):
    def _get_train_sampler(self, *args, **kwargs):
        return SequentialSampler(self.train_dataset)


def main():
    g = torch.Generator().manual_seed(7)
    rows = []
    for _ in range(ROWS):
        ids = torch.randint(0, 128, (LENGTH,), generator=g).tolist()
        rows.append((ids, [-100] * PROMPT + ids[PROMPT:]))
    ordered = []
    for epoch in range(STEPS * BATCH // ROWS):
        ordered += [rows[i] for i in permutation(ROWS, (SEED * 0x9E3779B97F4A7C15 + epoch) & MASK)]
    model = AutoModelForCausalLM.from_pretrained(ROOT / "tests" / "data" / "models" / "llama", dtype=torch.float32,
                                                 attn_implementation="eager")
    args = TrainingArguments(output_dir="/tmp/glint-sft-fixture", optim="adamw_torch", report_to="none",
                             save_strategy="no", disable_tqdm=True, **HPARAMS)
    trainer = InOrder(model=model, args=args, train_dataset=Rows(ordered))
    trainer.train()
    logged = [{"step": r["step"], "loss": r["loss"], "grad_norm": float(r["grad_norm"])}
              for r in trainer.state.log_history if "loss" in r]
    out = {"rows": [{"ids": i, "labels": l} for i, l in rows], "args": HPARAMS, "logged": logged,
           "versions": {"torch": torch.__version__, "transformers": transformers.__version__}}
    (ROOT / "tests" / "data" / "training" / "sft_run.json").write_text(json.dumps(out) + "\n")
    print(logged)


if __name__ == "__main__":
    main()
