#!/usr/bin/env python3
"""Encode throughput of HF `tokenizers` (Rust) for the glint tokenizer benchmark (issue 3, item 9).

Prints one JSON object on stdout, for benchmarks/tokenizers.sh to compare with glint in the same run:

  {"library": "tokenizers", "version": ..., "cpu_count": N, "results": [
     {"tokenizer": "gpt2", "text": "kjv", "mode": "encode", "threads": 1, "lines": L, "bytes": B,
      "tokens": T, "seconds": S, "mb_per_s": B / S / 1e6}, ...]}

Modes:
  encode        a Python loop of Tokenizer.encode(line), one line at a time, RAYON_NUM_THREADS=1
  encode_batch  Tokenizer.encode_batch(all lines) with RAYON_NUM_THREADS=1 (Rust single thread, no per-call overhead)
  encode_batch  with RAYON_NUM_THREADS=cpu_count (all cores)

Texts (each sample encoded as one input, add_special_tokens=False; bytes = UTF-8 length of all samples):
  kjv     the "text" field of every line of ../shared/data/corpora/kjv.jsonl (31,102 verses, ~4.3 MB)
  corpus  the "text" field of tests/data/tokenizers/corpus.jsonl (the parity corpus, mixed scripts), repeated
          --corpus-repeat times so the timing is not dominated by noise

Each measurement is the best of --repeat passes over the same tokenizer object (so HF's BPE word cache is warm, as
it is in a long-running process); the thread count is fixed per worker process because Rayon reads
RAYON_NUM_THREADS once. Usage: /work/venv-fixtures/bin/python tools/bench_tokenizers_hf.py [--tokenizers gpt2,qwen3]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "tokenizers"
DEFAULT_KJV = ROOT.parent / "shared" / "data" / "corpora" / "kjv.jsonl"


def read_texts(kjv_path, corpus_repeat):
    def field(path):
        with open(path, encoding="utf-8") as f:
            return [json.loads(line)["text"] for line in f]

    return {"kjv": field(kjv_path), "corpus": field(DATA / "corpus.jsonl") * corpus_repeat}


def best_time(fn, repeat):
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def worker(args):
    """Runs in a child process whose RAYON_NUM_THREADS is already set; prints a JSON list of results."""
    from tokenizers import Tokenizer

    texts = read_texts(args.kjv, args.corpus_repeat)
    threads = int(os.environ["RAYON_NUM_THREADS"])
    results = []
    for name in args.tokenizers.split(","):
        tok = Tokenizer.from_file(str(DATA / name / "tokenizer.json"))
        for text_name, lines in texts.items():
            nbytes = sum(len(s.encode("utf-8")) for s in lines)
            modes = {"encode_batch": lambda: sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))}
            if threads == 1:
                modes["encode"] = lambda: sum(len(tok.encode(s, add_special_tokens=False).ids) for s in lines)
            for mode, fn in modes.items():
                seconds, tokens = best_time(fn, args.repeat)
                results.append({"tokenizer": name, "text": text_name, "mode": mode, "threads": threads,
                                "lines": len(lines), "bytes": nbytes, "tokens": tokens,
                                "seconds": round(seconds, 6), "mb_per_s": round(nbytes / seconds / 1e6, 3)})
    print(json.dumps(results))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizers", default="gpt2,qwen3", help="names of folders under tests/data/tokenizers")
    ap.add_argument("--kjv", type=Path, default=DEFAULT_KJV)
    ap.add_argument("--corpus-repeat", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for the all-cores batch run")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return

    import tokenizers

    results = []
    for threads in sorted({1, args.threads}):
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true")
        cmd = [sys.executable, __file__, "--worker", "--tokenizers", args.tokenizers, "--kjv", str(args.kjv),
               "--corpus-repeat", str(args.corpus_repeat), "--repeat", str(args.repeat)]
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        results += json.loads(out)
    print(json.dumps({"library": "tokenizers", "version": tokenizers.__version__, "cpu_count": os.cpu_count(),
                      "threads": args.threads, "results": results}, indent=1))


if __name__ == "__main__":
    main()
