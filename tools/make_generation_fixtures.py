"""Expected outputs of transformers' logits processors on fixed random logits, for tests/models/test_generation.cpp.

Run with the fixtures venv: /work/venv-fixtures/bin/python tools/make_generation_fixtures.py
Writes tests/data/generation/logits_processors.json; removed tokens (-inf) are written as null.
"""
import json
import math
from pathlib import Path

import torch
import transformers
from transformers.generation.logits_process import (
    LogitsProcessorList,
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

OUT = Path(__file__).resolve().parent.parent / "tests/data/generation/logits_processors.json"
B, V = 3, 48


def values(t):
    return [[None if math.isinf(x) else x for x in row] for row in t.tolist()]


def main():
    g = torch.Generator().manual_seed(1234)
    logits = torch.randn(B, V, generator=g) * 3
    input_ids = torch.randint(0, V, (B, 10), generator=g)
    cases = []

    def add(name, params, processor):
        out = processor(input_ids, logits.clone())
        cases.append({"name": name, "params": params, "expected": values(out)})

    for penalty in (1.3, 0.7):
        add("repetition_penalty", {"penalty": penalty}, RepetitionPenaltyLogitsProcessor(penalty))
    for t in (0.5, 1.7):
        add("temperature", {"temperature": t}, TemperatureLogitsWarper(t))
    for k in (1, 5, 47):
        add("top_k", {"top_k": k}, TopKLogitsWarper(k))
    for p in (0.05, 0.5, 0.9):
        add("top_p", {"top_p": p}, TopPLogitsWarper(p))
    for p in (0.02, 0.3):
        add("min_p", {"min_p": p}, MinPLogitsWarper(p))
    # The whole chain in the order generate() builds it.
    chain = {"temperature": 0.8, "top_k": 20, "top_p": 0.9, "min_p": 0.05}
    add("warpers", chain, LogitsProcessorList([
        TemperatureLogitsWarper(chain["temperature"]),
        TopKLogitsWarper(chain["top_k"]),
        TopPLogitsWarper(chain["top_p"]),
        MinPLogitsWarper(chain["min_p"]),
    ]))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "logits": logits.tolist(),
        "input_ids": input_ids.tolist(),
        "cases": cases,
    }) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
