#!/usr/bin/env bash
# Fine-tunes all-MiniLM-L6-v2 (data/minilm, installed by setup) on every built-in task and prints
# the README's fine-tuning table: test metrics next to the majority baseline. Also fine-tunes the
# main job's model (runs/main/model, when present) and a randomly initialised copy of it on
# sentiment, to show what pretraining buys, and MiniLM as a sentence-embedding bi-encoder on
# paraphrase (as shipped, then fine-tuned with the cosine and the ranking loss). Training examples
# and epochs are capped per task so the whole report takes about 45 minutes on 2 cores (APPEND=1
# adds to the summary instead of restarting it).
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=.build/release/pretrain
TASKS=${TASKS:-"sentiment hedge wic paraphrase wordnet-choice wordnet-qa pos"}
source scripts/finetune-settings.sh
summary=runs/finetune-summary.jsonl
[ -n "${APPEND:-}" ] || : > $summary
run() {  # task model out settings… (VARIANT=… names a non-default head in the table)
  local task=$1 model=$2 out=$3; shift 3
  local start=$SECONDS
  $PRETRAIN finetune --task "$task" --model "$model" --out "$out" "$@" >/dev/null
  echo "{\"task\": \"$task\", \"model\": \"$model\", \"variant\": \"${VARIANT:-}\", \"finetune_seconds\": $((SECONDS - start))}" >> $summary
  $PRETRAIN eval --task "$task" --model "$out/model" --json | tee -a $summary
}
for task in $TASKS; do
  run "$task" data/minilm "runs/ft-$task-minilm" ${SETTINGS[$task]}
done
# Sentence embeddings (bi-encoder, cosine of mean-pooled vectors) on paraphrase: MiniLM as shipped
# (threshold chosen on dev), then fine-tuned with each loss.
if [[ " $TASKS " == *" paraphrase "* ]]; then
  echo '{"task": "paraphrase", "model": "data/minilm", "variant": "embedding, no fine-tuning", "finetune_seconds": null}' >> $summary
  $PRETRAIN eval --task paraphrase --model data/minilm --head embedding --json | tee -a $summary
  for loss in cosine ranking; do
    VARIANT="embedding, $loss loss" run paraphrase data/minilm "runs/ft-paraphrase-embedding-$loss" \
      --set head=embedding --set embedding_loss=$loss --set epochs=1 --set max_train_examples=2000
  done
fi
if [ -d runs/main/model ]; then
  run sentiment runs/main/model runs/ft-sentiment-main --set epochs=3 --set lr=3e-4
  # The same architecture and tokenizer, randomly initialised.
  rm -rf runs/random-main
  $PRETRAIN init --config runs/main/model --heads mlm --seed 1 --out runs/random-main
  cp runs/main/model/tokenizer.json runs/random-main/
  run sentiment runs/random-main runs/ft-sentiment-random --set epochs=3 --set lr=3e-4
fi
