#!/usr/bin/env python3
"""Fixtures for glint::pipeline and `glint generate` (tests/models/test_pipeline_e2e.cpp, tests/cli/...).

  tests/data/models/tiny-chat/   a tiny random LlamaForCausalLM (hidden 32, 2 layers, tied embeddings) whose vocab
                                 is tests/data/tokenizers/trained/bpe_bytelevel's (2000 tokens + added ones) plus
                                 <|im_start|> / <|im_end|>, saved with save_pretrained next to that tokenizer (its
                                 post-processor reduced to "<bos> $A", as a causal LM's is) and a tokenizer_config.json
                                 with a ChatML template; expected.json holds transformers' greedy completion (ids and
                                 text, 16 new tokens, eos ignored) of a prompt and of a chat.
  tests/data/models/smollm2_gguf_pipeline.json
                                 when the SmolLM2-135M-Instruct Q4_1 GGUF is present ($GLINT_SMOLLM2_GGUF or
                                 ~/.cache/glint/gguf/SmolLM2-135M-Instruct.Q4_1.gguf): transformers' greedy chat reply
                                 (tokenizer and model both loaded from the GGUF, stopping at its eos).

Run with /work/venv-fixtures/bin/python (torch 2.15, transformers 5.24, gguf 0.19); versions go into the fixtures.
"""
import importlib.metadata
import json
import os
import pathlib
import shutil

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
PROMPT = "The quick brown fox jumps over the lazy dog"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def versions():
    return {"torch": torch.__version__, "transformers": transformers.__version__}


def greedy(model, tok, text, max_new_tokens, add_special_tokens, stop_at_eos):
    ids = tok(text, add_special_tokens=add_special_tokens, return_tensors="pt").input_ids
    kwargs = {} if stop_at_eos else {"eos_token_id": None}
    out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=max_new_tokens,
                         **kwargs)[0, ids.shape[1]:].tolist()
    return {"prompt_ids": ids[0].tolist(), "ids": out, "text": tok.decode(out, skip_special_tokens=True)}


def tiny_chat():
    out = DATA / "models" / "tiny-chat"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    tj = json.loads((DATA / "tokenizers" / "trained" / "bpe_bytelevel" / "tokenizer.json").read_text())
    next_id = max(t["id"] for t in tj["added_tokens"]) + 1
    for i, content in enumerate(("<|im_start|>", "<|im_end|>")):
        tj["added_tokens"].append({"id": next_id + i, "content": content, "single_word": False, "lstrip": False,
                                   "rstrip": False, "normalized": False, "special": True})
    tj["post_processor"] = {"type": "TemplateProcessing",
                            "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                                       {"Sequence": {"id": "A", "type_id": 0}}],
                            "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                                     {"Sequence": {"id": "A", "type_id": 0}},
                                     {"Sequence": {"id": "B", "type_id": 1}}],
                            "special_tokens": {"<bos>": {"id": "<bos>", "ids": [1], "tokens": ["<bos>"]}}}
    (out / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<bos>", "eos_token": "<|im_end|>", "unk_token": "<unk>", "pad_token": "<pad>",
        "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False,
        "chat_template": CHATML}, indent=2))
    tok = AutoTokenizer.from_pretrained(out)

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=next_id + 2, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      tie_word_embeddings=True, bos_token_id=1, eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                      pad_token_id=4)
    model = LlamaForCausalLM(cfg).eval()
    # Random init at std 0.02 gives near-uniform logits; larger weights make greedy choices well separated.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.3)
    model.save_pretrained(out)
    # tokenizer.json / tokenizer_config.json stay as written above (save_pretrained of the tokenizer would rewrite them).

    chat_text = tok.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    with torch.no_grad():
        expected = {"versions": versions(), "prompt": PROMPT, "max_new_tokens": 16,
                    "completion": greedy(model, tok, PROMPT, 16, True, False),
                    "messages": MESSAGES, "chat_text": chat_text,
                    "chat": greedy(model, tok, chat_text, 16, False, False)}
    (out / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    print(out, sum(f.stat().st_size for f in out.iterdir()), "bytes;", expected["completion"]["text"])


def smollm2_gguf():
    path = pathlib.Path(os.environ.get("GLINT_SMOLLM2_GGUF",
                                       pathlib.Path.home() / ".cache/glint/gguf/SmolLM2-135M-Instruct.Q4_1.gguf"))
    if not path.exists():
        print("skipping SmolLM2 GGUF:", path, "not found")
        return
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    chat_text = tok.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    with torch.no_grad():
        expected = {"versions": {**versions(), "gguf": importlib.metadata.version("gguf")}, "file": path.name, "messages": MESSAGES,
                    "chat_text": chat_text, "max_new_tokens": 24, "chat": greedy(model, tok, chat_text, 24, False, True)}
    dest = DATA / "models" / "smollm2_gguf_pipeline.json"
    dest.write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    print(dest, repr(expected["chat"]["text"]))


if __name__ == "__main__":
    tiny_chat()
    smollm2_gguf()
