#!/usr/bin/env bash
# The README's main job (run by `make demo` after setup and a release build): build a corpus from
# OS packages, train a byte-level BPE tokenizer on it, pretrain a small RoBERTa-style model with
# dynamic masking for a bounded time, evaluate on held-out text, print fill-mask examples.
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=.build/release/pretrain
RUN=${RUN:-runs/main}
MINUTES=${MINUTES:-10}

mkdir -p runs
if [ ! -s runs/corpus-main.txt ]; then
  # The Bibles (modern and King James) and WordNet's glosses and examples: ~18 MB of real English.
  $PRETRAIN corpus build web kjv wordnet --output runs/corpus-main.txt
fi
rm -rf "$RUN"
# The tiny size (2 layers, H128) takes ~4x more steps than mini in the same time, which matters
# more than width this early in training.
$PRETRAIN train --recipe roberta --corpus runs/corpus-main.txt --out "$RUN" \
  --set model=tiny --set time_limit_minutes="$MINUTES" --set max_steps=3200 --set grad_accum=2 \
  --set lr=0.0015 --set warmup_steps=100 --set eval_every=200 --set checkpoint_every=500

echo
echo "== fill-mask with the model just trained ($RUN/model)"
for text in "In the beginning God created the heavens and the <mask>." \
            "The Lord is my <mask>; I shall not want." \
            "a small <mask> that lives in the sea" \
            "And God said, Let there be <mask>: and there was light."; do
  $PRETRAIN fill-mask --model "$RUN/model" --top-k 5 "$text"
done
echo
echo "metrics: $RUN/metrics.jsonl   plots: $RUN/loss.svg $RUN/accuracy.svg"
