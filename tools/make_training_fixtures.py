"""One training step of tiny Llama-family models in PyTorch, for tests/trainers/test_train_step.cpp.

For each model folder of tests/data/models listed in MODELS (made by make_model_fixtures_llama.py), on a fixed batch
with some labels ignored (-100): the loss transformers computes from `labels`, every parameter's gradient, and every
parameter after one torch.optim.AdamW step (foreach=False). Written to tests/data/training/<name>_step.safetensors
("grad.<param>", "after.<param>") and <name>_step.json (loss, batch, hyperparameters, versions).

Run: /work/venv-fixtures/bin/python tools/make_training_fixtures.py
"""
import importlib.metadata
import json
import pathlib

import safetensors.torch
import torch
import transformers
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ["llama", "qwen2", "qwen3"]  # untied GQA; qkv biases; tied with q/k norm
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


def main():
    torch.manual_seed(0)
    out = ROOT / "tests" / "data" / "training"
    out.mkdir(parents=True, exist_ok=True)
    for name in MODELS:
        model = AutoModelForCausalLM.from_pretrained(ROOT / "tests" / "data" / "models" / name,
                                                     dtype=torch.float32, attn_implementation="eager")
        model.train()
        vocab = model.config.vocab_size
        g = torch.Generator().manual_seed(1234)
        input_ids = torch.randint(0, vocab, (2, 9), generator=g)
        labels = input_ids.clone()
        labels[0, :3] = -100  # a prompt that takes no loss
        labels[1, 7:] = -100
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        tensors = {}
        for pname, p in model.named_parameters():
            tensors["grad." + pname] = p.grad.detach().clone()
        opt = torch.optim.AdamW(model.parameters(), foreach=False, **ADAMW)
        opt.step()
        for pname, p in model.named_parameters():
            tensors["after." + pname] = p.detach().clone()
        safetensors.torch.save_file({k: v.contiguous() for k, v in tensors.items()}, out / f"{name}_step.safetensors")
        meta = {
            "model": name,
            "input_ids": input_ids.tolist(),
            "labels": labels.tolist(),
            "loss": loss.item(),
            "adamw": {"lr": ADAMW["lr"], "beta1": ADAMW["betas"][0], "beta2": ADAMW["betas"][1], "eps": ADAMW["eps"],
                      "weight_decay": ADAMW["weight_decay"]},
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "safetensors": importlib.metadata.version("safetensors")},
        }
        (out / f"{name}_step.json").write_text(json.dumps(meta, indent=1) + "\n")
        print(name, "loss", loss.item())


if __name__ == "__main__":
    main()
