#!/usr/bin/env bash
# Runs what benchmarks/gpu/pack.sh packed on a machine with a GPU, from the checkout's root: the test suite and the
# benchmarks through the GPU's Vulkan driver, beside PyTorch on CUDA where the machine has it. Logs go to $OUT.
#   benchmarks/gpu/run.sh diag|tests|bench|gen|train ...
set -u
R=$PWD
mkdir -p /work && { [ -e /work/main ] || ln -sfn "$R" /work/main; }  # fixture paths compiled in as /work/main/...
G=${GPU_BUNDLE:-/tmp/gpu}
if [ ! -d "$G/bin" ]; then
  mkdir -p "$G/lib" && tar xJf "$R/.gpu/bundle.tar.xz" -C "$G" && tar xJf "$R/.gpu/libs.tar.xz" -C "$G/lib" &&
    tar xJf "$R/.gpu/gl.tar.xz" -C "$G/lib"
fi
export LD_LIBRARY_PATH=$G/lib
icd=$(ls /usr/local/nvidia/share/vulkan/icd.d/*.json /usr/share/vulkan/icd.d/nvidia*.json \
  /etc/vulkan/icd.d/nvidia*.json 2>/dev/null | head -1)
[ -n "$icd" ] && export VK_DRIVER_FILES=$icd
B=$G/bin
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
t() { local s=$1; shift; echo "### $*"; timeout "$s" "$@" 2>&1; echo "### rc=$? ($SECONDS s)"; }
for what in "$@"; do case $what in
diag)  # the device, or why the loader found none
  nvidia-smi -L 2>&1; echo "ICD: ${icd:-none}"
  if ! "$B/glint" devices 2>&1 | tee /dev/stderr | grep -q "^vulkan:0"; then
    VK_LOADER_DEBUG=error,warn,driver "$B/glint" devices 2>&1 | tail -30
    exit 1
  fi ;;
tests)  # gtest shards in parallel, from build/tests as ctest runs them
  mkdir -p "$R/build/tests" && cd "$R/build/tests"
  for i in $(seq 0 7); do
    GTEST_TOTAL_SHARDS=8 GTEST_SHARD_INDEX=$i timeout 400 "$B/glint_tests" --gtest_brief=1 > "/tmp/shard$i.log" 2>&1 &
  done
  wait
  cat /tmp/shard*.log > "$OUT/tests.log"
  grep -hE "^\[  FAILED  \]|PASSED|Segmentation|Aborted|terminate" /tmp/shard*.log | sort | uniq -c | head -60
  cd "$R" ;;
bench)
  { t 90 "$B/bench_matmul" --device vulkan:0 --dtype f32
    t 90 "$B/bench_matmul" --device vulkan:0 --dtype f16
    t 60 "$B/bench_attention" --device vulkan:0 --dtype f16
    t 60 "$B/bench_nf4" --device vulkan:0
    t 60 "$B/bench_conv2d" --device vulkan:0 --dtype f16
    t 40 "$B/bench_optim" --device vulkan:0
    t 40 "$B/bench_reduce" --device vulkan:0; } > "$OUT/bench.log" 2>&1
  grep -vE "^\s*$" "$OUT/bench.log" | tail -150 ;;
gen)  # SmolLM2-135M's architecture at random init, glint on Vulkan vs transformers on CUDA
  m=/tmp/smollm2-random
  env -u LD_LIBRARY_PATH python3 - "$m" "$R/benchmarks/gpu/smollm2-135m-config.json" <<'PY'
import json, sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
cfg = json.load(open(sys.argv[2]))
for k in ("_model_name_or_path", "transformers_version", "dtype"): cfg.pop(k, None)
torch.manual_seed(0)
LlamaForCausalLM(LlamaConfig(**cfg)).float().save_pretrained(sys.argv[1])
PY
  { for dt in f32 f16; do
      t 150 "$B/bench_generate" --model $m --device vulkan:0 --dtype $dt --batches 1,8 --repeat 3
      t 150 env -u LD_LIBRARY_PATH python3 tools/bench_generate_hf.py --model $m --device cuda --dtype $dt \
        --batches 1,8 --repeat 3
    done; } > "$OUT/gen.log" 2>&1
  grep -E "batch|rc=|###|rror" "$OUT/gen.log" ;;
train)  # full, LoRA and QLoRA training steps on Vulkan
  { for mode in full lora qlora; do
      t 150 "$B/bench_qlora" --mode $mode --device vulkan --config benchmarks/gpu/smollm2-135m-config.json \
        --batch 8 --seq 256 --steps 5
    done; } > "$OUT/train.log" 2>&1
  grep -vE "^\s*$" "$OUT/train.log" | tail -40 ;;
*) echo "unknown step: $what (diag, tests, bench, gen, train)"; exit 2 ;;
esac; done
