#!/usr/bin/env python3
"""The fine-tuning cross-check: the same fine-tuning as `pretrain finetune` in PyTorch + transformers.

Exports a built-in classification task with `pretrain tasks --export TASK`, fine-tunes the same
MiniLM folder with the same hyperparameters as our defaults (AdamW lr 1e-4, weight decay 0.01 on
matrices only, eps 1e-6, 3 epochs, batch 32, max length 128, 10 % linear warm-up then linear decay,
gradient clipping 1.0, dropout 0.1, the best dev epoch kept) and prints test accuracy as JSON.

    python3 scripts/bench/finetune_torch.py --task sentiment [--model data/minilm] [--threads 2]
"""
import argparse, json, os, random, subprocess, tempfile
import torch
import transformers as T

p = argparse.ArgumentParser()
p.add_argument("--task", default="sentiment")
p.add_argument("--model", default="data/minilm")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--lr", type=float, default=1e-4)
p.add_argument("--seed", type=int, default=42)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
random.seed(a.seed)

out = tempfile.mkdtemp()
subprocess.run([".build/release/pretrain", "tasks", "--export", a.task, "--output", out], check=True)
splits = {s: [json.loads(l) for l in open(os.path.join(out, s + ".jsonl"))] for s in ["train", "dev", "test"]}
labels = sorted({e["label"] for e in splits["train"]})
tok = T.AutoTokenizer.from_pretrained(a.model)
model = T.BertForSequenceClassification.from_pretrained(a.model, num_labels=len(labels))

def batches(examples, size, shuffle):
    order = list(range(len(examples)))
    if shuffle:
        random.shuffle(order)
    for i in range(0, len(order), size):
        chunk = [examples[j] for j in order[i:i + size]]
        pairs = [e.get("pair") for e in chunk]
        enc = tok([e["text"] for e in chunk], pairs if any(pairs) else None, truncation=True, max_length=128,
                  padding=True, return_tensors="pt")
        yield enc, torch.tensor([labels.index(e["label"]) for e in chunk])

decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
rest = [p for n, p in model.named_parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=a.lr, eps=1e-6)
steps = (len(splits["train"]) + 31) // 32 * a.epochs
sched = T.get_linear_schedule_with_warmup(opt, int(0.1 * steps), steps)

def accuracy(split):
    model.eval()
    right = 0
    with torch.no_grad():
        for enc, y in batches(splits[split], 64, False):
            right += (model(**enc).logits.argmax(-1) == y).sum().item()
    model.train()
    return right / len(splits[split])

best, best_state = -1, None
for epoch in range(a.epochs):
    model.train()
    for enc, y in batches(splits["train"], 32, True):
        loss = model(**enc, labels=y).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); sched.step(); opt.zero_grad()
    dev = accuracy("dev")
    if dev > best:
        best, best_state = dev, {k: v.clone() for k, v in model.state_dict().items()}
model.load_state_dict(best_state)
print(json.dumps({"task": a.task, "framework": "pytorch", "dev_accuracy": best, "test_accuracy": accuracy("test")}))
