#!/usr/bin/env bash
# Text generation throughput on the CPU, glint vs transformers + PyTorch in one go on the same weights and thread
# count: prefill tokens/s (128-token prompts) and greedy decode tokens/s (64 new tokens) at batch 1 and 8.
#   benchmarks/generate.sh MODEL [THREADS] [BUILD_DIR] [-- extra bench args, e.g. --prompt-len 32]
# MODEL: a model folder or a .gguf file (both sides dequantise GGUF to f32). Needs /work/venv-fixtures or
# $HF_PYTHON with torch and transformers. Prints both results and the ratios glint / HF (goals: decode at batch 1
# >= 2, prefill >= 1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=$1
threads=${2:-$(nproc)}
build=${3:-$root/build}
shift $(($# < 3 ? $# : 3))
[[ ${1:-} == -- ]] && shift
python=${HF_PYTHON:-/work/venv-fixtures/bin/python}
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$build/benchmarks/bench_generate" --model "$model" --threads "$threads" "$@" > "$out/glint"
cat "$out/glint"
"$python" "$root/tools/bench_generate_hf.py" --model "$model" --threads "$threads" "$@" 2>/dev/null > "$out/hf"
cat "$out/hf"
glint_json=$(tail -1 "$out/glint")
hf_json=$(tail -1 "$out/hf")
"$python" - "$glint_json" "$hf_json" <<'PY'
import json, sys
g, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
hf = {r["batch"]: r for r in h["results"]}
print(f"{g['model']}: {g['threads']} threads, prompt {g['prompt_len']}, {g['new_tokens']} new tokens, {g['dtype']}")
print("| batch | glint prefill tok/s | HF prefill tok/s | ratio | glint decode tok/s | HF decode tok/s | ratio |")
print("|---|---|---|---|---|---|---|")
for r in g["results"]:
    o = hf[r["batch"]]
    print(f"| {r['batch']} | {r['prefill_tok_s']:.0f} | {o['prefill_tok_s']:.0f} | {r['prefill_tok_s'] / o['prefill_tok_s']:.2f}x"
          f" | {r['decode_tok_s']:.1f} | {o['decode_tok_s']:.1f} | {r['decode_tok_s'] / o['decode_tok_s']:.2f}x |")
PY
