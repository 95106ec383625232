#!/usr/bin/env bash
# A training run killed with SIGKILL, or stopped with SIGINT, and resumed with --resume latest ends with the same
# bytes of model weights as an uninterrupted run. Usage: kill_resume.sh GLINT_BINARY WORK_DIR
# The runs are 60 steps long, so that the window between the checkpoint the test waits for and the end of the run
# stays far longer than its 10 ms polling however fast training gets (12 steps were once too few).
set -euo pipefail
glint=$1
work=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work" && mkdir -p "$work"
common=(train lm --config "$root/tests/data/training/tiny-lm/config.json" --tokenizer "$root/models/default"
        --data "$root/tests/data/training/verses.jsonl" --text-template '{text}\n' --seq-len 32 --batch-size 4
        --max-steps 60 --save-steps 10 --save-total-limit 3 --logging-steps 1 --lr 3e-3 --device cpu)
export GLINT_CACHE_DIR="$work/cache"

"$glint" "${common[@]}" --output "$work/straight" > "$work/straight.log"
# --save-total-limit 3 keeps the newest three of the six checkpoints.
[ "$(ls -d "$work/straight"/checkpoint-* | sed 's/.*checkpoint-//' | sort -n | tr '\n' ' ')" = "40 50 60 " ]

"$glint" "${common[@]}" --output "$work/killed" > "$work/killed.log" &
pid=$!
# Kill it once it has saved a checkpoint but before it ends.
for _ in $(seq 1 3000); do
  if ls -d "$work/killed"/checkpoint-10 > /dev/null 2>&1; then break; fi
  sleep 0.01
done
kill -9 "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
if [ -f "$work/killed/model.safetensors" ]; then
  echo "the run finished before it could be killed; the test proves nothing" >&2
  exit 1
fi
last=$(ls -d "$work/killed"/checkpoint-* | sed 's/.*checkpoint-//' | sort -n | tail -1)
echo "killed after checkpoint-$last"

"$glint" "${common[@]}" --output "$work/killed" --resume latest > "$work/resumed.log"
cmp "$work/straight/model.safetensors" "$work/killed/model.safetensors"
# SIGINT: the run finishes its step, saves a checkpoint of it, says so and exits 0; resuming still ends identical.
"$glint" "${common[@]}" --output "$work/interrupted" > "$work/interrupted.log" &
pid=$!
for _ in $(seq 1 3000); do
  if ls -d "$work/interrupted"/checkpoint-10 > /dev/null 2>&1; then break; fi
  sleep 0.01
done
kill -INT "$pid"
wait "$pid"
grep -q "^interrupted at step" "$work/interrupted.log"
step=$(sed -n 's/^interrupted at step \([0-9]*\).*/\1/p' "$work/interrupted.log")
test -f "$work/interrupted/checkpoint-$step/trainer_state.json"
"$glint" "${common[@]}" --output "$work/interrupted" --resume latest > /dev/null
cmp "$work/straight/model.safetensors" "$work/interrupted/model.safetensors"
echo "resumed run is bit-identical"
