#!/usr/bin/env bash
# kill -9 at random moments, then --resume: the finished run must equal an uninterrupted one bit
# for bit (the exported model and the last checkpoint's weights and optimizer state; its
# state.json differs only in wall-clock time).
# Each trial starts a fresh run and kills it 1–3 times, at a random moment of its remaining
# work — during tokenizer training, shard preparation, a step or a checkpoint write — resuming
# after each kill (or starting again when the kill came before the run wrote its recipe.json).
#   bash scripts/kill-resume-trials.sh [TRIALS]     (default 20; prints "kill -9 trials: …")
set -uo pipefail
cd "$(dirname "$0")/.."
TRIALS=${1:-20}
swift build -c release --product pretrain >/dev/null || { echo "release build failed" >&2; exit 1; }
P=$PWD/.build/release/pretrain
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
$P corpus build kjv --output "$T/kjv.txt" >/dev/null && head -3000 "$T/kjv.txt" > "$T/corpus.txt"
ARGS=(--set model=tiny --set max_steps=40 --set checkpoint_every=4 --set eval_every=0 --set seq_len=64 --set batch_size=8)

start=$(date +%s.%N)
$P train --recipe roberta --corpus "$T/corpus.txt" --out "$T/ref" "${ARGS[@]}" >/dev/null 2>&1 || { echo "reference run failed" >&2; exit 1; }
duration=$(echo "$(date +%s.%N) - $start" | bc)

# The bytes that must match.
fingerprint() { (cd "$1" && sha256sum model/model.safetensors checkpoints/step-00000040/{model,optimizer}.safetensors) | awk '{print $1}' | sha256sum; }
want=$(fingerprint "$T/ref")

kills=0 exact=0 failed=0
for trial in $(seq 1 "$TRIALS"); do
  run=$T/run; rm -rf "$run"
  planned=$(( (RANDOM % 3) + 1 )) done_run=0 error=""
  for attempt in $(seq 0 "$planned"); do
    if [ -f "$run/recipe.json" ]; then cmd=($P train --resume --out "$run")
    else rm -rf "$run"; cmd=($P train --recipe roberta --corpus "$T/corpus.txt" --out "$run" "${ARGS[@]}"); fi
    "${cmd[@]}" > "$T/log" 2>&1 &
    pid=$!
    if [ "$attempt" -lt "$planned" ]; then
      # A moment anywhere in the run's length (most kills land inside training steps).
      sleep "$(echo "scale=3; $duration * $((RANDOM % 1000)) / 1000" | bc)"
      if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    fi
    { wait "$pid"; } 2>/dev/null; rc=$?
    if [ "$rc" -eq 0 ] && [ "$attempt" -eq "$planned" ]; then done_run=1
    elif [ "$rc" -ne 0 ] && [ "$rc" -ne 137 ]; then error="exit $rc: $(tail -2 "$T/log")"; break; fi
  done
  if [ "$done_run" -eq 1 ] && [ "$(fingerprint "$run")" = "$want" ]; then exact=$((exact + 1))
  else failed=$((failed + 1)); echo "trial $trial: ${error:-finished run differs from the uninterrupted one}" >&2; fi
done
echo "kill -9 trials: $TRIALS runs, $kills kills, $exact resumed bit for bit, $failed failed"
[ "$failed" -eq 0 ]
