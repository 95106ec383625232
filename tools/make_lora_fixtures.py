#!/usr/bin/env python3
"""LoRA fixtures made by HF peft on the tiny Llama of tests/data/models/llama, for tests/peft.

  python tools/make_lora_fixtures.py            # writes tests/data/lora/{qv,all_linear_rslora,lm_head_saved,
                                                # conv_embed,reward_seq_cls}
  python tools/make_lora_fixtures.py --glint    # peft loads tests/data/lora/glint_saved (written by glint's saver,
                                                # see docs/peft.md) and writes its logits there as peft_logits.bin,
                                                # glint_saved_conv_embed's outputs as peft_outputs.safetensors and
                                                # glint_saved_reward's rewards as peft_rewards.json

LoRA on Embedding and Conv2d layers uses a tiny module of its own (ConvEmbed: an Embedding, a 3x3 strided Conv2d,
a 1x1 Conv2d and a Linear), in tests/data/lora/conv_embed: base.safetensors (its weights), the adapter peft made,
outputs.safetensors (the inputs "ids" and "image" and peft's outputs "tokens" and "pixels") and grads.safetensors
(the adapter gradients of mean(tokens^2) + mean(pixels^2)).

A reward model's adapter (task_type SEQ_CLS, as TRL's RewardTrainer makes one) sits on transformers'
LlamaForSequenceClassification over the same tiny Llama (num_labels 1, pad token 0): tests/data/lora/reward_seq_cls
holds it (all-linear LoRA, which peft keeps off the score head, plus the score head trained whole through
modules_to_save) and fixture.json with the rewards of REWARD_IDS, the second row right-padded.

Each peft adapter folder holds what peft's save_pretrained writes (adapter_config.json, adapter_model.safetensors)
plus fixture.json (input ids, loss, versions), logits.bin (f32, (B, T, vocab), row-major) and grads.safetensors:
the gradient of the mean next-token loss (labels = input_ids) with respect to every adapter parameter, under the
key its weight is saved under. init_lora_weights=False makes B nonzero, so the adapters change the logits.
"""
import argparse
import json
import os
import pathlib

import numpy as np
import peft
import safetensors
import safetensors.torch
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, LlamaForSequenceClassification

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASE = "tests/data/models/llama"  # relative: adapter_config.json records it as base_model_name_or_path
OUT = ROOT / "tests/data/lora"
IDS = [[101, 115, 54, 47, 111, 107, 70, 18, 88], [14, 3, 24, 77, 23, 68, 41, 42, 65]]
VERSIONS = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__}

ADAPTERS = {
    "qv": dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
    "all_linear_rslora": dict(r=4, lora_alpha=8, target_modules="all-linear", use_rslora=True),
    # A regex over module names and a fully trained copy of the head (modules_to_save).
    "lm_head_saved": dict(r=2, lora_alpha=3, target_modules=r".*\.mlp\.(up|down)_proj", modules_to_save=["lm_head"]),
}


def base_model():
    return AutoModelForCausalLM.from_pretrained(BASE, dtype=torch.float32).eval()


def write_logits(path, logits):
    path.write_bytes(logits.detach().to(torch.float32).contiguous().numpy().tobytes())


def make_adapter(name, kwargs):
    torch.manual_seed(0)
    model = get_peft_model(base_model(), LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, **kwargs))
    if "modules_to_save" in kwargs:
        # The copy starts equal to the original; perturb it so the fixture shows it is the one used.
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "modules_to_save" in n:
                    p.add_(torch.randn_like(p) * 0.05)
    out = OUT / name
    model.save_pretrained(out)
    (out / "README.md").unlink()  # peft's model-card template
    ids = torch.tensor(IDS)
    result = model(input_ids=ids, labels=ids)
    result.loss.backward()
    write_logits(out / "logits.bin", result.logits)
    # The saved key of every trainable parameter (peft drops the adapter name on save).
    saved = set(safetensors.torch.load_file(out / "adapter_model.safetensors"))
    grads = {}
    for n, p in model.named_parameters():
        if p.requires_grad:
            key = n.replace(".default", "").replace(".modules_to_save", "")
            assert key in saved, key
            grads[key] = p.grad.contiguous()
    safetensors.torch.save_file(grads, out / "grads.safetensors")
    fixture = {"versions": VERSIONS, "input_ids": IDS, "logits_shape": list(result.logits.shape),
               "loss": result.loss.item()}
    (out / "fixture.json").write_text(json.dumps(fixture, indent=1) + "\n")
    print(name, "loss", result.loss.item(), "trainable", len(grads))


class ConvEmbed(torch.nn.Module):
    """An Embedding feeding a Linear, and a padded, strided 3x3 Conv2d feeding a 1x1 Conv2d."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(40, 12)
        self.proj = torch.nn.Linear(12, 6)
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.conv_1x1 = torch.nn.Conv2d(8, 5, 1)

    def forward(self, ids, image):
        return self.proj(self.embed(ids)), self.conv_1x1(self.conv(image))


REWARD = OUT / "reward_seq_cls"
REWARD_LORA = dict(r=2, lora_alpha=4, target_modules="all-linear", modules_to_save=["score"])
PAD = 0
REWARD_IDS = [[101, 115, 54, 47, 111, 107, 70, 18, 88], [14, 3, 24, 77, 23, 68, PAD, PAD, PAD]]


def reward_base():
    # The base head is random either way: every adapter here carries its own trained copy of it.
    torch.manual_seed(3)
    return LlamaForSequenceClassification.from_pretrained(BASE, num_labels=1, pad_token_id=PAD,
                                                          dtype=torch.float32).eval()


def rewards(model):
    ids = torch.tensor(REWARD_IDS)
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=(ids != PAD).long()).logits.squeeze(-1).tolist()


def make_reward_adapter():
    torch.manual_seed(0)
    model = get_peft_model(reward_base(), LoraConfig(task_type="SEQ_CLS", init_lora_weights=False, **REWARD_LORA))
    with torch.no_grad():  # as make_adapter: the saved head differs from the base one
        for n, p in model.named_parameters():
            if "modules_to_save" in n:
                p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(REWARD)
    (REWARD / "README.md").unlink()
    fixture = {"versions": VERSIONS, "input_ids": REWARD_IDS, "pad_token_id": PAD, "rewards": rewards(model),
               "base_rewards": rewards(reward_base())}
    (REWARD / "fixture.json").write_text(json.dumps(fixture, indent=1) + "\n")
    print("reward_seq_cls rewards", fixture["rewards"], "keys",
          sorted(safetensors.torch.load_file(REWARD / "adapter_model.safetensors"))[-2:])


def check_glint_reward():
    folder = OUT / "glint_saved_reward"
    model = PeftModel.from_pretrained(reward_base(), folder).eval()
    assert type(model).__name__ == "PeftModelForSequenceClassification", type(model)
    stored = safetensors.torch.load_file(folder / "adapter_model.safetensors")
    placed = peft.get_peft_model_state_dict(model)
    assert stored.keys() == placed.keys(), (sorted(stored), sorted(placed))
    assert all(torch.equal(stored[k], placed[k]) for k in stored)
    got = {"versions": VERSIONS, "rewards": rewards(model)}
    (folder / "peft_rewards.json").write_text(json.dumps(got, indent=1) + "\n")
    print("glint_saved_reward: peft", got["rewards"], "base", rewards(reward_base()))


CONV_EMBED = OUT / "conv_embed"
CONV_EMBED_LORA = dict(r=2, lora_alpha=6, target_modules=["embed", "proj", "conv", "conv_1x1"])


def conv_embed_base():
    model = ConvEmbed()
    model.load_state_dict(safetensors.torch.load_file(CONV_EMBED / "base.safetensors"))
    return model.eval()


def conv_embed_inputs():
    out = safetensors.torch.load_file(CONV_EMBED / "outputs.safetensors")
    return out["ids"], out["image"]


def make_conv_embed():
    torch.manual_seed(1)
    CONV_EMBED.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(ConvEmbed().state_dict(), CONV_EMBED / "base.safetensors")
    ids, image = torch.randint(0, 40, (2, 5)), torch.randn(2, 3, 7, 9)
    # init_lora_weights=False: every A and B random (an Embedding's both randn), so each layer's update shows.
    model = get_peft_model(conv_embed_base(), LoraConfig(init_lora_weights=False, **CONV_EMBED_LORA))
    model.save_pretrained(CONV_EMBED)
    (CONV_EMBED / "README.md").unlink()
    tokens, pixels = model(ids, image)
    (tokens.square().mean() + pixels.square().mean()).backward()
    saved = set(safetensors.torch.load_file(CONV_EMBED / "adapter_model.safetensors"))
    grads = {}
    for n, p in model.named_parameters():
        if p.requires_grad:
            key = n.replace(".default", "")
            assert key in saved, key
            grads[key] = p.grad.contiguous()
    safetensors.torch.save_file(grads, CONV_EMBED / "grads.safetensors")
    safetensors.torch.save_file({"ids": ids, "image": image, "tokens": tokens.detach(), "pixels": pixels.detach()},
                                CONV_EMBED / "outputs.safetensors")
    (CONV_EMBED / "fixture.json").write_text(json.dumps({"versions": VERSIONS, "lora": CONV_EMBED_LORA}, indent=1) +
                                             "\n")
    print("conv_embed trainable", len(grads))


def check_glint_conv_embed():
    folder = OUT / "glint_saved_conv_embed"
    model = PeftModel.from_pretrained(conv_embed_base(), folder).eval()
    # Every saved tensor is one peft placed (from_pretrained only warns about keys it does not know).
    stored = safetensors.torch.load_file(folder / "adapter_model.safetensors")
    placed = peft.get_peft_model_state_dict(model)
    assert stored.keys() == placed.keys(), (sorted(stored), sorted(placed))
    assert all(torch.equal(stored[k], placed[k]) for k in stored)
    ids, image = conv_embed_inputs()
    with torch.no_grad():
        tokens, pixels = model(ids, image)
        plain = conv_embed_base()(ids, image)
    safetensors.torch.save_file({"tokens": tokens, "pixels": pixels}, folder / "peft_outputs.safetensors")
    (folder / "peft_versions.json").write_text(json.dumps(VERSIONS, indent=1) + "\n")
    print("glint_saved_conv_embed: max |peft - base| =", (tokens - plain[0]).abs().max().item(),
          (pixels - plain[1]).abs().max().item(), "(nonzero: the adapter is applied)")


def check_glint():
    folder = OUT / "glint_saved"
    model = PeftModel.from_pretrained(base_model(), folder).eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(IDS)).logits
        plain = base_model()(input_ids=torch.tensor(IDS)).logits
    write_logits(folder / "peft_logits.bin", logits)
    (folder / "peft_versions.json").write_text(json.dumps(VERSIONS, indent=1) + "\n")
    print("glint_saved: max |peft - base| =", (logits - plain).abs().max().item(), "(nonzero: the adapter is applied)")


def main():
    os.chdir(ROOT)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--glint", action="store_true", help="load tests/data/lora/glint_saved in peft")
    args = ap.parse_args()
    if args.glint:
        check_glint()
        check_glint_conv_embed()
        check_glint_reward()
        return
    for name, kwargs in ADAPTERS.items():
        make_adapter(name, kwargs)
    make_conv_embed()
    make_reward_adapter()


if __name__ == "__main__":
    main()
