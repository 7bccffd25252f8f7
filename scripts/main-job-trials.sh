#!/usr/bin/env bash
# The side runs behind the README's "Before and after" of the main job (run by hand, not by CI):
#   bash scripts/main-job-trials.sh settings   # 5-minute runs on the Bible corpus: the old main job's
#                                              # settings vs the new ones (held-out accuracy, fill-mask)
#   bash scripts/main-job-trials.sh seeds      # after the main job: paraphrase fine-tuning of runs/main/model
#                                              # vs random-init twins, seeds 1-3; sentiment once each
set -euo pipefail
cd "$(dirname "$0")/.."
P=.build/release/pretrain
T=${T:-runs/main-trials}
mkdir -p "$T"
[ -s runs/corpus-bible.txt ] || $P corpus build web kjv --output runs/corpus-bible.txt
PROMPTS=("In the beginning God created the heavens and the <mask>." "And the LORD spake unto <mask>, saying,"
         "Speak unto the children of <mask>, and say unto them," "The LORD is my <mask>; I shall not want.")

trial() {  # NAME SETTINGS…
  local name=$1; shift
  rm -rf "${T:?}/$name"
  $P train --recipe roberta --corpus runs/corpus-bible.txt --out "$T/$name" --set model=tiny --set time_limit_minutes=5 \
    --set eval_every=500 --set checkpoint_every=100000 "$@" 2>&1 | grep "held-out"
  for text in "${PROMPTS[@]}"; do $P fill-mask --model "$T/$name/model" --top-k 3 "$text" | tail -1; done
}

case "${1:-settings}" in
settings)
  echo "== the old main job's settings (seq 128, batch 32 × 2, dropout 0.1, lr 1.5e-3 that barely decays)"
  trial old --set lr=0.0015 --set grad_accum=2 --set warmup_steps=100 --set max_steps=100000
  echo "== 64-token sequences, batch 64, dropout 0, lr 3e-3 decaying over 2,200 steps"
  trial new --set lr=0.003 --set grad_accum=1 --set batch_size=64 --set seq_len=64 --set warmup_steps=200 --set dropout=0 --set max_steps=2200
  ;;
seeds)
  [ -d runs/main/model ] || { echo "run the main job first (bash scripts/main-job.sh)" >&2; exit 1; }
  ft() {  # TASK MODEL OUT SEED EPOCHS MAXLEN
    $P finetune --task "$1" --model "$2" --out "$3" --set epochs="$5" --set lr=3e-4 --set batch_size=32 \
      --set max_length="$6" --set seed="$4" 2>/dev/null | grep "best dev"
  }
  for seed in 1 2 3; do
    rm -rf "$T/random-$seed"
    $P init --config runs/main/model/config.json --heads mlm --seed "$seed" --out "$T/random-$seed" >/dev/null
    cp runs/main/model/tokenizer.json "$T/random-$seed/"
    echo "paraphrase seed $seed pretrained:  $(ft paraphrase runs/main/model "$T/ft-pre-$seed" "$seed" 2 128)"
    echo "paraphrase seed $seed random init: $(ft paraphrase "$T/random-$seed" "$T/ft-rand-$seed" "$seed" 2 128)"
  done
  echo "sentiment pretrained:  $(ft sentiment runs/main/model "$T/ft-sent-pre" 42 3 64)"
  echo "sentiment random init: $(ft sentiment "$T/random-1" "$T/ft-sent-rand" 42 3 64)"
  ;;
*) echo "usage: $0 settings|seeds" >&2; exit 2 ;;
esac
