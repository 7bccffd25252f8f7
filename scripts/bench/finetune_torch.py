#!/usr/bin/env python3
"""The fine-tuning cross-check: the same fine-tuning as `pretrain finetune` in PyTorch + transformers.

Covers every built-in task shape with the model class transformers uses for it:
  sentiment, hedge              BertForSequenceClassification
  wic, paraphrase               BertForSequenceClassification on (text, pair)
  pos                           BertForTokenClassification, label on each word's first piece (others -100)
  wordnet-qa                    BertForQuestionAnswering, question + context windows (only_second, stride)
  wordnet-choice                BertForMultipleChoice, (context, question + " " + option) per option

Data: `pretrain tasks --export TASK` writes the built-in task's splits (the very examples our
fine-tuning sees) and labels. `--max-train-examples N` keeps the first N training examples, as
`--set max_train_examples=N` does.

Hyperparameters are FineTuneSettings' defaults (Sources/FineTuning/FineTuner.swift): AdamW
(betas 0.9/0.999, eps 1e-6; torch's fused kernel, the same update in one pass) lr 1e-4, weight
decay 0.01 on parameters with >= 2 dimensions (matrices and embeddings; biases and LayerNorm
weights none), 3 epochs, batch 32 (examples; a multiple-choice example is 4 rows), max length 128,
QA windows of 192 tokens sharing 64 (doc stride), 10 % linear warm-up (int(total * 0.1) steps)
then linear decay to 0, gradient-norm clipping 1.0, dropout 0.1 from the model config (hidden,
attention, and before the head; none before qa_outputs, as in both implementations). Dev is
evaluated after every epoch and the best epoch by the task's primary metric (accuracy,
token_accuracy, f1 for QA) is kept. QA answers: top-20 starts x top-20 ends per window, in the
context, end >= start, <= 30 tokens, best start+end logit over the windows (our
`QuestionAnswering.bestAnswer`); EM/F1 as the SQuAD script. POS: each word takes its first
piece's prediction, words cut off at max length count as the first tag (as our eval). Test metrics are
printed under the keys `pretrain eval --json` uses:

    python3 scripts/bench/finetune_torch.py --task wic --epochs 2 --max-train-examples 2000 [--threads 2]

prints one JSON line {"task", "split": "test", "framework": "pytorch", "metrics": {...},
"dev_metrics": {...}, "best_epoch", "train_examples", "finetune_seconds", ...}. With --ours-eval the
best model is also saved as a Hugging Face folder and scored by `pretrain eval` (our data loading,
tokenisation, forward pass and metrics on the same weights): "ours_eval_metrics" should equal
"metrics" up to float rounding, which checks the Python data and metrics against ours.
"""
import argparse, bisect, collections, json, math, os, random, string, subprocess, sys, tempfile, time
import numpy as np
import torch
import transformers as T

KIND = {"sentiment": "classification", "hedge": "classification", "wic": "classification", "paraphrase": "classification",
        "pos": "tagging", "wordnet-qa": "qa", "wordnet-choice": "choice"}
# BuiltinTask.all's positiveLabel (binary F1).
POSITIVE = {"sentiment": "positive", "hedge": "uncertain", "wic": "same", "paraphrase": "1"}
PRIMARY = {"classification": "accuracy", "choice": "accuracy", "tagging": "token_accuracy", "qa": "f1"}

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--task", default="sentiment", choices=sorted(KIND))
p.add_argument("--model", default="data/minilm")
p.add_argument("--pretrain", default=".build/release/pretrain")
p.add_argument("--threads", type=int, default=2)
# FineTuneSettings' keys and defaults.
p.add_argument("--lr", type=float, default=1e-4)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--max-length", type=int, default=128)
p.add_argument("--qa-max-length", type=int, default=192)
p.add_argument("--doc-stride", type=int, default=64)
p.add_argument("--warmup-fraction", type=float, default=0.1)
p.add_argument("--weight-decay", type=float, default=0.01)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--max-train-examples", type=int, default=0, help="use the first N training examples (0 = all)")
p.add_argument("--ours-eval", action="store_true", help="also score the best model with `pretrain eval` (see above)")
a = p.parse_args()
T.logging.set_verbosity_error()
T.utils.logging.disable_progress_bar()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
random.seed(a.seed)
kind = KIND[a.task]

# --- data ---------------------------------------------------------------------------------------

out = tempfile.mkdtemp()
subprocess.run([a.pretrain, "tasks", "--export", a.task, "--output", out], check=True, stdout=subprocess.DEVNULL)
splits = {s: [json.loads(l) for l in open(os.path.join(out, s + ".jsonl"), encoding="utf-8")] for s in ["train", "dev", "test"]}
labels = json.load(open(os.path.join(out, "labels.json"))) if kind == "tagging" else sorted({e["label"] for e in splits["train"]}) if kind == "classification" else []
if a.max_train_examples > 0:
    splits["train"] = splits["train"][:a.max_train_examples]

tok = T.AutoTokenizer.from_pretrained(a.model)
model_class = {"classification": T.BertForSequenceClassification, "tagging": T.BertForTokenClassification,
               "qa": T.BertForQuestionAnswering, "choice": T.BertForMultipleChoice}[kind]
extra = {"num_labels": len(labels)} if kind in ("classification", "tagging") else {}
model = model_class.from_pretrained(a.model, **extra)

# --- features: one dict per model row group, as FineTuner.features builds them ------------------

def encode_words(words):
    """TokenClassification.encode: words joined by spaces, each token mapped by its offset to the
    last word starting at or before it (specials: None)."""
    starts, pos = [], 0
    for i, w in enumerate(words):
        if i:
            pos += 1
        starts.append(pos)
        pos += len(w)
    enc = tok(" ".join(words), truncation=True, max_length=a.max_length, return_offsets_mapping=True,
              return_special_tokens_mask=True)
    seq = enc.sequence_ids()
    index = [None if seq[t] is None or enc["special_tokens_mask"][t] else bisect.bisect_right(starts, enc["offset_mapping"][t][0]) - 1
             for t in range(len(enc["input_ids"]))]
    return enc, [i if i is not None and i >= 0 else None for i in index]


def qa_windows(examples):
    """QuestionAnswering.windows: question (leading spaces stripped) + context, only_second
    truncation, overflowing windows sharing doc_stride tokens, labelled with the first answer's
    first/last token or CLS when not wholly inside."""
    feats = []
    for i, e in enumerate(examples):
        enc = tok(e["question"].lstrip(), e["context"], truncation="only_second", max_length=a.qa_max_length, stride=a.doc_stride,
                  return_overflowing_tokens=True, return_offsets_mapping=True, return_special_tokens_mask=True)
        for w in range(len(enc["input_ids"])):
            seq = enc.sequence_ids(w)
            offsets = [tuple(o) if seq[t] == 1 else None for t, o in enumerate(enc["offset_mapping"][w])]
            cls = enc["special_tokens_mask"][w].index(1) if 1 in enc["special_tokens_mask"][w] else 0
            start = end = cls
            context = [t for t, o in enumerate(offsets) if o is not None]
            if e["answers"] and not e.get("is_impossible") and context:
                ans = e["answers"][0]
                s0, s1 = ans["answer_start"], ans["answer_start"] + len(ans["text"])
                lo, hi = context[0], context[-1]
                if offsets[lo][0] <= s0 and offsets[hi][1] >= s1:
                    s = lo
                    while s + 1 <= hi and offsets[s + 1] is not None and offsets[s + 1][0] <= s0:
                        s += 1
                    t = hi
                    while t - 1 >= lo and offsets[t - 1] is not None and offsets[t - 1][1] >= s1:
                        t -= 1
                    start, end = s, max(s, t)
            feats.append({"ids": [enc["input_ids"][w]], "types": [enc["token_type_ids"][w]], "target": (start, end),
                          "example": i, "offsets": offsets})
    return feats


def features(split):
    examples = splits[split]
    if kind == "classification":
        out = []
        for i, e in enumerate(examples):
            enc = tok(e["text"], e.get("pair"), truncation=True, max_length=a.max_length)
            out.append({"ids": [enc["input_ids"]], "types": [enc["token_type_ids"]], "target": labels.index(e["label"]), "example": i})
        return out
    if kind == "tagging":
        out = []
        for i, e in enumerate(examples):
            enc, words = encode_words(e["words"])
            tags = [labels.index(t) for t in e["tags"]]
            aligned, previous = [], None
            for w in words:  # TokenClassification.alignLabels
                aligned.append(tags[w] if w is not None and w < len(tags) and w != previous else -100)
                previous = w
            out.append({"ids": [enc["input_ids"]], "types": [enc["token_type_ids"]], "target": aligned, "example": i, "words": words})
        return out
    if kind == "choice":
        out = []
        for i, e in enumerate(examples):
            f = {"ids": [], "types": [], "target": e["label"], "example": i}
            for option in e["options"]:
                second = option if not e["question"] else e["question"] + " " + option
                enc = tok(e["context"], second, truncation=True, max_length=a.max_length)
                f["ids"].append(enc["input_ids"])
                f["types"].append(enc["token_type_ids"])
            out.append(f)
        return out
    return qa_windows(examples)


def tensors(batch):
    """Pads a batch to its longest row; returns model inputs and targets."""
    rows = [(ids, types) for f in batch for ids, types in zip(f["ids"], f["types"])]
    length = max(len(r[0]) for r in rows)
    ids = torch.full((len(rows), length), tok.pad_token_id, dtype=torch.long)
    types = torch.zeros((len(rows), length), dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for r, (i, t) in enumerate(rows):
        ids[r, :len(i)] = torch.tensor(i)
        types[r, :len(t)] = torch.tensor(t)
        mask[r, :len(i)] = 1
    inputs = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
    if kind == "choice":
        c = len(batch[0]["ids"])
        inputs = {k: v.view(len(batch), c, length) for k, v in inputs.items()}
    if kind in ("classification", "choice"):
        inputs["labels"] = torch.tensor([f["target"] for f in batch])
    elif kind == "tagging":
        y = torch.full((len(rows), length), -100, dtype=torch.long)
        for r, f in enumerate(batch):
            y[r, :len(f["target"])] = torch.tensor(f["target"])
        inputs["labels"] = y
    else:
        inputs["start_positions"] = torch.tensor([f["target"][0] for f in batch])
        inputs["end_positions"] = torch.tensor([f["target"][1] for f in batch])
    return inputs

# --- metrics (Sources/Tasks/Metrics.swift) ------------------------------------------------------

def binary_f1(pred, gold, positive):
    tp = sum(p == positive and g == positive for p, g in zip(pred, gold))
    fp = sum(p == positive and g != positive for p, g in zip(pred, gold))
    fn = sum(p != positive and g == positive for p, g in zip(pred, gold))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def mcc(pred, gold):
    n = len(gold)
    pc, gc = collections.Counter(pred), collections.Counter(gold)
    correct = sum(p == g for p, g in zip(pred, gold))
    pk, tk = sum(v * v for v in pc.values()), sum(v * v for v in gc.values())
    pt = sum(v * pc.get(k, 0) for k, v in gc.items())
    d = math.sqrt((n * n - pk) * (n * n - tk))
    return 0.0 if d == 0 else (correct * n - pt) / d


def normalize_answer(s):
    s = "".join(c for c in s.lower() if c not in set(string.punctuation))
    return " ".join(w for w in s.split() if w not in ("a", "an", "the"))


def squad_f1(pred, gold):
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(not p and not g)
    common = sum((collections.Counter(p) & collections.Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def best_answer(context, wins, n_best=20, max_answer_length=30):
    """QuestionAnswering.bestAnswer without null answers."""
    found = []
    for w, (start, end, offsets) in enumerate(wins):
        top = lambda v: sorted(range(len(v)), key=lambda i: (-v[i], i))[:n_best]
        for s in top(start):
            for e in top(end):
                if e < s or e - s + 1 > max_answer_length or offsets[s] is None or offsets[e] is None:
                    continue
                lo = max(0, min(offsets[s][0], len(context)))
                hi = max(lo, min(offsets[e][1], len(context)))
                found.append((float(np.float32(start[s]) + np.float32(end[e])), -lo, -hi, context[lo:hi]))
    return max(found)[3] if found else ""


def evaluate(feats, split):
    model.eval()
    preds, tag_preds, wins = [], [], collections.defaultdict(list)
    with torch.no_grad():
        for i in range(0, len(feats), 64):
            batch = feats[i:i + 64]
            inputs = {k: v for k, v in tensors(batch).items() if k not in ("labels", "start_positions", "end_positions")}
            out = model(**inputs)
            if kind in ("classification", "choice"):
                preds += out.logits.argmax(-1).tolist()
            elif kind == "tagging":
                arg = out.logits.argmax(-1)
                for b, f in enumerate(batch):
                    tag_preds.append(arg[b, :len(f["ids"][0])].tolist())
            else:
                for b, f in enumerate(batch):
                    n = len(f["ids"][0])
                    wins[f["example"]].append((out.start_logits[b, :n].tolist(), out.end_logits[b, :n].tolist(), f["offsets"]))
    model.train()
    examples = splits[split]
    if kind == "classification":
        pred, gold = [labels[i] for i in preds], [e["label"] for e in examples]
        classes = set(pred) | set(gold)
        m = {"accuracy": sum(x == y for x, y in zip(pred, gold)) / len(gold),
             "macro_f1": sum(binary_f1(pred, gold, c) for c in classes) / len(classes), "mcc": mcc(pred, gold)}
        if a.task in POSITIVE:
            m["f1"] = binary_f1(pred, gold, POSITIVE[a.task])
        return m
    if kind == "choice":
        return {"accuracy": sum(x == e["label"] for x, e in zip(preds, examples)) / len(examples)}
    if kind == "tagging":
        right = total = 0
        for f, tp, e in zip(feats, tag_preds, examples):  # TokenClassification.wordPredictions, fallback 0
            words = [0] * len(e["words"])
            seen = set()
            for t, w in enumerate(f["words"]):
                if w is None or w >= len(words) or w in seen:
                    continue
                seen.add(w)
                words[w] = tp[t]
            right += sum(labels[w] == g for w, g in zip(words, e["tags"]))
            total += len(e["tags"])
        if any(l.startswith("B-") for l in labels):
            raise SystemExit("entity_f1 (BIO tags) is not implemented here; the built-in tasks have none")
        return {"token_accuracy": right / total}
    em = f1 = 0.0
    for i, e in enumerate(examples):
        answer = best_answer(e["context"], wins[i])
        golds = [x["text"] for x in e["answers"]] or [""]
        em += max(float(normalize_answer(answer) == normalize_answer(g)) for g in golds)
        f1 += max(squad_f1(answer, g) for g in golds)
    return {"exact_match": 100 * em / len(examples), "f1": 100 * f1 / len(examples)}

# --- training (FineTuner.train) -----------------------------------------------------------------

train, dev = features("train"), features("dev")
decay = [q for q in model.parameters() if q.dim() >= 2]
rest = [q for q in model.parameters() if q.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                        lr=a.lr, betas=(0.9, 0.999), eps=1e-6, fused=True)
steps_per_epoch = (len(train) + a.batch_size - 1) // a.batch_size
total = steps_per_epoch * a.epochs
warmup = int(np.float32(total) * np.float32(a.warmup_fraction))
sched = T.get_linear_schedule_with_warmup(opt, warmup, total)

start = time.time()
best, best_state, best_epoch, best_metrics = -math.inf, None, 0, {}
for epoch in range(1, a.epochs + 1):
    model.train()
    order = list(range(len(train)))
    random.shuffle(order)
    for b in range(steps_per_epoch):
        batch = [train[j] for j in order[b * a.batch_size:(b + 1) * a.batch_size]]
        loss = model(**tensors(batch)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); sched.step(); opt.zero_grad()
    metrics = evaluate(dev, "dev")
    print(f"epoch {epoch}: " + "  ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items())), file=sys.stderr)
    if metrics[PRIMARY[kind]] > best:
        best, best_epoch, best_metrics = metrics[PRIMARY[kind]], epoch, metrics
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
finetune_seconds = time.time() - start
model.load_state_dict(best_state)
test = evaluate(features("test"), "test")
result = {"task": a.task, "split": "test", "framework": "pytorch", "metrics": test, "dev_metrics": best_metrics,
          "best_epoch": best_epoch, "train_examples": len(splits["train"]), "epochs": a.epochs,
          "finetune_seconds": round(finetune_seconds, 1), "total_seconds": round(time.time() - start, 1)}
if a.ours_eval:
    folder = tempfile.mkdtemp()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    ours = subprocess.run([a.pretrain, "eval", "--task", a.task, "--model", folder, "--threads", str(a.threads), "--json"],
                          check=True, capture_output=True, text=True)
    result["ours_eval_metrics"] = json.loads(ours.stdout.strip().splitlines()[-1])["metrics"]
print(json.dumps(result))
