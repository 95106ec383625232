#!/usr/bin/env bash
# `glint train dpo|orpo|simpo|kto|reward` end to end on the CPU: a tiny base model (two `train lm` steps), then two
# steps of each alignment trainer (DPO also with LoRA, on chat messages and with QLoRA; reward also with LoRA and
# QLoRA), each writing its metrics (with TRL's names) and its model or adapter.
# Usage: test_alignment_cli.sh GLINT_BINARY WORK_DIR
set -euo pipefail
glint=$1
work=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
data=$root/tests/data/alignment
rm -rf "$work" && mkdir -p "$work"
export GLINT_CACHE_DIR="$work/cache"

"$glint" train lm --config "$root/tests/data/training/tiny-lm/config.json" --tokenizer "$root/models/default" \
  --data "$root/tests/data/training/verses.jsonl" --seq-len 32 --batch-size 4 --max-steps 2 --device cpu \
  --output "$work/base" > "$work/base.log"

common=(--model "$work/base" --max-steps 2 --batch-size 2 --logging-steps 1 --lr 1e-3 --device cpu)
"$glint" train dpo "${common[@]}" --data "$data/prefs.jsonl" --loss-type ipo --output "$work/dpo" > "$work/dpo.log"
grep -q '"rewards/accuracies"' "$work/dpo/metrics.jsonl"
grep -q '"rewards/margins"' "$work/dpo/metrics.jsonl"
# The reference scored once before training, as TRL's precompute_ref_log_probs: the same run as a live frozen copy.
"$glint" train dpo "${common[@]}" --data "$data/prefs.jsonl" --loss-type ipo --precompute-ref-log-probs \
  --output "$work/dpo_pre" > "$work/dpo_pre.log"
test -s "$work/dpo_pre/model.safetensors"
# LoRA: the reference is the base with adapters disabled; the output is a peft adapter folder.
"$glint" train dpo "${common[@]}" --data "$data/prefs.jsonl" --lora-r 4 --output "$work/dpo_lora" > "$work/dpo_lora.log"
test -s "$work/dpo_lora/adapter_model.safetensors"
test -s "$work/dpo_lora/adapter_config.json"
# Chat messages through tiny-chat's template, and QLoRA: an NF4 base with LoRA, the reference its adapters disabled.
chat=(--model "$root/tests/data/models/tiny-chat" --max-steps 2 --batch-size 2 --logging-steps 1 --lr 1e-3 --device cpu)
"$glint" train dpo "${chat[@]}" --data "$data/chat/conversational.jsonl" --output "$work/dpo_chat" > "$work/dpo_chat.log"
grep -q '"rewards/margins"' "$work/dpo_chat/metrics.jsonl"
"$glint" train dpo "${chat[@]}" --data "$data/chat/implicit.jsonl" --lora-r 4 --load-in-4bit --output "$work/dpo_qlora" \
  > "$work/dpo_qlora.log"
test -s "$work/dpo_qlora/adapter_model.safetensors"
if "$glint" train dpo "${chat[@]}" --data "$data/chat/implicit.jsonl" --load-in-4bit --output "$work/x" > "$work/x.log" 2>&1
then echo "--load-in-4bit without --lora-r must fail" >&2; exit 1; fi
grep -q "give --lora-r" "$work/x.log"
"$glint" train orpo "${common[@]}" --data "$data/prefs.jsonl" --output "$work/orpo" > "$work/orpo.log"
grep -q '"log_odds_ratio"' "$work/orpo/metrics.jsonl"
"$glint" train simpo "${common[@]}" --data "$data/prefs.jsonl" --output "$work/simpo" > "$work/simpo.log"
"$glint" train kto "${common[@]}" --data "$data/kto.jsonl" --output "$work/kto" > "$work/kto.log"
grep -q '"kl"' "$work/kto/metrics.jsonl"
"$glint" train reward "${common[@]}" --data "$data/prefs.jsonl" --output "$work/reward" > "$work/reward.log"
grep -q '"accuracy"' "$work/reward/metrics.jsonl"
grep -q 'LlamaForSequenceClassification' "$work/reward/config.json"
# A reward model with LoRA, and with QLoRA (an NF4 backbone): peft's SEQ_CLS adapter, the score head saved whole.
"$glint" train reward "${common[@]}" --data "$data/prefs.jsonl" --lora-r 4 --lora-alpha 8 --output "$work/reward_lora" \
  > "$work/reward_lora.log"
"$glint" train reward "${chat[@]}" --data "$data/prefs.jsonl" --lora-r 4 --load-in-4bit --output "$work/reward_qlora" \
  > "$work/reward_qlora.log"
for d in reward_lora reward_qlora; do
  grep -q '"accuracy"' "$work/$d/metrics.jsonl"
  grep -q '"task_type": "SEQ_CLS"' "$work/$d/adapter_config.json"
  grep -A1 '"modules_to_save"' "$work/$d/adapter_config.json" | grep -q '"score"'
  test -s "$work/$d/adapter_model.safetensors"
  test ! -e "$work/$d/model.safetensors"
done
grep -q '"lora_alpha": 8' "$work/reward_lora/adapter_config.json"
if "$glint" train reward "${common[@]}" --data "$data/prefs.jsonl" --load-in-4bit --output "$work/x" > "$work/x.log" 2>&1
then echo "reward --load-in-4bit without --lora-r must fail" >&2; exit 1; fi
grep -q "give --lora-r" "$work/x.log"
for m in dpo orpo simpo kto reward; do test -s "$work/$m/model.safetensors"; done
# A DPO model folder is a causal LM glint generates from.
"$glint" --device cpu generate "$work/dpo" --prompt "The sky is" --max-new-tokens 4 > "$work/generate.log"
echo "alignment CLI runs passed"
