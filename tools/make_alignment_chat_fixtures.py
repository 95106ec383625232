"""Token ids of alignment rows as TRL 1.16 prepares them, for tests/trainers/test_alignment_chat.cpp.

Each dataset of tests/data/alignment/chat/<name>.jsonl (chat messages with an explicit prompt, full conversations
sharing a prompt prefix, plain text with and without a prompt, unpaired KTO rows) goes through the trainers' own
_prepare_dataset (DPOTrainer, KTOTrainer, RewardTrainer): extract_prompt where the prompt is implicit, the chat
template of the tokenizer (or the EOS appended to plain text), tokenisation, and the prompt / completion split at the
common prefix of the tokenized prompt and prompt + completion. Two tokenizers: tests/data/models/tiny-chat (a plain
ChatML template, a BOS post-processor) and tests/data/tokenizers/qwen3 (Qwen3's template, which renders the last
assistant turn with an empty think block that the generation prompt alone lacks).

Writes tests/data/alignment/chat/expected.json: {tokenizer: {dataset: [row ids...]}} with the versions used.

Run: /work/venv-fixtures/bin/python tools/make_alignment_chat_fixtures.py
"""
import importlib.metadata
import json
import pathlib
import tempfile
import types

from datasets import Dataset
from transformers import AutoTokenizer
from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer, RewardConfig, RewardTrainer

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "alignment" / "chat"
TOKENIZERS = {
    "tiny-chat": ROOT / "tests" / "data" / "models" / "tiny-chat",
    "qwen3": ROOT / "tests" / "data" / "tokenizers" / "qwen3",
}


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


SKY = [user("What color is the sky?")]
MATH = [{"role": "system", "content": "Answer briefly."}, user("Two plus two?"), assistant("Four."), user("And 3+3?")]

DATASETS = {
    # TRL's conversational preference format: the prompt and the completions are lists of messages.
    "conversational": [
        {"prompt": SKY, "chosen": [assistant("It is blue.")], "rejected": [assistant("Green, like grass.")]},
        {"prompt": MATH, "chosen": [assistant("Six.")], "rejected": [assistant("Seven, I think.")]},
    ],
    # The implicit prompt: chosen and rejected are whole conversations; the shared messages are the prompt.
    "implicit": [
        {"chosen": SKY + [assistant("Blue.")], "rejected": SKY + [assistant("Purple.")]},
        {"chosen": MATH + [assistant("Six.")], "rejected": MATH + [assistant("Nine.")]},
    ],
    "plain": [
        {"prompt": "The sky is", "chosen": " blue and clear.", "rejected": " made of cheese."},
        {"prompt": "Two plus two is", "chosen": " four.", "rejected": " five, probably."},
    ],
    # Plain text with the prompt implicit: the common character prefix, without the space before the completions.
    "plain_implicit": [
        {"chosen": "The sky is blue.", "rejected": "The sky is green."},
        {"chosen": "Water boils at one hundred degrees.", "rejected": "Water boils at ten degrees."},
    ],
    "unpaired": [
        {"prompt": SKY, "completion": [assistant("It is blue.")], "label": True},
        {"prompt": MATH, "completion": [assistant("Nine.")], "label": False},
    ],
}


def prepared(trainer_cls, config_cls, tok, rows, tmp):
    """TRL's own _prepare_dataset on the rows (the trainer object only supplies the tokenizer; KTO's KL rows are
    built in its collator, not here)."""
    args = config_cls(output_dir=tmp, report_to=[], use_cpu=True, bf16=False)
    stub = types.SimpleNamespace(_tokenizer=tok, _is_vision_dataset=False, calculate_KL=False)
    return list(trainer_cls._prepare_dataset(stub, Dataset.from_list(rows), tok, args, "train"))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rows in DATASETS.items():
        (OUT / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    expected = {"versions": {p: importlib.metadata.version(p) for p in ("trl", "transformers", "tokenizers")}}
    with tempfile.TemporaryDirectory() as tmp:
        for tok_name, path in TOKENIZERS.items():
            tok = AutoTokenizer.from_pretrained(path)
            out = {}
            for name, rows in DATASETS.items():
                if name == "unpaired":
                    out[name] = [{"prompt_ids": r["prompt_ids"], "completion_ids": r["completion_ids"]}
                                 for r in prepared(KTOTrainer, KTOConfig, tok, rows, tmp)]
                    continue
                out[name] = [{k: r[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")}
                             for r in prepared(DPOTrainer, DPOConfig, tok, rows, tmp)]
                # RewardTrainer scores whole sequences: its ids are what a DPO row's prompt + completion must equal.
                out["reward_" + name] = [{k: r[k] for k in ("chosen_ids", "rejected_ids")}
                                         for r in prepared(RewardTrainer, RewardConfig, tok, rows, tmp)]
            expected[tok_name] = out
    (OUT / "expected.json").write_text(json.dumps(expected) + "\n")


if __name__ == "__main__":
    main()
