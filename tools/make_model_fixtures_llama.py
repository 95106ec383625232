"""Tiny random Llama-family models and their transformers outputs, for tests/models/test_llama.cpp.

Each tests/data/models/<name>/ holds what save_pretrained writes (config.json, model.safetensors,
generation_config.json) in f32, plus fixture.json (inputs, shapes, greedy tokens, versions) and raw little-endian
f32 logits: logits.bin for a fixed batch and padded_logits.bin for a left-padded batch.

The "llama" model is also written as tests/data/models/llama-gguf/model.gguf (f32, q/k rows permuted as llama.cpp's
convert_hf_to_gguf.py does, no tokenizer) to check GGUF loading against the same logits.

When the real SmolLM2-135M-Instruct Q4_1 GGUF is present (tools/make_gguf_fixtures.py extracts it), transformers'
logits (first 256 of the vocabulary at every position), argmaxes and 16 greedy tokens from it go to
tests/data/models/smollm2_gguf_expected.json (transformers needs accelerate to read GGUF).

Run: /work/venv-fixtures/bin/python tools/make_model_fixtures_llama.py
"""
import importlib.metadata
import json
import os
import pathlib

import gguf
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
    # A sliding window shorter than the inputs (9 tokens) and the prompt + 32 generated tokens, on every layer.
    "mistral-sliding": MistralConfig(**COMMON, num_key_value_heads=2, tie_word_embeddings=False, sliding_window=4),
    # Qwen2's window only on layers >= max_window_layers: layer 0 full, layer 1 sliding.
    "qwen2-sliding": Qwen2Config(**COMMON, num_key_value_heads=2, tie_word_embeddings=False, use_sliding_window=True,
                                 sliding_window=3, max_window_layers=1),
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
                     "safetensors": safetensors.__version__, "gguf": importlib.metadata.version("gguf"), "numpy": np.__version__},
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


def permute(w, n_head):
    # convert_hf_to_gguf.py's LlamaModel.permute: llama.cpp's rope pairs adjacent rows.
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


GGUF_NAMES = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
              "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
              "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def write_gguf(name, config):
    folder = OUT / (name + "-gguf")
    folder.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(folder / "model.gguf"), "llama")
    w.add_context_length(config.max_position_embeddings)
    w.add_embedding_length(config.hidden_size)
    w.add_block_count(config.num_hidden_layers)
    w.add_feed_forward_length(config.intermediate_size)
    w.add_head_count(config.num_attention_heads)
    w.add_head_count_kv(config.num_key_value_heads)
    w.add_layer_norm_rms_eps(config.rms_norm_eps)
    w.add_rope_freq_base(config.rope_parameters["rope_theta"])
    f = safetensors.safe_open(str(OUT / name / "model.safetensors"), "np")
    for key in f.keys():
        t = f.get_tensor(key)
        if key == "model.embed_tokens.weight":
            gname = "token_embd.weight"
        elif key == "model.norm.weight":
            gname = "output_norm.weight"
        elif key == "lm_head.weight":
            gname = "output.weight"
        else:
            _, _, layer, rest = key.split(".", 3)
            module, suffix = rest.rsplit(".", 1)
            gname = f"blk.{layer}.{GGUF_NAMES[module]}.{suffix}"
            if module == "self_attn.q_proj":
                t = permute(t, config.num_attention_heads)
            elif module == "self_attn.k_proj":
                t = permute(t, config.num_key_value_heads)
        w.add_tensor(gname, np.ascontiguousarray(t, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def smollm2_path():
    if "GLINT_SMOLLM2_GGUF" in os.environ:
        return pathlib.Path(os.environ["GLINT_SMOLLM2_GGUF"])
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache"))
    return cache / "glint/gguf/SmolLM2-135M-Instruct.Q4_1.gguf"


def write_smollm2():
    path = smollm2_path()
    if not path.exists():
        print("no", path, "- SmolLM2 expectations not written")
        return
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    ids = torch.tensor([[1, 504, 3458, 282, 4649, 314, 253, 1345, 28, 2]])
    prompt = ids[:, :8]
    model.generation_config.eos_token_id = None
    with torch.no_grad():
        logits = model(ids).logits
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False, max_new_tokens=16,
                             pad_token_id=0)
    doc = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "accelerate": importlib.metadata.version("accelerate"),
                     "gguf": importlib.metadata.version("gguf")},
        "input_ids": ids[0].tolist(),
        "logits_head": logits[0, :, :256].tolist(),
        "argmax": logits[0].argmax(-1).tolist(),
        "prompt": prompt[0].tolist(),
        "greedy_tokens": out[0, prompt.shape[1]:].tolist(),
    }
    (OUT / "smollm2_gguf_expected.json").write_text(json.dumps(doc) + "\n")
    print("smollm2 tokens", doc["greedy_tokens"])


def main():
    for name, config in MODELS.items():
        make(name, config)
    write_gguf("llama", MODELS["llama"])
    write_smollm2()


if __name__ == "__main__":
    main()
