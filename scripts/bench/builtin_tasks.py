#!/usr/bin/env python3
"""The built-in tasks that `pretrain tasks --export` cannot write (tagging, QA, multiple choice),
rebuilt in Python from the same installed sources, byte for byte as Sources/Tasks/BuiltinTasks.swift
and Sources/Tasks/Sources.swift build them: the same WordNet parsing and headword search, the
same FNV-1a-64 split, and the same shuffles (SplitMix64 seed 42 driving Swift's `shuffle(using:)`,
whose `Int.random(in:using:)` is Lemire's multiply-high with rejection).

`wic` is rebuilt too, because `pretrain tasks --export wic` can check it: it exercises the WordNet
parser, the headword search, the split, both shuffles and the balanced caps.

    python3 scripts/bench/builtin_tasks.py --task pos --output DIR   # {train,dev,test}.jsonl + labels.json
    python3 scripts/bench/builtin_tasks.py --check                   # wic here == pretrain tasks --export wic

JSONL fields per shape (the names of docs/TASKS.md's example types):
  tagging          {"words": [...], "tags": [...]}
  QA               {"id", "question", "context", "answers": [{"text", "answer_start"}], "is_impossible"}
  multiple choice  {"id", "context", "question", "options": [...], "label": index}
  classification   {"text", "pair", "label"} (as `pretrain tasks --export` writes it)
Character offsets are Unicode scalars (Python `str` indices), as in the Swift types.
"""
import argparse, json, os, subprocess, sys, tempfile, unicodedata

MASK = (1 << 64) - 1
SEED = 42
CAPS = (8000, 1000, 1000)
WORDNET = "/usr/share/wordnet"


def data_dir():
    return os.environ.get("PRETRAIN_DATA_DIR", "data")


def pattern_corpus(name):
    return os.path.join(data_dir(), "pattern/usr/share/doc/python3-pattern/test/corpora", name)


# --- Seeded randomness, as Swift's standard library consumes a SeededGenerator ------------------

class SeededGenerator:
    """SplitMix64 (Sources/Tasks/Sources.swift)."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        """`Int.random(in: 0..<n, using:)`: RandomNumberGenerator.next(upperBound:), Lemire's method."""
        m = self.next() * n
        if (m & MASK) < n:
            t = ((1 << 64) - n) % n
            while (m & MASK) < t:
                m = self.next() * n
        return m >> 64

    def shuffle(self, items):
        """`MutableCollection.shuffle(using:)` in place."""
        amount, current = len(items), 0
        while amount > 1:
            r = self.below(amount)
            amount -= 1
            items[current], items[current + r] = items[current + r], items[current]
            current += 1


def stable_hash(s):
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def split_of(key):
    return {8: "dev", 9: "test"}.get(stable_hash(key) % 10, "train")


def split(items, caps=CAPS):
    """BuiltinTask.split: group by key hash, then one generator shuffles train, dev, test and caps them."""
    parts = {"train": [], "dev": [], "test": []}
    for key, item in items:
        parts[split_of(key)].append(item)
    rng = SeededGenerator(SEED)
    out = {}
    for name, cap in zip(["train", "dev", "test"], caps):
        v = parts[name]
        rng.shuffle(v)
        out[name] = v[:cap]
    return out


def balanced_split(items, label, caps=CAPS):
    """BuiltinTask.balancedSplit: each label capped at cap / labels, then a seed-43 shuffle."""
    labels = sorted({label(item) for _, item in items})
    out = {"train": [], "dev": [], "test": []}
    for l in labels:
        s = split([(k, i) for k, i in items if label(i) == l], tuple(c // len(labels) for c in caps))
        for name in out:
            out[name] += s[name]
    rng = SeededGenerator(SEED + 1)
    for name in ["train", "dev", "test"]:
        rng.shuffle(out[name])
    return out


# --- WordNet ------------------------------------------------------------------------------------

def parse_synset(line):
    bar = line.find(" | ")
    head, gloss = (line[:bar], line[bar + 3:]) if bar >= 0 else (line, "")
    f = [x for x in head.split(" ") if x]
    offset, lex, count = int(f[0]), int(f[1]), int(f[3], 16)
    words = []
    for i in range(count):
        w = f[4 + 2 * i]
        if w.endswith(")") and "(" in w:
            w = w[:w.rindex("(")]
        words.append(w.replace("_", " "))
    examples, definition = [], gloss
    q = gloss.find('"')
    if q >= 0:
        definition = gloss[:q]
        rest = gloss[q + 1:]
        while True:
            close = rest.find('"')
            if close < 0:
                break
            ex = rest[:close].strip(" \t")
            if ex:
                examples.append(ex)
            rest = rest[close + 1:]
            open_ = rest.find('"')
            if open_ < 0:
                break
            rest = rest[open_ + 1:]
    definition = definition.strip(" \t")
    while definition.endswith((";", ":", ",")):
        definition = definition[:-1].strip(" \t")
    kind = f[2]
    return {"id": ("a" if kind == "s" else kind) + str(offset), "type": kind, "words": words,
            "definition": definition, "examples": examples}


def synsets(directory=WORDNET):
    out = []
    for pos in ["noun", "verb", "adj", "adv"]:
        with open(os.path.join(directory, "data." + pos), encoding="utf-8", newline="") as fh:
            for line in fh.read().split("\n"):
                line = line[:-1] if line.endswith("\r") else line
                if line.startswith("  ") or not line:
                    continue
                out.append(parse_synset(line))
    return out


def inflections(lemma):
    def forms(w):
        f = [w, w + "s", w + "es", w + "ed", w + "d", w + "ing"]
        if w.endswith("e"):
            f.append(w[:-1] + "ing")
        if w.endswith("y"):
            f += [w[:-1] + "ies", w[:-1] + "ied"]
        if w and w[-1] in "bdgklmnprt":
            f += [w + w[-1] + "ed", w + w[-1] + "ing"]
        return f
    parts = [p for p in lemma.split(" ") if p]
    if not parts:
        return []
    out = []
    if len(parts) > 1:
        out += [" ".join([f] + parts[1:]) for f in forms(parts[0])]
    out += [" ".join(parts[:-1] + [f]) for f in forms(parts[-1])]
    seen, unique = set(), []
    for o in out:
        if o not in seen:
            seen.add(o)
            unique.append(o)
    return sorted(unique, key=len, reverse=True)


def _lower(s):
    # Swift's per-scalar lowercase mapping, kept only when it is one scalar (lengths stay equal).
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in s)


def _is_word(c):
    return c.isalpha() or unicodedata.numeric(c, None) is not None


def find(lemma, sentence):
    """WordNet.find: the earliest whole-word, case-insensitive match of the lemma or an inflection."""
    text = _lower(sentence)
    best = None
    for form in inflections(lemma):
        f = _lower(form)
        if not f or len(f) > len(text):
            continue
        i = text.find(f)
        while i >= 0:
            j = i + len(f)
            if (i == 0 or not _is_word(text[i - 1])) and (j == len(text) or not _is_word(text[j])):
                if best is None or i < best[0]:
                    best = (i, j)
                break
            i = text.find(f, i + 1)
    return best


def wordnet_qa(ss):
    items = []
    for s in ss:
        if not s["definition"]:
            continue
        for k, example in enumerate(s["examples"]):
            span = next((sp for sp in (find(w, example) for w in s["words"]) if sp), None)
            if span is None:
                continue
            items.append((s["id"], {"id": f"{s['id']}-{k}", "question": s["definition"], "context": example,
                                    "answers": [{"text": example[span[0]:span[1]], "answer_start": span[0]}],
                                    "is_impossible": False}))
    return split(items), [], len(items)


def _pos(s):
    return "a" if s["type"] == "s" else s["type"]


def wordnet_choice(ss):
    index = {}
    for i, s in enumerate(ss):
        for w in s["words"]:
            index.setdefault(f"{w.lower()}|{_pos(s)}", []).append(i)
    rng = SeededGenerator(SEED)
    items = []
    for i, s in enumerate(ss):
        if not s["examples"]:
            continue
        chosen = None
        for w in s["words"]:
            others = [j for j in index.get(f"{w.lower()}|{_pos(s)}", [])
                      if j != i and ss[j]["definition"] != s["definition"] and ss[j]["definition"]]
            if len({ss[j]["definition"] for j in others}) >= 3:
                chosen = (w, others)
                break
        if chosen is None:
            continue
        word, others = chosen
        for k, example in enumerate(s["examples"]):
            distractors = []
            shuffled = list(others)
            rng.shuffle(shuffled)
            for j in shuffled:
                if ss[j]["definition"] in distractors:
                    continue
                distractors.append(ss[j]["definition"])
                if len(distractors) == 3:
                    break
            options = distractors + [s["definition"]]
            rng.shuffle(options)
            items.append((s["id"], {"id": f"{s['id']}-{k}", "context": example, "question": word, "options": options,
                                    "label": options.index(s["definition"])}))
    return split(items), [], len(items)


def word_in_context(ss):
    uses, order = {}, []
    for i, s in enumerate(ss):
        for w in s["words"]:
            for e in s["examples"]:
                if find(w, e) is None:
                    continue
                key = f"{w.lower()}|{_pos(s)}"
                if key not in uses:
                    order.append(key)
                    uses[key] = []
                uses[key].append((i, e))
    positives, negatives = [], []
    for key in order:
        lst = uses[key]
        if len(lst) < 2:
            continue
        word = [p for p in key.split("|") if p][0]
        for a in range(len(lst)):
            for b in range(a + 1, len(lst)):
                if lst[a][1] == lst[b][1]:
                    continue
                same = lst[a][0] == lst[b][0]
                ex = {"text": f"{word}: {lst[a][1]}", "pair": lst[b][1], "label": "same" if same else "different"}
                (positives if same else negatives).append((word, ex))
    return balanced_split(positives + negatives, lambda e: e["label"]), ["different", "same"], len(positives) + len(negatives)


# --- Part of speech -----------------------------------------------------------------------------

def part_of_speech(path=None):
    path = path or pattern_corpus("tagged-en-oanc.txt")
    with open(path, encoding="utf-8", newline="") as fh:
        text = fh.read()
    if text.startswith("\ufeff"):
        text = text[1:]
    sentences = []
    for line in text.split("\n"):
        line = line[:-1] if line.endswith("\r") else line
        tokens = [t for t in line.split(" ") if t]
        if not tokens:
            continue
        words, tags = [], []
        for t in tokens:
            slash = t.rfind("/")
            if slash <= 0 or slash == len(t) - 1:
                raise ValueError(f"{path}: token {t!r} is not word/TAG")
            words.append(t[:slash])
            tags.append(t[slash + 1:])
        sentences.append({"words": words, "tags": tags})
    labels = sorted({t for s in sentences for t in s["tags"]})
    return split([(" ".join(s["words"]), s) for s in sentences]), labels, len(sentences)


BUILDERS = {"pos": lambda: part_of_speech(), "wordnet-qa": lambda: wordnet_qa(synsets()),
            "wordnet-choice": lambda: wordnet_choice(synsets()), "wic": lambda: word_in_context(synsets())}


def build(task):
    """{"train", "dev", "test"} example lists and the task's labels (tags; [] for QA and choice)."""
    splits, labels, _ = BUILDERS[task]()
    return splits, labels


def write(task, output):
    splits, labels = build(task)
    os.makedirs(output, exist_ok=True)
    for name, examples in splits.items():
        with open(os.path.join(output, name + ".jsonl"), "w", encoding="utf-8") as fh:
            for e in examples:
                fh.write(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n")
    with open(os.path.join(output, "labels.json"), "w") as fh:
        json.dump(labels, fh)
    return {k: len(v) for k, v in splits.items()}


def check(pretrain=".build/release/pretrain"):
    """Compares the Python wic with `pretrain tasks --export wic`, example by example."""
    out = tempfile.mkdtemp()
    subprocess.run([pretrain, "tasks", "--export", "wic", "--output", out], check=True, stdout=subprocess.DEVNULL)
    mine, _ = build("wic")
    ok = True
    for name in ["train", "dev", "test"]:
        theirs = [json.loads(l) for l in open(os.path.join(out, name + ".jsonl"), encoding="utf-8")]
        same = sum(a == b for a, b in zip(mine[name], theirs))
        print(f"wic {name}: {same}/{len(theirs)} examples identical (python {len(mine[name])})")
        ok &= same == len(theirs) == len(mine[name])
    return ok


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=sorted(BUILDERS))
    p.add_argument("--output")
    p.add_argument("--check", action="store_true", help="compare wic with pretrain tasks --export wic")
    p.add_argument("--stats", action="store_true", help="print the builder's example count before the split")
    a = p.parse_args()
    if a.check:
        sys.exit(0 if check() else 1)
    if a.stats:
        splits, labels, n = BUILDERS[a.task]()
        print(json.dumps({"task": a.task, "examples": n, "labels": len(labels), **{k: len(v) for k, v in splits.items()}}))
    else:
        print(json.dumps({"task": a.task, "output": a.output, **write(a.task, a.output)}))
