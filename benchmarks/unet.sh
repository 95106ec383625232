#!/usr/bin/env bash
# UNet denoising-step throughput on the CPU, glint vs diffusers + PyTorch in one go on the same weights and thread
# count: seconds per UNet forward and images/s at batch 1 and 8 on 64x64 latents.
#   benchmarks/unet.sh [THREADS] [UNET_DIR] [BUILD_DIR] [-- extra args for both sides, e.g. --reps 5]
# UNET_DIR: a diffusers unet/ folder; when it has no config.json, bench_unet writes a random reduced SD-1.5 UNet
# there (default: a temporary folder). The diffusers side runs with $HF_PYTHON (default /work/venv-fixtures/bin/python,
# else python3); without torch + diffusers it is skipped with a message and only glint's numbers are printed.
# Prints both results and the ratios glint / diffusers (goal: >= 1.3x).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${1:-$(nproc)}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
unet=${2:-$out/unet}
build=${3:-$root/build}
shift $(($# < 3 ? $# : 3))
[[ ${1:-} == -- ]] && shift
python=${HF_PYTHON:-/work/venv-fixtures/bin/python}
[[ -x $python ]] || python=python3
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
"$build/benchmarks/bench_unet" --unet "$unet" --threads "$threads" "$@" > "$out/glint"
cat "$out/glint"
"$python" "$root/tools/bench_unet_diffusers.py" --unet "$unet" --threads "$threads" "$@" 2>/dev/null > "$out/hf" ||
  echo '{"side": "diffusers", "skipped": "the script failed"}' >> "$out/hf"
cat "$out/hf"
"$python" - "$(tail -1 "$out/glint")" "$(tail -1 "$out/hf")" <<'PY'
import json, sys
g, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"UNet step, {g['latent']}x{g['latent']} latents, {g['threads']} threads, {g['device']}")
if "skipped" in h:
    print(f"diffusers not run ({h['skipped']}): glint only")
    print("| batch | glint s/step | glint images/s |")
    print("|---|---|---|")
    for r in g["results"]:
        print(f"| {r['batch']} | {r['step_s']:.3f} | {r['images_s']:.2f} |")
    sys.exit(0)
hf = {r["batch"]: r for r in h["results"]}
print("| batch | glint s/step | diffusers s/step | glint images/s | diffusers images/s | ratio |")
print("|---|---|---|---|---|---|")
for r in g["results"]:
    o = hf[r["batch"]]
    print(f"| {r['batch']} | {r['step_s']:.3f} | {o['step_s']:.3f} | {r['images_s']:.2f} | {o['images_s']:.2f}"
          f" | {o['step_s'] / r['step_s']:.2f}x |")
PY
