#!/usr/bin/env bash
# A training run killed with SIGKILL, or stopped with SIGINT, and resumed with --resume latest ends with the same
# bytes of model weights as an uninterrupted run. Usage: kill_resume.sh GLINT_BINARY WORK_DIR
set -euo pipefail
glint=$1
work=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work" && mkdir -p "$work"
common=(train lm --config "$root/tests/data/training/tiny-lm/config.json" --tokenizer "$root/models/default"
        --data "$root/tests/data/training/verses.jsonl" --text-template '{text}\n' --seq-len 32 --batch-size 4
        --max-steps 12 --save-steps 2 --logging-steps 1 --lr 3e-3 --device cpu)
export GLINT_CACHE_DIR="$work/cache"

"$glint" "${common[@]}" --output "$work/straight" > "$work/straight.log"

"$glint" "${common[@]}" --output "$work/killed" > "$work/killed.log" &
pid=$!
# Kill it once it has saved a checkpoint but before it ends.
for _ in $(seq 1 600); do
  if ls -d "$work/killed"/checkpoint-4 > /dev/null 2>&1; then break; fi
  sleep 0.05
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
for _ in $(seq 1 600); do
  if ls -d "$work/interrupted"/checkpoint-2 > /dev/null 2>&1; then break; fi
  sleep 0.05
done
kill -INT "$pid"
wait "$pid"
grep -q "^interrupted at step" "$work/interrupted.log"
step=$(sed -n 's/^interrupted at step \([0-9]*\).*/\1/p' "$work/interrupted.log")
test -f "$work/interrupted/checkpoint-$step/trainer_state.json"
"$glint" "${common[@]}" --output "$work/interrupted" --resume latest > /dev/null
cmp "$work/straight/model.safetensors" "$work/interrupted/model.safetensors"
echo "resumed run is bit-identical"
