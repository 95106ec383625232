#!/usr/bin/env bash
# Training throughput on the CPU, glint vs transformers + PyTorch eager, same config, batch and thread count.
#   benchmarks/train.sh [CONFIG] [THREADS] [BUILD_DIR] [-- extra args, e.g. --batch 4 --seq 256]
# Needs /work/venv-fixtures or $HF_PYTHON with torch and transformers. Prints both and the ratio glint / PyTorch
# (goal: >= 1.5 tokens/s).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${1:-$root/models/default/config.json}
threads=${2:-$(nproc)}
build=${3:-$root/build}
shift $(($# < 3 ? $# : 3))
[[ ${1:-} == -- ]] && shift
python=${HF_PYTHON:-/work/venv-fixtures/bin/python}
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
g=$("$build/benchmarks/bench_train" --config "$config" --threads "$threads" "$@")
echo "$g"
h=$("$python" "$root/tools/bench_train_hf.py" --config "$config" --threads "$threads" "$@" 2>/dev/null)
echo "$h"
"$python" - "$g" "$h" <<'PY'
import json, sys
g, h = json.loads(sys.argv[1].splitlines()[-1]), json.loads(sys.argv[2].splitlines()[-1])
print(f"tokens/s ratio glint / PyTorch: {g['tokens_per_second'] / h['tokens_per_second']:.2f}x; "
      f"peak RSS ratio {g['peak_rss_mb'] / h['peak_rss_mb']:.2f}x")
PY
