#!/usr/bin/env bash
# `glint train grpo` end to end on the CPU: a tiny base model (two `train lm` steps), then two GRPO steps with
# completions sampled in the loop and two rewards (full model, beta > 0 against a frozen copy; LoRA with the
# adapters-off reference; QLoRA), each writing TRL's metrics and its model or adapter.
# Usage: test_grpo_cli.sh GLINT_BINARY WORK_DIR
set -euo pipefail
glint=$1
work=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
data=$root/tests/data/grpo/prompts.jsonl
rm -rf "$work" && mkdir -p "$work"
export GLINT_CACHE_DIR="$work/cache"

"$glint" train lm --config "$root/tests/data/training/tiny-lm/config.json" --tokenizer "$root/models/default" \
  --data "$root/tests/data/training/verses.jsonl" --seq-len 32 --batch-size 4 --max-steps 2 --device cpu \
  --output "$work/base" > "$work/base.log"

common=(--model "$work/base" --data "$data" --max-steps 2 --batch-size 4 --num-generations 4 --logging-steps 1
  --max-completion-length 6 --lr 1e-3 --device cpu --reward exact_match:answer --reward 'format:.*e'
  --reward-weights 1 0.5)
"$glint" train grpo "${common[@]}" --beta 0.04 --loss-type grpo --num-iterations 2 --output "$work/full" \
  > "$work/full.log"
for key in '"reward"' '"reward_std"' '"rewards/exact_match/mean"' '"rewards/format/mean"' '"kl"' \
  '"completions/mean_length"' '"clip_ratio/region_mean"'; do
  grep -q "$key" "$work/full/metrics.jsonl"
done
test -s "$work/full/model.safetensors"
"$glint" train grpo "${common[@]}" --beta 0.04 --lora-r 4 --output "$work/lora" > "$work/lora.log"
test -s "$work/lora/adapter_model.safetensors"
"$glint" train grpo "${common[@]}" --lora-r 4 --load-in-4bit --loss-type dr_grpo --output "$work/qlora" \
  > "$work/qlora.log"
test -s "$work/qlora/adapter_model.safetensors"
echo "grpo CLI runs passed"
