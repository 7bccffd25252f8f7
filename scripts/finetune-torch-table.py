#!/usr/bin/env python3
"""Prints the README's PyTorch cross-check table: runs/finetune-torch-summary.jsonl
(scripts/finetune-torch-report.sh) next to our MiniLM runs in runs/finetune-summary.jsonl
(scripts/finetune-report.sh; the "ours" column stays empty without it)."""
import json, os

torch_rows = [json.loads(l) for l in open("runs/finetune-torch-summary.jsonl")]
ours = {}
if os.path.exists("runs/finetune-summary.jsonl"):
    rows = [json.loads(l) for l in open("runs/finetune-summary.jsonl")]
    models = [r["model"] for r in rows if "finetune_seconds" in r]
    for r, model in zip([r for r in rows if "metrics" in r], models):
        if model == "data/minilm":
            ours[r["task"]] = r["metrics"]
shown = {"accuracy": "accuracy", "token_accuracy": "token accuracy", "exact_match": "EM", "f1": "F1"}
main = {"accuracy": ["accuracy"], "token_accuracy": ["token_accuracy"], "exact_match": ["exact_match", "f1"]}
print("| task | metric | ours | PyTorch | difference (PyTorch − ours) |")
print("|---|---|---|---|---|")
for r in torch_rows:
    m = r["metrics"]
    keys = next(v for k, v in main.items() if k in m)
    for k in keys:
        scale = 100 if m[k] <= 1 else 1  # points
        o = ours.get(r["task"], {}).get(k)
        fmt = "%.3f" if m[k] <= 1 else "%.1f"
        print(f"| {r['task']} | {shown[k]} | {fmt % o if o is not None else '–'} | {fmt % m[k]} | "
              f"{('%+.1f points' % (scale * (m[k] - o))).replace('-', '−') if o is not None else '–'} |")
