#!/usr/bin/env bash
# Does pretraining help? Fine-tunes the main job's model (runs/main/model, from scripts/main-job.sh)
# and a randomly initialised copy of it (same architecture and tokenizer) with the same settings
# and seeds on built-in tasks, and prints test metrics side by side (mean ± sd over seeds).
#   TASKS="sentiment wic" SEEDS="1 2 3" bash scripts/pretraining-helps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
[ -d runs/main/model ] || { echo "runs/main/model is missing: run scripts/main-job.sh (make demo) first" >&2; exit 1; }
if [ ! -d runs/random-main ]; then
  $PRETRAIN init --config runs/main/model --heads mlm --seed 1 --out runs/random-main
  cp runs/main/model/tokenizer.json runs/random-main/
fi
TASKS=${TASKS:-"sentiment wic paraphrase hedge wordnet-choice"} OUT=runs/pretraining-helps.jsonl \
  bash scripts/finetune-compare.sh main=runs/main/model random=runs/random-main
