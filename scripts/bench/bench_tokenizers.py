"""Side-by-side tokenizer benchmark: this package's `pretrain bench tokenizers` vs Hugging Face `tokenizers`.

Run by hand from the repository root (same file, same machine):

    scripts/bench/make_corpus.sh /tmp/tok-bench/corpus.txt          # ~58 MB of real text from OS packages
    swift build -c release --product pretrain
    python3 scripts/bench/bench_tokenizers.py --corpus /tmp/tok-bench/corpus.txt

Encoding: the first --encode-mb MB of the corpus, line by line, with the three fixture tokenizers
(MiniLM WordPiece, byte-level BPE, Unigram), single-threaded (`encode` in a loop) and batched
(`encode_batch` / `encodeBatch`, all cores). Training: WordPiece and BPE, vocab 30k, min frequency 2,
on the whole corpus. Prints a Markdown table with ratios (ours / Hugging Face; >1 = we are faster).
"""
import argparse, json, os, subprocess, time

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "TokenizersTests", "Fixtures")
NAMES = ("minilm", "bpe", "unigram")


def hf_bench(corpus, encode_mb, train_vocab):
    lines = open(corpus, encoding="utf-8").read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    sample, size = [], 0
    for l in lines:
        if size >= encode_mb * 1e6:
            break
        sample.append(l)
        size += len(l.encode("utf-8")) + 1
    res = {"sample_bytes": size, "sample_lines": len(sample)}
    for name in NAMES:
        tok = Tokenizer.from_file(os.path.join(FIX, name + "_tokenizer.json"))
        tok.no_padding(); tok.no_truncation()
        tok.encode_batch(sample[:2000])
        t = time.perf_counter()
        n = 0
        for l in sample:
            n += len(tok.encode(l).ids)
        single = time.perf_counter() - t
        t = time.perf_counter()
        nb = 0
        for i in range(0, len(sample), 10000):
            nb += sum(len(e.ids) for e in tok.encode_batch(sample[i:i + 10000]))
        batch = time.perf_counter() - t
        res[name] = {"tokens": n, "single_mb_s": size / 1e6 / single, "single_tok_s": n / single,
                     "batch_mb_s": size / 1e6 / batch, "batch_tok_s": nb / batch}
        print(name, res[name], flush=True)
    if train_vocab:
        for kind in ("wordpiece", "bpe"):
            if kind == "wordpiece":
                tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
                tok.normalizer = normalizers.BertNormalizer(lowercase=True)
                tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
                tr = trainers.WordPieceTrainer(vocab_size=train_vocab, min_frequency=2, show_progress=False,
                                               special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
            else:
                tok = Tokenizer(models.BPE())
                tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
                tr = trainers.BpeTrainer(vocab_size=train_vocab, min_frequency=2, show_progress=False,
                                         special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
            t = time.perf_counter()
            tok.train([corpus], tr)
            res["train_" + kind] = {"seconds": time.perf_counter() - t, "vocab": tok.get_vocab_size()}
            print(kind, res["train_" + kind], flush=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--pretrain", default=".build/release/pretrain")
    ap.add_argument("--encode-mb", type=float, default=10)
    ap.add_argument("--train-vocab", type=int, default=30000)
    args = ap.parse_args()
    cmd = [args.pretrain, "bench", "tokenizers", "--corpus", args.corpus, "--encode-mb", str(args.encode_mb),
           "--train-vocab", str(args.train_vocab), "--tokenizer"] + [f"{n}={os.path.join(FIX, n + '_tokenizer.json')}" for n in NAMES]
    ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    hf = hf_bench(args.corpus, args.encode_mb, args.train_vocab)
    mb = os.path.getsize(args.corpus) / 1e6
    print(f"\nEncode: first {hf['sample_bytes'] / 1e6:.1f} MB ({hf['sample_lines']} lines) of a {mb:.1f} MB corpus; "
          f"{ours.get('cores')} cores. Ratio = ours / Hugging Face (higher is better for us).\n")
    print("| tokenizer | mode | ours MB/s | HF MB/s | ours tok/s | HF tok/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for n in NAMES:
        for mode in ("single", "batch"):
            o, h = ours[n], hf[n]
            print(f"| {n} | {mode} | {o[mode + '_mb_s']:.2f} | {h[mode + '_mb_s']:.2f} | {o[mode + '_tok_s']:,.0f} | "
                  f"{h[mode + '_tok_s']:,.0f} | {o[mode + '_mb_s'] / h[mode + '_mb_s']:.2f} |")
    if args.train_vocab:
        print(f"\n| training ({mb:.1f} MB, vocab {args.train_vocab}) | ours s | HF s | ratio (HF time / ours) |")
        print("|---|---|---|---|")
        for k in ("wordpiece", "bpe"):
            o, h = ours["train_" + k]["seconds"], hf["train_" + k]["seconds"]
            print(f"| {k} | {o:.1f} | {h:.1f} | {h / o:.2f} |")


if __name__ == "__main__":
    main()
