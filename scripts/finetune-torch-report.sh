#!/usr/bin/env bash
# The PyTorch cross-check of scripts/finetune-report.sh: fine-tunes the same MiniLM folder on each
# built-in task with scripts/bench/finetune_torch.py (transformers + torch.optim.AdamW, our
# default hyperparameters) under the same per-task caps, which are read from finetune-report.sh's
# SETTINGS so the two cannot drift apart. One task at a time on THREADS threads (default 2).
# Appends one JSON line per task to runs/finetune-torch-summary.jsonl (APPEND=1 keeps earlier
# lines), then prints the README's cross-check table against runs/finetune-summary.jsonl (our
# runs, from finetune-report.sh) with scripts/finetune-torch-table.py.
# OURS_EVAL=1 also scores each PyTorch model with `pretrain eval` (checks the Python data and metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${TASKS:-"sentiment hedge wic paraphrase wordnet-choice wordnet-qa pos"}
THREADS=${THREADS:-2}
eval "$(sed -n '/^declare -A SETTINGS=(/,/^)/p' scripts/finetune-report.sh)"
summary=runs/finetune-torch-summary.jsonl
mkdir -p runs
[ -n "${APPEND:-}" ] || : > $summary
for task in $TASKS; do
  # "--set epochs=2 --set max_train_examples=2000" → "--epochs 2 --max-train-examples 2000"
  args=()
  for kv in ${SETTINGS[$task]//--set/}; do args+=("--${kv%%=*}" "${kv#*=}"); done
  args=("${args[@]//_/-}")
  echo "$task: python3 scripts/bench/finetune_torch.py --task $task ${args[*]} --threads $THREADS" >&2
  python3 scripts/bench/finetune_torch.py --task "$task" "${args[@]}" --threads "$THREADS" ${OURS_EVAL:+--ours-eval} | tee -a $summary
done
python3 scripts/finetune-torch-table.py
