#!/usr/bin/env bash
# Task-specific distillation (DistilBERT, Sanh et al. 2019 §4.2) on built-in tasks. The teacher is
# all-MiniLM-L6-v2 (data/minilm, 6 layers) fine-tuned on the task; the student is MiniLM's layers
# 0, 2, 4 (`pretrain distill-init`: a 3-layer DistilBERT, no token types), fine-tuned on the task
# without a teacher and with it (`--set teacher=…`: (1 − α)·task + α·τ²·KL on the task logits,
# α 0.5, τ 2), SEEDS seeds each, the same settings for all. Then the README table: test metric
# mean ± sd, the student's score as a percentage of the teacher's, parameters, and no-grad
# inference speed (`pretrain bench infer`, 2 threads, batch 32 × 128) of student vs teacher.
#   TASKS="wic hedge pos wordnet-qa" SEEDS="1 2 3" bash scripts/distill-tasks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
TASKS=${TASKS:-"wic hedge pos wordnet-qa"}
SEEDS=${SEEDS:-"1 2 3"}
OUT=${OUT:-runs/distill-tasks.jsonl}
D=runs/distill
source scripts/finetune-settings.sh
[ -d data/minilm ] || { echo "data/minilm is missing: run scripts/setup.sh" >&2; exit 1; }
mkdir -p $D
[ -d $D/student-init ] || $PRETRAIN distill-init --teacher data/minilm --layers 0,2,4 --out $D/student-init
[ -n "${APPEND:-}" ] || : > "$OUT"
record() {  # task role seed run_dir seconds
  echo "{\"task\": \"$1\", \"role\": \"$2\", \"seed\": $3, \"seconds\": $5, \"eval\": $($PRETRAIN eval --task "$1" --model "$4/model" --json)}" | tee -a "$OUT"
}
for task in $TASKS; do
  start=$SECONDS
  $PRETRAIN finetune --task "$task" --model data/minilm --out $D/teacher-$task ${SETTINGS[$task]:-} --set seed=1 >/dev/null
  record "$task" teacher 1 $D/teacher-$task $((SECONDS - start))
  for seed in $SEEDS; do
    start=$SECONDS
    $PRETRAIN finetune --task "$task" --model $D/student-init --out $D/student-$task-$seed ${SETTINGS[$task]:-} --set seed="$seed" >/dev/null
    record "$task" student "$seed" $D/student-$task-$seed $((SECONDS - start))
    start=$SECONDS
    $PRETRAIN finetune --task "$task" --model $D/student-init --out $D/distilled-$task-$seed ${SETTINGS[$task]:-} --set seed="$seed" \
      --set teacher=$D/teacher-$task/model >/dev/null
    record "$task" distilled "$seed" $D/distilled-$task-$seed $((SECONDS - start))
  done
done
params() { $PRETRAIN params --config "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['backbone'])"; }
speed() { $PRETRAIN bench infer --config "$1" --threads 2 --steps 10 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['tokens_per_s'])"; }
# Alternate the two speed runs three times; the median of each.
teacher_speeds=() student_speeds=()
for _ in 1 2 3; do teacher_speeds+=("$(speed data/minilm)"); student_speeds+=("$(speed $D/student-init)"); done
python3 - "$OUT" "$(params data/minilm)" "$(params $D/student-init)" "${teacher_speeds[*]}" "${student_speeds[*]}" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
teacher_params, student_params = int(sys.argv[2]), int(sys.argv[3])
ts, ss = statistics.median(map(float, sys.argv[4].split())), statistics.median(map(float, sys.argv[5].split()))
print("| task | metric | teacher (MiniLM, 6 layers) | student, no teacher | student, distilled | distilled / teacher | seeds |")
print("|---|---|---|---|---|---|---|")
def cell(xs): return f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else f"{xs[0]:.3f}"
for task in dict.fromkeys(r["task"] for r in rows):
    metric = next(iter(next(r for r in rows if r["task"] == task)["eval"]["metrics"]))
    get = lambda role: [r["eval"]["metrics"][metric] for r in rows if r["task"] == task and r["role"] == role]
    t, s, d = get("teacher"), get("student"), get("distilled")
    print(f"| {task} | {metric} | {cell(t)} | {cell(s)} | {cell(d)} | {100 * statistics.mean(d) / statistics.mean(t):.1f} % | {len(d)} |")
print(f"\nparameters: teacher {teacher_params:,}, student {student_params:,} ({100 * (1 - student_params / teacher_params):.0f} % fewer); "
      f"inference (bench infer, 2 threads, 32×128): teacher {ts:,.0f} tok/s, student {ss:,.0f} tok/s ({100 * (ss / ts - 1):.0f} % faster)")
PY
