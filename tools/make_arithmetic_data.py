"""The synthetic arithmetic task of docs/alignment-grpo.md: 1-2 digit additions "a+b=" -> "a+b's sum", and the
character-level tokenizer and model config a tiny Llama learns it with.

Deterministic: every pair (a, b) with 0 <= a, b <= MAX_OPERAND, shuffled by random.Random(SEED); the first TEST_ROWS
pairs are the held-out test set, the next TRAIN_ROWS the training set (a fifth of all pairs, so the model has to learn
addition rather than memorise the table). Each row has the columns prompt ("12+7="), completion ("19", for SFT) and
answer ("19", for GRPO's exact_match reward). The tokenizer is one token per character ("<|endoftext|>", the ten
digits, "+", "="): a BPE model without merges, so every number is split into its digits the same way (the KJV
tokenizer of models/default has merged tokens for some numbers, "12" and "19", and not for others).

Writes data/arithmetic/: train.jsonl, test.jsonl, tokenizer.json, tokenizer_config.json, config.json (a 1.1M-parameter
Llama, random init by `glint train lm`) and generation_config.json (greedy, at most 4 new tokens).

Run: /work/venv-fixtures/bin/python tools/make_arithmetic_data.py
"""
import json
import pathlib
import random

import tokenizers
from tokenizers import Tokenizer, decoders, models

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "arithmetic"
MAX_OPERAND, TEST_ROWS, TRAIN_ROWS, SEED = 99, 200, 2000, 1234
VOCAB = ["<|endoftext|>"] + [str(d) for d in range(10)] + ["+", "="]
CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "vocab_size": 16,  # the 13 tokens, rounded up
    "hidden_size": 128,
    "intermediate_size": 512,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "head_dim": 32,
    "max_position_embeddings": 64,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
    "initializer_range": 0.02,
    "bos_token_id": 0,
    "eos_token_id": 0,
    "torch_dtype": "float32",
}
GENERATION = {"bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0, "do_sample": False, "max_new_tokens": 4}


def rows():
    pairs = [(a, b) for a in range(MAX_OPERAND + 1) for b in range(MAX_OPERAND + 1)]
    random.Random(SEED).shuffle(pairs)
    as_row = lambda p: {"prompt": f"{p[0]}+{p[1]}=", "completion": str(p[0] + p[1]), "answer": str(p[0] + p[1])}
    return [as_row(p) for p in pairs[TEST_ROWS:TEST_ROWS + TRAIN_ROWS]], [as_row(p) for p in pairs[:TEST_ROWS]]


def write_jsonl(path, data):
    with open(path, "w", encoding="utf-8") as f:
        for row in data:
            f.write(json.dumps(row) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    train, test = rows()
    write_jsonl(OUT / "train.jsonl", train)
    write_jsonl(OUT / "test.jsonl", test)
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(VOCAB)}, merges=[], unk_token="<|endoftext|>"))
    tok.add_special_tokens(["<|endoftext|>"])
    tok.decoder = decoders.Fuse()  # "1", "9" -> "19" (without a decoder, tokenizers joins tokens with spaces)
    tok.save(str(OUT / "tokenizer.json"))
    tok_config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|endoftext|>",
                  "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                  "model_max_length": 64, "clean_up_tokenization_spaces": False,
                  "tokenizers_version": tokenizers.__version__}
    (OUT / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=1) + "\n")
    (OUT / "config.json").write_text(json.dumps(CONFIG, indent=1) + "\n")
    (OUT / "generation_config.json").write_text(json.dumps(GENERATION, indent=1) + "\n")
    assert tok.encode("12+7=19").tokens == ["1", "2", "+", "7", "=", "1", "9"]
    assert tok.decode(tok.encode("12+7=19<|endoftext|>").ids) == "12+7=19"
    print(f"{len(train)} training rows, {len(test)} test rows in {OUT}")


if __name__ == "__main__":
    main()
