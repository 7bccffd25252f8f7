#!/usr/bin/env bash
# Does pretraining help? Fine-tunes the main job's model (runs/main/model, from scripts/main-job.sh)
# and a randomly initialised copy of it (same architecture and tokenizer) with the same settings
# and seeds on built-in tasks, and prints test metrics side by side (mean ± sd over seeds).
#   TASKS="sentiment wic" SEEDS="1 2 3" bash scripts/pretraining-helps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
TASKS=${TASKS:-"sentiment wic paraphrase hedge wordnet-choice"}
SEEDS=${SEEDS:-"1 2 3"}
declare -A SETTINGS=(
  [sentiment]="--set epochs=6"
  [hedge]="--set epochs=3"
  [wic]="--set epochs=3 --set max_train_examples=4000"
  [paraphrase]="--set epochs=2 --set max_train_examples=4000"
  [wordnet-choice]="--set epochs=3 --set max_train_examples=2000"
)
[ -d runs/main/model ] || { echo "runs/main/model is missing: run scripts/main-job.sh (make demo) first" >&2; exit 1; }
if [ ! -d runs/random-main ]; then
  $PRETRAIN init --config runs/main/model --heads mlm --seed 1 --out runs/random-main
  cp runs/main/model/tokenizer.json runs/random-main/
fi
out=runs/pretraining-helps.jsonl
[ -n "${APPEND:-}" ] || : > $out
for task in $TASKS; do
  for seed in $SEEDS; do
    for model in main random; do
      src=runs/main/model; [ $model = random ] && src=runs/random-main
      dir=runs/helps-$task-$model-$seed
      $PRETRAIN finetune --task "$task" --model $src --out $dir ${SETTINGS[$task]} --set lr=3e-4 --set seed=$seed >/dev/null
      echo "{\"task\": \"$task\", \"model\": \"$model\", \"seed\": $seed, \"eval\": $($PRETRAIN eval --task "$task" --model $dir/model --json)}" | tee -a $out
    done
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| task | metric | main-job model | random init | seeds |\n|---|---|---|---|---|")
for task in dict.fromkeys(r["task"] for r in rows):
    metric = next(iter(rows[[r["task"] for r in rows].index(task)]["eval"]["metrics"]))
    cell = {}
    for model in ["main", "random"]:
        xs = [r["eval"]["metrics"][metric] for r in rows if r["task"] == task and r["model"] == model]
        cell[model] = f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else f"{xs[0]:.3f}"
    n = sum(1 for r in rows if r["task"] == task and r["model"] == "main")
    print(f"| {task} | {metric} | {cell['main']} | {cell['random']} | {n} |")
PY
