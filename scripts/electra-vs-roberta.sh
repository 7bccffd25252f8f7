#!/usr/bin/env bash
# ELECTRA's claim (Clark et al. 2020: replaced-token detection learns more per FLOP than MLM) at
# CPU scale: the ELECTRA recipe and the MLM-only RoBERTa recipe, the same discriminator/encoder
# size (tiny: L2 H128), tokenizer (byte-level BPE trained on the corpus), data, batch (32 × 2) and
# learning rate, pretrained for equal training FLOPs (`train_flops`: ELECTRA's steps fix the
# budget, RoBERTa stops when it has spent the same), then each fine-tuned on built-in tasks with
# the same seeds.   STEPS=1600 TASKS="sentiment wic paraphrase" bash scripts/electra-vs-roberta.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
STEPS=${STEPS:-1600}
COMMON="--set model=tiny --set tokenizer=bpe --set grad_accum=2 --set lr=0.0015 --set warmup_steps=100 --set checkpoint_every=500"
mkdir -p runs
[ -s runs/corpus-main.txt ] || $PRETRAIN corpus build web kjv wordnet --output runs/corpus-main.txt
last_flops() { python3 -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]['train_flops'])" "$1/metrics.jsonl"; }

if [ ! -d runs/electra/model ]; then
  rm -rf runs/electra
  $PRETRAIN train --recipe electra --corpus runs/corpus-main.txt --out runs/electra $COMMON \
    --set max_steps="$STEPS" --set eval_every=200
fi
BUDGET=$(last_flops runs/electra)
if [ ! -d runs/roberta-equal/model ]; then
  rm -rf runs/roberta-equal
  # One step to measure RoBERTa's FLOPs per step (its learning rate is 0 there), then on to the
  # budget with the schedule ending where the budget does.
  $PRETRAIN train --recipe roberta --corpus runs/corpus-main.txt --out runs/roberta-equal $COMMON \
    --set max_steps=1 --set eval_every=0 >/dev/null
  STEPS_ROBERTA=$(python3 -c "print(round($BUDGET / $(last_flops runs/roberta-equal)))")
  $PRETRAIN train --out runs/roberta-equal --resume --set max_steps="$STEPS_ROBERTA" --set max_train_flops="$BUDGET" \
    --set eval_every=200
fi
$PRETRAIN report runs/electra runs/roberta-equal
TASKS=${TASKS:-"sentiment wic paraphrase"} OUT=runs/electra-vs-roberta.jsonl \
  bash scripts/finetune-compare.sh electra=runs/electra/model roberta=runs/roberta-equal/model
