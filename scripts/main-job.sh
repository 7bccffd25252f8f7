#!/usr/bin/env bash
# The README's main job (run by `make demo` after setup and a release build), about 12 minutes on
# 2 cores: build a corpus of the two Bibles from OS packages, train a byte-level BPE tokenizer on
# it, pretrain a small RoBERTa-style model for ~9 minutes, print its held-out accuracy against the
# unigram baseline and fill-mask on four in-domain prompts (chosen before the runs, with the
# expected word), then fine-tune it on the paraphrase task (KJV verse vs WEB verse) next to the
# same model from random weights.
#
# What makes ten CPU-minutes teach something (each measured, README "Pretraining — the main job"):
# one domain (the Bibles, 9 MB) rather than a mix; sequences of 64 tokens in batches of 64, so
# 5,500 updates fit; no dropout (nothing to overfit in one pass and a half); a peak learning rate
# of 3e-3 that decays to 0 at the last step (the tiny size takes it).
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=.build/release/pretrain
RUN=${RUN:-runs/main}
MINUTES=${MINUTES:-9}
STEPS=${STEPS:-5500}

mkdir -p runs
if [ ! -s runs/corpus-bible.txt ]; then
  # The World English Bible and the King James Bible: 2,580 chapters, 9 MB of English.
  $PRETRAIN corpus build web kjv --output runs/corpus-bible.txt
fi
rm -rf "$RUN" "$RUN-random" "$RUN-finetune" "$RUN-random-finetune"
$PRETRAIN train --recipe roberta --corpus runs/corpus-bible.txt --out "$RUN" \
  --set model=tiny --set seq_len=64 --set batch_size=64 --set grad_accum=1 --set dropout=0 \
  --set lr=0.003 --set warmup_steps=200 --set max_steps="$STEPS" --set time_limit_minutes="$MINUTES" \
  --set eval_every=1000 --set checkpoint_every=1000

echo
echo "== fill-mask with the model just trained ($RUN/model): top 3, and the word the verse has"
right=0
while IFS='|' read -r expected text; do
  out=$($PRETRAIN fill-mask --model "$RUN/model" --top-k 3 "$text")
  echo "$out"
  first=$(tail -1 <<<"$out" | sed -E 's/^ *\[[0-9]+\] ([^ ]+) .*/\1/')
  if [ "$first" = "$expected" ]; then right=$((right + 1)); echo "  expected: $expected — right"; else echo "  expected: $expected"; fi
done <<'EOF'
earth|In the beginning God created the heavens and the <mask>.
Moses|And the LORD spake unto <mask>, saying,
Israel|Speak unto the children of <mask>, and say unto them,
shepherd|The LORD is my <mask>; I shall not want.
EOF
echo "fill-mask: $right of 4 right"

echo
echo "== fine-tuning on paraphrase (is a KJV verse the WEB verse of the same reference?), 2 epochs"
# The same architecture and tokenizer from random weights, for comparison.
$PRETRAIN init --config "$RUN/model/config.json" --heads mlm --seed 1 --out "$RUN-random" >/dev/null
cp "$RUN/model/tokenizer.json" "$RUN-random/"
for model in "$RUN/model" "$RUN-random"; do
  out=$([ "$model" = "$RUN/model" ] && echo "$RUN-finetune" || echo "$RUN-random-finetune")
  $PRETRAIN finetune --task paraphrase --model "$model" --out "$out" \
    --set epochs=2 --set lr=3e-4 --set batch_size=32 --set max_length=128 2>/dev/null | grep "best dev" \
    | sed "s|^|$( [ "$model" = "$RUN/model" ] && echo "pretrained   " || echo "random init  ")|"
done
echo
echo "metrics: $RUN/metrics.jsonl   plots: $RUN/loss.svg $RUN/accuracy.svg"
