#!/usr/bin/env python3
"""Prints the README's fine-tuning table from runs/finetune-summary.jsonl (scripts/finetune-report.sh)."""
import json, subprocess

rows = [json.loads(l) for l in open("runs/finetune-summary.jsonl")]
seconds = {(r["task"], r["model"]): r["finetune_seconds"] for r in rows if "finetune_seconds" in r}
results = [r for r in rows if "metrics" in r]
main = {"accuracy": "accuracy", "token_accuracy": "token accuracy", "exact_match": "EM", "f1": "F1"}
print("| task | model | test metrics | majority baseline | fine-tuning time |")
print("|---|---|---|---|---|")
models = [r["model"] for r in rows if "finetune_seconds" in r]
names = {"data/minilm": "all-MiniLM-L6-v2", "runs/main/model": "main-job model", "runs/random-main": "random init, same architecture"}
for r, model in zip(results, models):
    m = r["metrics"]
    shown = ", ".join(f"{k} {m[k]:.3f}" if m[k] <= 1 else f"{k} {m[k]:.1f}" for k in sorted(m))
    base = r.get("majority_baseline")
    t = seconds.get((r["task"], model))
    print(f"| {r['task']} | {names.get(model, model)} | {shown} | {'%.3f' % base if base is not None else '–'} | {t // 60}m{t % 60:02d}s |")
