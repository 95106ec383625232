"""The byte-level BPE tokenizer of glint's embedded default model, trained on data/kjv/kjv.jsonl.

Each verse is one line "<book> <chapter>:<verse> <text>" (the format the model is trained on, see
tools/cli/train.cpp's `--text-format`); the tokenizer learns 2,048 tokens from those lines, with <|endoftext|> as
its special token. Writes models/default/tokenizer.json and tokenizer_config.json in the format transformers reads.

Run: /work/venv-fixtures/bin/python tools/train_kjv_tokenizer.py
"""
import json
import pathlib

import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parent.parent
VOCAB = 2048


def verse_lines():
    with open(ROOT / "data" / "kjv" / "kjv.jsonl", encoding="utf-8") as f:
        for line in f:
            v = json.loads(line)
            yield f"{v['book']} {v['chapter']}:{v['verse']} {v['text']}\n"


def main():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(verse_lines(), trainer=trainer)
    out = ROOT / "models" / "default"
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
              "unk_token": "<|endoftext|>", "model_max_length": 256, "clean_up_tokenization_spaces": False,
              "tokenizers_version": tokenizers.__version__}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=1) + "\n")
    n = sum(len(tok.encode(l).ids) for l in verse_lines())
    print("vocab", tok.get_vocab_size(), "tokens in corpus", n)


if __name__ == "__main__":
    main()
