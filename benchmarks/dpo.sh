#!/usr/bin/env bash
# DPO on the CPU, glint vs TRL + PyTorch, same model, pairs and thread count: step time with a frozen-copy reference,
# and step time and peak RSS of the frozen copy vs the LoRA policy whose reference is its base with adapters disabled.
#   benchmarks/dpo.sh [THREADS] [BUILD_DIR] [-- extra args for both, e.g. --pairs 4 --steps 10]
# Needs /work/venv-fixtures or $HF_PYTHON with torch, transformers, trl and peft. Prints each run, then the table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${1:-$(nproc)}
build=${2:-$root/build}
shift $(($# < 2 ? $# : 2))
[[ ${1:-} == -- ]] && shift
python=${HF_PYTHON:-/work/venv-fixtures/bin/python}
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
results=()
for ref in copy lora; do
  g=$("$build/benchmarks/bench_dpo" --ref $ref --threads "$threads" "$@")
  echo "$g"
  h=$("$python" "$root/tools/bench_dpo_hf.py" --ref $ref --threads "$threads" "$@" 2>/dev/null)
  echo "$h"
  results+=("$(tail -n 1 <<< "$g")" "$(tail -n 1 <<< "$h")")
done
"$python" - "${results[@]}" <<'PY'
import json, sys
gc, hc, gl, hl = (json.loads(a) for a in sys.argv[1:])
print(f"\n{'DPO, ' + str(gc['threads']) + ' threads':28s} {'glint':>10s} {'TRL+PyTorch':>12s} {'glint/TRL':>10s}")
for name, g, h in (("frozen copy", gc, hc), ("LoRA, adapters disabled", gl, hl)):
    print(f"{name + ' s/step':28s} {g['step_seconds']:10.3f} {h['step_seconds']:12.3f} "
          f"{g['step_seconds'] / h['step_seconds']:9.2f}x")
    print(f"{name + ' peak MiB':28s} {g['peak_rss_mb']:10.0f} {h['peak_rss_mb']:12.0f} "
          f"{g['peak_rss_mb'] / h['peak_rss_mb']:9.2f}x")
print(f"{'peak LoRA / frozen copy':28s} {gl['peak_rss_mb'] / gc['peak_rss_mb']:9.2f}x "
      f"{hl['peak_rss_mb'] / hc['peak_rss_mb']:11.2f}x")
PY
