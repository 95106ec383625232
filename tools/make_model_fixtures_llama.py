"""Tiny random Llama-family models and their transformers outputs, for tests/models/test_llama.cpp.

Each tests/data/models/<name>/ holds what save_pretrained writes (config.json, model.safetensors,
generation_config.json) in f32, plus fixture.json (inputs, shapes, greedy tokens, versions) and raw little-endian
f32 logits: logits.bin for a fixed batch and padded_logits.bin for a left-padded batch.

Run: /work/venv-fixtures/bin/python tools/make_model_fixtures_llama.py
"""
import json
import pathlib

import numpy as np
import safetensors
import torch
import transformers
from transformers import (AutoModelForCausalLM, GenerationConfig, LlamaConfig, MistralConfig, Qwen2Config,
                          Qwen3Config)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "models"
VOCAB = 128
COMMON = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=128, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)

MODELS = {
    # GQA 4:2, separate lm_head.
    "llama": LlamaConfig(**COMMON, num_key_value_heads=2, tie_word_embeddings=False,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    # llama3 rope scaling with a short original context so every band (kept, smoothed, scaled) is used; tied.
    "llama3-rope-scaling": LlamaConfig(**COMMON, num_key_value_heads=2, tie_word_embeddings=True,
                                       rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                                        "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                        "original_max_position_embeddings": 64}),
    # MQA.
    "mistral": MistralConfig(**COMMON, num_key_value_heads=1, tie_word_embeddings=False, sliding_window=None),
    # q/k/v biases.
    "qwen2": Qwen2Config(**COMMON, num_key_value_heads=2, tie_word_embeddings=False),
    # q_norm / k_norm over an explicit head_dim unequal to hidden / heads.
    "qwen3": Qwen3Config(**COMMON, num_key_value_heads=2, head_dim=16, tie_word_embeddings=True),
}


def randomise(model):
    # Default init gives logits near 0 and unit norms / zero biases; larger values make the parity check mean something.
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            else:
                p.copy_(1 + torch.randn(p.shape, generator=g) * 0.1)


def make(name, config):
    torch.manual_seed(0)
    config._attn_implementation = "eager"
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    randomise(model)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)

    g = torch.Generator().manual_seed(2)
    input_ids = torch.randint(3, VOCAB, (2, 9), generator=g)
    with torch.no_grad():
        logits = model(input_ids).logits
    (folder / "logits.bin").write_bytes(logits.numpy().astype("<f4").tobytes())

    # Row 1 is left-padded by 3; positions as generate computes them.
    padded_ids = torch.randint(3, VOCAB, (2, 7), generator=g)
    mask = torch.ones_like(padded_ids)
    mask[1, :3] = 0
    padded_ids[1, :3] = 0
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    with torch.no_grad():
        padded_logits = model(padded_ids, attention_mask=mask, position_ids=positions).logits
    (folder / "padded_logits.bin").write_bytes(padded_logits.numpy().astype("<f4").tobytes())

    prompt = torch.randint(3, VOCAB, (1, 5), generator=g)
    # No eos stop (generate fills an unset eos from the model's saved generation config, so clear it there).
    model.generation_config.eos_token_id = None
    gen = GenerationConfig(do_sample=False, max_new_tokens=32, pad_token_id=0)
    with torch.no_grad():
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), generation_config=gen)
    generated = out[0, prompt.shape[1]:].tolist()
    assert len(generated) == 32, (name, generated)

    fixture = {
        "model_type": config.model_type,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "safetensors": safetensors.__version__, "numpy": np.__version__},
        "input_ids": input_ids.tolist(),
        "logits_shape": list(logits.shape),
        "padded_input_ids": padded_ids.tolist(),
        "padded_attention_mask": mask.tolist(),
        "padded_logits_shape": list(padded_logits.shape),
        "prompt": prompt[0].tolist(),
        "greedy_tokens": generated,
    }
    (folder / "fixture.json").write_text(json.dumps(fixture, indent=1) + "\n")
    print(name, "logits", tuple(logits.shape), "max |logit|", float(logits.abs().max()), "tokens", generated[:8])


def main():
    for name, config in MODELS.items():
        make(name, config)


if __name__ == "__main__":
    main()
