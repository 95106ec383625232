#!/usr/bin/env bash
# Tokenizer encode throughput, glint vs HF `tokenizers` (Rust) in one go on the same texts and machine:
#   benchmarks/tokenizers.sh [BUILD_DIR]     (default: build; needs /work/venv-fixtures or $HF_PYTHON with tokenizers)
# Prints glint's and HF's MB/s per tokenizer, text, mode and thread count, and the ratio glint / HF (goal >= 1.0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
python=${HF_PYTHON:-/work/venv-fixtures/bin/python}
hf_json=$(mktemp)
trap 'rm -f "$hf_json"' EXIT
"$python" "$root/tools/bench_tokenizers_hf.py" > "$hf_json"
"$build/benchmarks/bench_tokenizers" --hf "$hf_json"
