#!/usr/bin/env bash
# Fine-tunes several pretrained models with the same settings and seeds on built-in tasks and
# prints test metrics side by side (mean ± sd over seeds); every run is appended to OUT as JSON.
#   TASKS="sentiment wic" SEEDS="1 2 3" OUT=runs/compare.jsonl bash scripts/finetune-compare.sh NAME=MODEL_DIR NAME=MODEL_DIR …
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
TASKS=${TASKS:-"sentiment wic paraphrase"}
SEEDS=${SEEDS:-"1 2 3"}
OUT=${OUT:-runs/finetune-compare.jsonl}
declare -A SETTINGS=(
  [sentiment]="--set epochs=6"
  [hedge]="--set epochs=3"
  [wic]="--set epochs=3 --set max_train_examples=4000"
  [paraphrase]="--set epochs=2 --set max_train_examples=4000"
  [wordnet-choice]="--set epochs=3 --set max_train_examples=2000"
)
[ $# -ge 1 ] || { echo "usage: $0 NAME=MODEL_DIR [NAME=MODEL_DIR …]" >&2; exit 1; }
[ -n "${APPEND:-}" ] || : > "$OUT"
for task in $TASKS; do
  for seed in $SEEDS; do
    for spec in "$@"; do
      name=${spec%%=*} src=${spec#*=}
      dir=runs/ft-$task-$name-$seed
      $PRETRAIN finetune --task "$task" --model "$src" --out "$dir" ${SETTINGS[$task]:-} --set lr=3e-4 --set seed="$seed" >/dev/null
      echo "{\"task\": \"$task\", \"model\": \"$name\", \"seed\": $seed, \"eval\": $($PRETRAIN eval --task "$task" --model "$dir/model" --json)}" | tee -a "$OUT"
    done
  done
done
python3 - "$OUT" "$@" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
names = [spec.split("=", 1)[0] for spec in sys.argv[2:]]
print("| task | metric | " + " | ".join(names) + " | seeds |\n|---|---|" + "---|" * len(names) + "---|")
for task in dict.fromkeys(r["task"] for r in rows):
    metric = next(iter(next(r for r in rows if r["task"] == task)["eval"]["metrics"]))
    cells = []
    for name in names:
        xs = [r["eval"]["metrics"][metric] for r in rows if r["task"] == task and r["model"] == name]
        cells.append(f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else (f"{xs[0]:.3f}" if xs else "–"))
    n = sum(1 for r in rows if r["task"] == task and r["model"] == names[0])
    print(f"| {task} | {metric} | " + " | ".join(cells) + f" | {n} |")
PY
