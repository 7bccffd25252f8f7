#!/usr/bin/env bash
# `pretrain train` (the whole pipeline: shards, instance planning, masking, batching, logging) vs
# `pretrain bench train` (the bare step on random ids, every position a token) for the same model,
# vocabulary 8000, seq 128, batch 32, 2 threads: sequence positions per second, and the real
# (non-padding) tokens per second of the training run. Uses the main job's tokenizer and corpus (run `make demo` first).
set -euo pipefail
cd "$(dirname "$0")/../.."
PRETRAIN=.build/release/pretrain
for size in tiny mini; do
  bench=$($PRETRAIN bench train --config $size --vocab-size 8000 --threads 2 --steps 20 --json \
          | python3 -c 'import sys,json; print(round(json.load(sys.stdin)["tokens_per_s"]))')
  rm -rf /tmp/train-vs-bench
  $PRETRAIN train --recipe roberta --corpus runs/corpus-main.txt --out /tmp/train-vs-bench \
    --set tokenizer="$PWD/runs/main/tokenizer.json" --set model=$size --set grad_accum=1 --set max_steps=80 \
    --set warmup_steps=10 --set eval_every=0 --set checkpoint_every=0 --set log_every=20 --set threads=2 2>/dev/null
  read -r tokens positions < <(python3 -c 'import json; r=[json.loads(l) for l in open("/tmp/train-vs-bench/metrics.jsonl")][1:]
print(round(sum(x["tokens_per_s"] for x in r)/len(r)), round(sum(x["positions_per_s"] for x in r)/len(r)))')
  python3 -c "print(f'$size: bench train {$bench} positions/s; pretrain train {$positions} positions/s (ratio {$positions/$bench:.2f}), {$tokens} real tokens/s ({$tokens/$positions:.0%} of positions: FULL-SENTENCES never splits a sentence, so sequences end early)')"
done
