#!/usr/bin/env bash
# The `gpt` recipe on the main job's corpus for the main job's budget (MINUTES, 10): a GPT-2 of
# the gpt2-mini size (L4 H256) with its byte-level BPE trained on the corpus, held-out loss and
# perplexity every EVAL_EVERY steps, then greedy and sampled continuations of corpus prompts and
# the perplexity of a held-out text under the exported model.
#   MINUTES=10 STEPS=600 EVAL_EVERY=50 bash scripts/gpt-main.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
RUN=${RUN:-runs/gpt}
MINUTES=${MINUTES:-10}
STEPS=${STEPS:-600}   # about what fits in 10 minutes here, so the cosine schedule ends with the time
mkdir -p runs
[ -s runs/corpus-main.txt ] || $PRETRAIN corpus build web kjv wordnet --output runs/corpus-main.txt
rm -rf "$RUN"
$PRETRAIN train --recipe gpt --corpus runs/corpus-main.txt --out "$RUN" --set time_limit_minutes="$MINUTES" \
  --set max_steps="$STEPS" --set eval_every="${EVAL_EVERY:-50}" --set checkpoint_every=500
printf '%s\n' "In the beginning God created" "The Lord is my shepherd;" "a small bird that" \
  "And God said, Let there be" "Blessed are the" > "$RUN/prompts.txt"
echo "== greedy"
$PRETRAIN generate --model "$RUN/model" --max-new-tokens 30 --input "$RUN/prompts.txt"
echo "== sampled (temperature 0.8, top-k 40, seed 1)"
$PRETRAIN generate --model "$RUN/model" --max-new-tokens 30 --temperature 0.8 --top-k 40 --seed 1 --input "$RUN/prompts.txt"
# Held-out perplexity of a passage the run never trained on (fortunes: another kind of English).
if [ -d /usr/share/games/fortunes ]; then
  cat /usr/share/games/fortunes/{wisdom,people,literature} 2>/dev/null | grep -v '^%$' | head -400 > "$RUN/fortunes.txt" || true
  [ -s "$RUN/fortunes.txt" ] && $PRETRAIN eval --model "$RUN/model" --perplexity "$RUN/fortunes.txt" --window 128
fi
