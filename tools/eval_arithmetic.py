"""Exact-match accuracy of a glint model on the arithmetic task (docs/alignment-grpo.md), with glint's own generation.

Runs `glint generate MODEL --prompt "a+b=" --max-new-tokens 4` for every row of a JSONL file (prompt / answer
columns) and counts the rows whose generated text, up to the EOS token, equals the answer. Greedy by default;
--samples N draws N completions per prompt at --temperature (seeds 1..N) and reports the mean, which is what the mean
exact_match reward of a GRPO generation batch estimates.

Run: python3 tools/eval_arithmetic.py runs/arith-sft [--data data/arithmetic/test.jsonl] [--samples 4]
"""
import argparse
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def generate(glint, model, prompt, sample_seed, temperature):
    cmd = [glint, "--log-level", "error", "generate", model, "--prompt", prompt, "--max-new-tokens", "4",
           "--device", "cpu"]
    cmd += ["--temperature", str(temperature), "--seed", str(sample_seed)] if sample_seed else ["--greedy"]
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return out.stdout.rstrip("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--data", default=str(ROOT / "data" / "arithmetic" / "test.jsonl"))
    ap.add_argument("--glint", default=str(ROOT / "build" / "glint"))
    ap.add_argument("--samples", type=int, default=0, help="sampled completions per prompt (0: greedy only)")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--limit", type=int, default=0, help="only the first N rows")
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.data, encoding="utf-8")]
    rows = rows[: a.limit] if a.limit else rows
    greedy = sum(generate(a.glint, a.model, r["prompt"], 0, 0) == r["answer"] for r in rows)
    print(f"greedy exact match: {greedy}/{len(rows)} = {greedy / len(rows):.3f}")
    if a.samples:
        hits = sum(generate(a.glint, a.model, r["prompt"], s, a.temperature) == r["answer"]
                   for r in rows for s in range(1, a.samples + 1))
        n = len(rows) * a.samples
        print(f"sampled exact match (temperature {a.temperature}, {a.samples} per prompt): {hits}/{n} = {hits / n:.3f}")


if __name__ == "__main__":
    main()
