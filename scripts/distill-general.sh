#!/usr/bin/env bash
# General (pretraining-time) distillation, DistilBERT's recipe at CPU scale: a BERT teacher of
# the mini size (4 layers, H256) pretrained with MLM on the main corpus for TEACHER_MINUTES; a
# DistilBERT student of its layers 0 and 2 distilled from it (recipes/distilbert.json: soft
# targets + MLM + cosine) for STEPS steps; the same student architecture randomly initialised and
# pretrained with MLM alone for the same steps. Prints the held-out MLM accuracy of the three
# (`pretrain report`), then fine-tunes them on TASKS with SEEDS (scripts/finetune-compare.sh).
#   TEACHER_MINUTES=40 STEPS=600 TASKS="sentiment wic" SEEDS="1 2 3" bash scripts/distill-general.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
TEACHER_MINUTES=${TEACHER_MINUTES:-40}
STEPS=${STEPS:-600}
CORPUS=runs/corpus-main.txt
[ -s $CORPUS ] || $PRETRAIN corpus build web kjv wordnet --output $CORPUS
COMMON=(--set objectives=mlm --set format=full_sentences --set mask_mode=dynamic --set eval_every=250 --set checkpoint_every=500)
if [ ! -d runs/kd-teacher/model ]; then
  start=$SECONDS
  $PRETRAIN train --recipe bert --corpus $CORPUS --out runs/kd-teacher "${COMMON[@]}" --set model=mini \
    --set time_limit_minutes="$TEACHER_MINUTES" --set max_steps=1000000 --set lr=1e-3 --set warmup_steps=200
  echo "teacher: $(( (SECONDS - start) / 60 )) minutes"
fi
$PRETRAIN train --recipe distilbert --corpus $CORPUS --out runs/kd-student --set teacher=runs/kd-teacher/model \
  --set max_steps="$STEPS" --set eval_every=250 --set checkpoint_every=500
$PRETRAIN distill-init --teacher runs/kd-teacher/model --out runs/kd-student-shape
$PRETRAIN train --recipe bert --corpus $CORPUS --out runs/kd-no-teacher "${COMMON[@]}" --set family=distilbert \
  --set model=runs/kd-student-shape/config.json --set tokenizer=runs/kd-teacher/model/tokenizer.json \
  --set max_steps="$STEPS" --set lr=5e-4 --set warmup_steps=20 --set batch_size=16 --set grad_accum=4
$PRETRAIN report runs/kd-teacher runs/kd-student runs/kd-no-teacher
TASKS=${TASKS:-"sentiment wic"} OUT=runs/distill-general.jsonl bash scripts/finetune-compare.sh \
  teacher=runs/kd-teacher/model distilled=runs/kd-student/model no-teacher=runs/kd-no-teacher/model
