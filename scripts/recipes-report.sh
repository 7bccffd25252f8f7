#!/usr/bin/env bash
# Trains each shipped recipe on the main job's corpus (the Bibles + WordNet) for a fixed time at
# the tiny size, then prints the README's recipe table (`pretrain report`). About 4 minutes a recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=.build/release/pretrain
MINUTES=${MINUTES:-3}
[ -s runs/corpus-main.txt ] || $PRETRAIN corpus build web kjv wordnet --output runs/corpus-main.txt
for recipe in bert roberta albert spanbert electra; do
  rm -rf "runs/recipe-$recipe"
  $PRETRAIN train --recipe $recipe --corpus runs/corpus-main.txt --out "runs/recipe-$recipe" \
    --set model=tiny --set grad_accum=1 --set max_steps=1500 --set warmup_steps=100 \
    --set time_limit_minutes="$MINUTES" --set eval_every=250 --set checkpoint_every=0
done
$PRETRAIN report runs/recipe-bert runs/recipe-roberta runs/recipe-albert runs/recipe-spanbert runs/recipe-electra
