#!/usr/bin/env python3
"""Prints the README's fine-tuning table from runs/finetune-summary.jsonl (scripts/finetune-report.sh).

The summary alternates a run line ({"task", "model", "variant", "finetune_seconds"}) with the
`pretrain eval --json` line of that run; a null finetune_seconds is a model evaluated as shipped."""
import json

rows = [json.loads(l) for l in open("runs/finetune-summary.jsonl")]
names = {"data/minilm": "all-MiniLM-L6-v2", "runs/main/model": "main-job model", "runs/random-main": "random init, same architecture"}
print("| task | model | test metrics | majority baseline | fine-tuning time |")
print("|---|---|---|---|---|")
run = None
for r in rows:
    if "metrics" not in r:
        run = r
        continue
    if run is None or run["task"] != r["task"]:
        raise SystemExit(f"eval line for {r['task']} without its run line in runs/finetune-summary.jsonl")
    m = r["metrics"]
    shown = ", ".join(f"{k} {m[k]:.3f}" if abs(m[k]) <= 1 else f"{k} {m[k]:.1f}" for k in sorted(m))
    base = r.get("majority_baseline")
    model = names.get(run["model"], run["model"]) + (f" ({run['variant']})" if run.get("variant") else "")
    t = run.get("finetune_seconds")
    print(f"| {r['task']} | {model} | {shown} | {'%.3f' % base if base is not None else '–'} | {'–' if t is None else f'{t // 60}m{t % 60:02d}s'} |")
    run = None
