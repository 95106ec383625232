#!/usr/bin/env bash
# Training throughput on the CPU, glint vs transformers + PyTorch eager, same config, batch and thread count.
#   benchmarks/train.sh [CONFIG] [THREADS] [BUILD_DIR] [-- extra args, e.g. --batch 4 --seq 256 --steps 20]
# ROUNDS=N (default 3) alternates the two sides N times, so that load from other processes lands on both; the ratio
# reported is the median of the rounds' ratios.
# CONFIG is the model size: a Llama-family config.json (default: models/default/config.json, 2.0M parameters);
# THREADS defaults to every core. The PyTorch side runs tools/bench_train_hf.py with $HF_PYTHON, else
# /work/venv-fixtures/bin/python when it exists, else python3: any Python with torch and transformers, offline.
# Prints both and the ratio glint / PyTorch (goal: >= 1.5 tokens/s).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${1:-$root/models/default/config.json}
threads=${2:-$(nproc)}
build=${3:-$root/build}
shift $(($# < 3 ? $# : 3))
[[ ${1:-} == -- ]] && shift
python=${HF_PYTHON:-}
if [[ -z $python ]]; then
  python=python3
  [[ -x /work/venv-fixtures/bin/python ]] && python=/work/venv-fixtures/bin/python
fi
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
rounds=${ROUNDS:-3}
results=()
for ((r = 0; r < rounds; ++r)); do
  g=$("$build/benchmarks/bench_train" --config "$config" --threads "$threads" "$@")
  echo "$g"
  h=$("$python" "$root/tools/bench_train_hf.py" --config "$config" --threads "$threads" "$@")
  echo "$h"
  results+=("$(tail -1 <<<"$g")" "$(tail -1 <<<"$h")")
done
"$python" - "${results[@]}" <<'PY'
import json, statistics, sys
runs = [json.loads(a) for a in sys.argv[1:]]
pairs = list(zip(runs[0::2], runs[1::2]))
speed = [g["tokens_per_second"] / h["tokens_per_second"] for g, h in pairs]
rss = [g["peak_rss_mb"] / h["peak_rss_mb"] for g, h in pairs]
print(f"tokens/s ratio glint / PyTorch: median {statistics.median(speed):.2f}x of {len(pairs)} rounds "
      f"({', '.join(f'{x:.2f}' for x in speed)}); peak RSS ratio {statistics.median(rss):.2f}x")
PY
